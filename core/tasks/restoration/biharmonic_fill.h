#pragma once
#include "torch_include.h"

namespace jiio {

// Fills the unknown pixels of a batch by biharmonic inpainting (the smooth
// fill that minimises the squared Laplacian with the known pixels fixed), one
// sparse solve per image. image [B, C, H, W] in [-1, 1]; known [B or 1, 1, H, W]
// with 1 where a pixel is known. An image without any known pixel falls back
// to push-pull (zeros), since the linear system has no anchor.
torch::Tensor biharmonicFill(const torch::Tensor& image, const torch::Tensor& known);

} // namespace jiio
