#include "tasks/restoration/image_prior_objective.h"

#include "error.h"

namespace jiio {

namespace {

constexpr double kReferenceSigma = 25.0;
// The prior's weight for denoising at the reference noise level, and its
// growth with sigma: linear, not the Gaussian MAP's square, since |x - D(x)|^2
// is a learned residual and not a calibrated energy. Chosen on the
// validation split of the training photographs (jiio eval, 128x128 crops):
// against (sigma/25)^2, PSNR +0.13, +0.13 and +0.11 dB at sigma 15, 25, 50.
constexpr double kDenoiseWeightAtReference = 3.0;
constexpr double kScale = 25.0;

// [B, C, H, W] -> [B, H*W*C], the order in which models hold their input.
torch::Tensor flatChannelsLast(const torch::Tensor& image)
{
    return image.permute({0, 2, 3, 1}).reshape({image.size(0), -1});
}

} // namespace

ImagePriorObjective::ImagePriorObjective(Task task, torch::Tensor target, torch::Tensor knownMask,
                                         double priorWeight, double sigma)
    : RestorationObjective(task, std::move(target), std::move(knownMask), priorWeight, sigma)
{
    if (task == Task::Reconstruct)
        throw Error("a model whose input is the image restores; it has no latent code to reconstruct from");
    kappa_ = task == Task::Denoise ? priorWeight * kDenoiseWeightAtReference * (sigma / kReferenceSigma)
                                   : priorWeight;
    targetFlat_ = flatChannelsLast(this->target());
    if (task == Task::Inpaint)
        fixedFlat_ = flatChannelsLast(this->knownMask().expand_as(this->target()) > 0.5);
}

torch::Tensor ImagePriorObjective::inputImage(const torch::Tensor& input) const
{
    const auto& y = target();
    return input.view({y.size(0), y.size(2), y.size(3), y.size(1)}).permute({0, 3, 1, 2});
}

torch::Tensor ImagePriorObjective::perSample(const torch::Tensor& prediction, const torch::Tensor& input) const
{
    const auto x = inputImage(input);
    auto data = (x - target()).square();
    if (knownMask().defined())
        data = data * knownMask();
    const auto prior = (x - prediction).square();
    return kScale * (data.flatten(1).sum(1) + kappa_ * prior.flatten(1).sum(1));
}

torch::Tensor ImagePriorObjective::project(const torch::Tensor& input) const
{
    auto x = input.clamp(-1, 1);
    if (fixedFlat_.defined())
        x = torch::where(fixedFlat_, targetFlat_, x);
    return x;
}

} // namespace jiio
