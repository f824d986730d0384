#include "tasks/restoration/restoration_objective.h"

#include "error.h"
#include "tasks/restoration/image_prior_objective.h"

namespace jiio {

namespace {
// Noise level (0-255 scale) at which the denoising prior weight doubles.
constexpr double kReferenceSigma = 25.0;
} // namespace

std::string toString(Task task)
{
    switch (task) {
    case Task::Reconstruct:
        return "reconstruct";
    case Task::Inpaint:
        return "inpaint";
    case Task::Denoise:
        return "denoise";
    }
    return "unknown";
}

Task taskFromString(const std::string& text)
{
    if (text == "reconstruct")
        return Task::Reconstruct;
    if (text == "inpaint")
        return Task::Inpaint;
    if (text == "denoise")
        return Task::Denoise;
    throw Error("unknown task '" + text + "' (expected inpaint, denoise or reconstruct)");
}

RestorationObjective::RestorationObjective(Task task, torch::Tensor target, torch::Tensor knownMask, double priorWeight, double sigma)
    : task_(task), target_(std::move(target)), knownMask_(std::move(knownMask)), priorWeight_(priorWeight)
{
    if (task_ == Task::Inpaint && !knownMask_.defined())
        throw Error("inpainting needs a mask");
    if (task_ == Task::Denoise) {
        if (sigma < 0)
            throw Error("the noise level must be non-negative");
        priorWeight_ *= 1.0 + (sigma / kReferenceSigma) * (sigma / kReferenceSigma);
        sigma_ = sigma;
    }
}

torch::Tensor RestorationObjective::perSample(const torch::Tensor& prediction, const torch::Tensor& latent) const
{
    auto error = (prediction - target_).square();
    if (knownMask_.defined())
        error = error * knownMask_;
    auto value = 0.5 * error.flatten(1).sum(1);
    if (priorWeight_ > 0)
        value = value + 0.5 * priorWeight_ * latent.flatten(1).square().sum(1);
    return value;
}

std::unique_ptr<RestorationObjective> RestorationObjective::forModel(const ModelConfig& config, Task task,
                                                                    torch::Tensor target, torch::Tensor knownMask,
                                                                    double sigma)
{
    if (config.imageInput)
        return std::make_unique<ImagePriorObjective>(task, std::move(target), std::move(knownMask),
                                                     config.priorWeight, sigma);
    return std::make_unique<RestorationObjective>(task, std::move(target), std::move(knownMask), config.priorWeight,
                                                  sigma);
}

} // namespace jiio
