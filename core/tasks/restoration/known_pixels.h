#pragma once

#include "torch_include.h"

namespace jiio {

// The image a user gets from a restoration: the observation where a pixel is
// known (known > 0.5), the prediction elsewhere. An undefined mask (denoising)
// keeps the whole prediction. Gradients reach the prediction only in the holes,
// so a loss on this image trains what inpainting delivers and nothing else.
torch::Tensor keepKnownPixels(const torch::Tensor& prediction, const torch::Tensor& observed,
                              const torch::Tensor& known);

} // namespace jiio
