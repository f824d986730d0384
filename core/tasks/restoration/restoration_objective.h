#pragma once
#include "jiio/objective.h"
#include "models/model_config.h"

#include <memory>
#include <string>

namespace jiio {

// The inverse problems of restoration.
enum class Task { Reconstruct, Inpaint, Denoise };

std::string toString(Task task);
Task taskFromString(const std::string& text);

// The restoration objective of a latent model, per sample:
//   0.5 * sum(w * (h(z) - y)^2) + 0.5 * priorWeight * |x|^2
// with w the known-pixel mask (1 where observed). Images are in the model's
// normalised range [-1, 1].
class RestorationObjective : public Objective {
public:
    // knownMask: [B, 1, H, W] with 1 where the pixel is observed (inpainting,
    // or padding around any image); undefined means all pixels count. sigma:
    // noise level on the 0-255 scale (denoising only); the prior weight grows
    // with the noise variance, as MAP estimation prescribes.
    RestorationObjective(Task task, torch::Tensor target, torch::Tensor knownMask, double priorWeight,
                         double sigma = 0);

    torch::Tensor perSample(const torch::Tensor& prediction, const torch::Tensor& latent) const override;
    int64_t batchSize() const override { return target_.size(0); }
    torch::TensorOptions tensorOptions() const override { return target_.options(); }

    Task task() const { return task_; }
    const torch::Tensor& target() const { return target_; }
    const torch::Tensor& knownMask() const { return knownMask_; }
    double priorWeight() const { return priorWeight_; }
    double sigma() const { return sigma_; } // 0 unless denoising

    // The image a solve delivers, [B, C, H, W], from its readout h(z*) and its
    // optimised input x* (flat): the readout, unless the objective says
    // otherwise. Known pixels are pasted by the caller.
    virtual torch::Tensor restoredImage(const torch::Tensor& prediction, const torch::Tensor& /*input*/) const
    {
        return prediction;
    }

    // The objective a model restores with: ImagePriorObjective for a model
    // whose input is the image, this one for latent models.
    static std::unique_ptr<RestorationObjective> forModel(const ModelConfig& config, Task task, torch::Tensor target,
                                                          torch::Tensor knownMask, double sigma = 0);

private:
    Task task_;
    torch::Tensor target_;
    torch::Tensor knownMask_;
    double priorWeight_;
    double sigma_ = 0;
};

} // namespace jiio
