#pragma once
#include "torch_include.h"

namespace jiio {

// Fills the unknown pixels of images from the known ones by push-pull
// interpolation: known pixels are averaged over ever coarser grids (push),
// then each finer grid takes its own averages where it has enough known
// pixels and the coarser estimate where it has none (pull). Known pixels keep
// their values; a hole gets a smooth estimate from its surroundings, however
// large. image [B, C, H, W]; known [B or 1, 1, H, W] with 1 where a pixel is
// known. Images without any known pixel come out as zeros.
torch::Tensor pushPullFill(const torch::Tensor& image, const torch::Tensor& known);

} // namespace jiio
