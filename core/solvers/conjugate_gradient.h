#pragma once
#include "torch_include.h"

#include <functional>

namespace jiio {

// Conjugate gradients on a batch of independent symmetric systems A_b w_b =
// r_b, rows [B, n], with A applied to all rows at once (a Hessian-vector
// product of implicit gradients, say). A row whose direction meets negative
// curvature (far from a minimum) keeps the step it has: CG would diverge there.
struct ConjugateGradientResult {
    torch::Tensor solution;       // [B, n]
    int products = 0;             // applications of A
    double relativeResidual = 0;  // the largest |A w - r| / |r| over the rows
};
ConjugateGradientResult batchedConjugateGradient(const std::function<torch::Tensor(const torch::Tensor&)>& apply,
                                                 const torch::Tensor& rhs, int maxIterations, double tolerance);

} // namespace jiio
