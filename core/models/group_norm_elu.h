#pragma once
#include "torch_include.h"

namespace jiio {

// ELU(GroupNorm(x)) in one autograd node. On a channels-last CPU tensor it
// runs as two passes forward and two backward over x, in x's own layout;
// LibTorch's group norm would convert x and its gradient to the contiguous
// layout and back (three full copies), and ELU would add two more passes.
// Elsewhere (another layout, another device) it is LibTorch's group norm
// followed by ELU. weight and bias may be constants or require gradients.
torch::Tensor groupNormElu(const torch::Tensor& x, int64_t groups, const torch::Tensor& weight,
                           const torch::Tensor& bias, double eps);

} // namespace jiio
