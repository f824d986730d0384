#pragma once
#include "torch_include.h"

namespace jiio {

// image resized bilinearly to height x width (align_corners false, as
// torch::nn::functional::interpolate), plus base where base is defined
// (base must then be [B, C, height, width]). One autograd node: on
// channels-last CPU tensors the sum is written in one pass and the backward
// gathers each source pixel's gradient from the output pixels it feeds, in
// place of LibTorch's resize, its backward and a separate addition.
torch::Tensor resizeBilinear(const torch::Tensor& image, int64_t height, int64_t width,
                             const torch::Tensor& base = {});

} // namespace jiio
