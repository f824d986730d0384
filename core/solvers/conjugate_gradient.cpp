#include "solvers/conjugate_gradient.h"

namespace jiio {

namespace {

torch::Tensor rowDots(const torch::Tensor& a, const torch::Tensor& b)
{
    return (a * b).sum(1, true);
}

} // namespace

ConjugateGradientResult batchedConjugateGradient(const std::function<torch::Tensor(const torch::Tensor&)>& apply,
                                                 const torch::Tensor& rhs, int maxIterations, double tolerance)
{
    ConjugateGradientResult result;
    auto w = torch::zeros_like(rhs);
    auto residual = rhs.clone();
    auto direction = residual.clone();
    auto rr = rowDots(residual, residual);
    const auto rhsNorm = rhs.norm(2, 1, true).clamp_min(1e-30);
    for (int k = 0; k < maxIterations; ++k) {
        const auto product = apply(direction);
        ++result.products;
        const auto curvature = rowDots(direction, product);
        const auto alpha = torch::where(curvature > 0, rr / curvature.clamp_min(1e-30), torch::zeros_like(rr));
        w = w + alpha * direction;
        residual = residual - alpha * product;
        const auto rrNext = rowDots(residual, residual);
        const bool done = (rrNext.sqrt() / rhsNorm).max().item<double>() < tolerance;
        direction = residual + (rrNext / rr.clamp_min(1e-30)) * direction;
        rr = rrNext;
        if (done)
            break;
    }
    result.solution = w;
    result.relativeResidual = (rr.sqrt() / rhsNorm).max().item<double>();
    return result;
}

} // namespace jiio
