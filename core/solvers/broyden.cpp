// Limited-memory ("good") Broyden on g(v) = G(v) - v. The inverse Jacobian
// is kept as -I + sum_i u_i w_i^T in ring buffers of size `memory`.
#include "solvers/solve_tracker.h"

namespace jiio {

namespace {

constexpr double kRestartFactor = 4.0;

// (-I + U^T W) x for U, W [B, k, n] and x [B, n].
torch::Tensor applyInverse(const torch::Tensor& us, const torch::Tensor& ws, const torch::Tensor& x)
{
    if (us.size(1) == 0)
        return -x;
    return batchedCombination(batchedDots(ws, x), us) - x;
}

// x^T (-I + U^T W) for x [B, n].
torch::Tensor applyInverseTransposed(const torch::Tensor& us, const torch::Tensor& ws, const torch::Tensor& x)
{
    if (us.size(1) == 0)
        return -x;
    return batchedCombination(batchedDots(us, x), ws) - x;
}

} // namespace

torch::Tensor broydenSolve(FixedPointProblem& problem, const torch::Tensor& v0,
                           const FixedPointOptions& options, SolveTracker& tracker)
{
    torch::NoGradGuard noGrad;
    const auto batch = v0.size(0);
    const auto dim = v0.size(1);
    const int memory = std::max(1, options.memory);
    auto us = torch::zeros({batch, memory, dim}, v0.options());
    auto ws = torch::zeros({batch, memory, dim}, v0.options());

    torch::Tensor v = v0;
    torch::Tensor gv = problem.apply(v);
    torch::Tensor g = gv - v;
    if (tracker.record(v, gv, g))
        return v;
    torch::Tensor step = g; // -J^{-1} g with J^{-1} = -I initially

    for (int k = 0;; ++k) {
        const auto vNext = v + step;
        const auto gvNext = problem.apply(vNext);
        const auto gNext = gvNext - vNext;
        if (tracker.record(vNext, gvNext, gNext))
            return vNext;
        const auto dv = vNext - v;
        const auto dg = gNext - g;

        const int filled = std::min(k, memory);
        const auto activeU = us.narrow(1, 0, filled);
        const auto activeW = ws.narrow(1, 0, filled);
        const auto w = applyInverseTransposed(activeU, activeW, dv);
        auto denom = (w * dg).sum(1, true);
        denom = torch::where(denom.abs() < 1e-30, torch::full_like(denom, 1e-30), denom);
        auto u = (dv - applyInverse(activeU, activeW, dg)) / denom;
        u = torch::nan_to_num(u, 0.0, 0.0, 0.0);

        const int slot = k % memory;
        us.select(1, slot).copy_(u);
        ws.select(1, slot).copy_(torch::nan_to_num(w, 0.0, 0.0, 0.0));
        // A sample whose residual jumped has a poor inverse-Jacobian model:
        // forget its history and restart from -I.
        const auto jumped = (gNext.norm(2, 1) > kRestartFactor * g.norm(2, 1)).view({batch, 1, 1});
        us.masked_fill_(jumped, 0.0);
        ws.masked_fill_(jumped, 0.0);
        const int nowFilled = std::min(k + 1, memory);
        step = -applyInverse(us.narrow(1, 0, nowFilled), ws.narrow(1, 0, nowFilled), gNext);
        v = vNext;
        g = gNext;
    }
}

} // namespace jiio
