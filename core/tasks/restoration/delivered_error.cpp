#include "tasks/restoration/delivered_error.h"

#include "tasks/restoration/known_pixels.h"

namespace jiio {

DeliveredError::DeliveredError(const RestorationObjective& solve, torch::Tensor clean, torch::Tensor observed,
                               torch::Tensor known)
    : solve_(solve), clean_(std::move(clean)), observed_(std::move(observed)), known_(std::move(known))
{
}

torch::Tensor DeliveredError::perSample(const torch::Tensor& prediction, const torch::Tensor& input) const
{
    const auto delivered = keepKnownPixels(solve_.restoredImage(prediction, input), observed_, known_);
    return (delivered - clean_).square().flatten(1).mean(1);
}

} // namespace jiio
