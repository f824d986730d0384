#pragma once
#include "tasks/restoration/restoration_objective.h"

namespace jiio {

// Restoration with the image itself as the optimised input (a model with
// ModelConfig::imageInput, whose readout is a learned denoiser h = D(x)):
//   scale * ( sum(w * (x - y)^2) + kappa * sum((x - h)^2) + lambda * sum((L x)^2) )
// Data fidelity on x, plus the learned prior |x - D(x)|^2 taken through the
// DEQ's exact adjoint (regularisation by denoising without its
// symmetric-Jacobian shortcut). kappa = 3 priorWeight (sigma / 25)^1.5 for
// denoising (the prior weighs more as the noise grows; the constants are
// measured, see the source) and priorWeight for inpainting, where the known
// pixels are held fixed by project(). Inpainting adds a small smoothness term
// on the holes: L is the image Laplacian with mirrored borders, per channel,
// whose term alone (kappa = 0) is minimised by the biharmonic fill; lambda is
// 0 for denoising. `scale` (25) makes the solvers' default input step (0.01)
// move x half-way to the data per step. Every x stays in the image range [-1, 1].
//
// What a solve delivers: for denoising the denoised readout D(x*); for
// inpainting the optimised image x* itself (measured better on holes than
// D(x*), which also redraws what the prior barely changed).
class ImagePriorObjective final : public RestorationObjective {
public:
    ImagePriorObjective(Task task, torch::Tensor target, torch::Tensor knownMask, double priorWeight,
                        double sigma = 0);

    torch::Tensor perSample(const torch::Tensor& prediction, const torch::Tensor& input) const override;
    torch::Tensor project(const torch::Tensor& input) const override;
    torch::Tensor restoredImage(const torch::Tensor& prediction, const torch::Tensor& input) const override;

    double kappa() const { return kappa_; }
    double smoothness() const { return lambda_; }
    // x as the image it is, [B, C, H, W] (a view of the flat channels-last input).
    torch::Tensor inputImage(const torch::Tensor& input) const;

private:
    double kappa_ = 1;
    double lambda_ = 0;
    torch::Tensor fixedFlat_;  // inpainting: [B, n] true where x is held at the observation
    torch::Tensor targetFlat_; // the observation, flat channels-last
    torch::Tensor laplacianKernel_; // inpainting: built once, applied at every evaluation
};

} // namespace jiio
