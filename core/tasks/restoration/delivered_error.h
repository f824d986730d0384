#pragma once
#include "tasks/restoration/restoration_objective.h"

namespace jiio {

// Per sample, the mean squared error against the clean image of what a
// restoration solve delivers: the solve's restoredImage (the readout, or an
// image prior's optimised input for inpainting) with the known pixels as
// observed. Training minimises it; as an Objective it can be differentiated
// with respect to the optimised input as well as through the readout.
class DeliveredError final : public Objective {
public:
    // `solve` must outlive this. Images [B, C, H, W] in [-1, 1]; known
    // undefined for denoising.
    DeliveredError(const RestorationObjective& solve, torch::Tensor clean, torch::Tensor observed,
                   torch::Tensor known);

    torch::Tensor perSample(const torch::Tensor& prediction, const torch::Tensor& input) const override;
    int64_t batchSize() const override { return clean_.size(0); }
    torch::TensorOptions tensorOptions() const override { return clean_.options(); }

private:
    const RestorationObjective& solve_;
    torch::Tensor clean_, observed_, known_;
};

} // namespace jiio
