// Anderson acceleration with preallocated history: each iteration adds one
// row/column to the Gram matrix of residuals and solves a small bordered
// system per sample in one batched call.
#include "solvers/solve_tracker.h"

#include "solve_profile.h"

namespace jiio {

namespace {

// Solves min |sum_i a_i g_i| s.t. sum_i a_i = 1 through the bordered system
// [[0, 1^T], [1, GG^T + lambda I]] [nu; a] = [1; 0]. Raises lambda and retries
// when the system is singular; returns the mixing weights [B, n].
torch::Tensor mixingWeights(const torch::Tensor& gram, double lambda)
{
    const auto batch = gram.size(0);
    const auto n = gram.size(1);
    const auto opts = gram.options();
    auto system = torch::zeros({batch, n + 1, n + 1}, opts);
    system.index_put_({torch::indexing::Slice(), 0, torch::indexing::Slice(1)}, 1.0);
    system.index_put_({torch::indexing::Slice(), torch::indexing::Slice(1), 0}, 1.0);
    auto rhs = torch::zeros({batch, n + 1, 1}, opts);
    rhs.index_put_({torch::indexing::Slice(), 0, 0}, 1.0);
    // Scale the regulariser with the residual magnitudes so it is unit-free.
    const auto scale = gram.diagonal(0, 1, 2).mean(1).clamp_min(1e-30).view({batch, 1, 1});
    const auto eye = torch::eye(n, opts).unsqueeze(0);

    for (int attempt = 0; attempt < 5; ++attempt, lambda *= 100.0) {
        system.index_put_({torch::indexing::Slice(), torch::indexing::Slice(1), torch::indexing::Slice(1)},
                          gram + lambda * scale * eye);
        auto [solution, info] = torch::linalg_solve_ex(system, rhs);
        auto weights = solution.index({torch::indexing::Slice(), torch::indexing::Slice(1), 0});
        if (info.eq(0).all().item<bool>() && torch::isfinite(weights).all().item<bool>())
            return weights;
    }
    // Still singular: fall back to a plain step from the newest pair.
    return torch::Tensor();
}

} // namespace

torch::Tensor andersonSolve(FixedPointProblem& problem, const torch::Tensor& v0,
                            const FixedPointOptions& options, SolveTracker& tracker)
{
    torch::NoGradGuard noGrad;
    const auto batch = v0.size(0);
    const auto dim = v0.size(1);
    const int memory = std::max(1, options.memory);
    const int64_t group = std::max(1, options.coupledRows);
    TORCH_CHECK(batch % group == 0, "Anderson: a batch of ", batch, " rows is not made of groups of ", group);
    const auto opts = v0.options();

    // Store G(v_i) and g_i = G(v_i) - v_i rather than v_i: with beta = 1 the
    // next iterate is one weighted sum of G(v_i), one pass over the history.
    auto images = torch::zeros({batch, memory, dim}, opts);    // G(v_i)
    auto residuals = torch::zeros({batch, memory, dim}, opts); // g_i
    auto gram = torch::zeros({batch, memory, memory}, opts);

    torch::Tensor v = v0;
    for (int k = 0;; ++k) {
        torch::Tensor gv = problem.apply(v);
        const int slot = k % memory;
        const int filled = std::min(k + 1, memory);
        auto g = residuals.select(1, slot);
        torch::sub_out(g, gv, v);
        if (tracker.record(v, gv, g))
            return v;
        PhaseTimer timer(SolvePhase::Anderson);
        images.select(1, slot).copy_(gv);

        const auto active = residuals.narrow(1, 0, filled);
        auto dots = batchedDots(active, g); // [B, filled]
        if (group > 1) // one Gram matrix per group, the sum of its rows'
            dots = dots.view({batch / group, group, filled}).sum(1, true).expand({batch / group, group, filled})
                       .reshape({batch, filled});
        gram.select(1, slot).narrow(1, 0, filled).copy_(dots);
        gram.select(2, slot).narrow(1, 0, filled).copy_(dots);

        const auto weights = mixingWeights(gram.narrow(1, 0, filled).narrow(2, 0, filled), options.andersonLambda);
        if (!weights.defined()) {
            v = gv;
            continue;
        }
        // v = sum_i w_i (v_i + beta g_i) = sum_i w_i (G(v_i) - (1 - beta) g_i)
        v = batchedCombination(weights, images.narrow(1, 0, filled));
        if (options.andersonBeta != 1.0)
            v = v - (1.0 - options.andersonBeta) * batchedCombination(weights, active);
    }
}

} // namespace jiio
