#include "tasks/restoration/known_pixels.h"

namespace jiio {

torch::Tensor keepKnownPixels(const torch::Tensor& prediction, const torch::Tensor& observed,
                              const torch::Tensor& known)
{
    if (!known.defined())
        return prediction;
    return torch::where(known > 0.5, observed, prediction);
}

} // namespace jiio
