// Anderson acceleration: each iteration stores the new pair in the history
// (which adds a row and column to the Gram matrix of residuals), then mixes
// the stored images with the weights of a small bordered system per sample.
#include "solvers/anderson_history.h"
#include "solvers/solve_tracker.h"

#include "solve_profile.h"

namespace jiio {

torch::Tensor andersonSolve(FixedPointProblem& problem, const torch::Tensor& v0,
                            const FixedPointOptions& options, SolveTracker& tracker)
{
    torch::NoGradGuard noGrad;
    // Store G(v_i) and g_i = G(v_i) - v_i rather than v_i: with beta = 1 the
    // next iterate is one weighted sum of G(v_i), one pass over the history.
    AndersonHistory history(v0, options.memory, options.coupledRows, tracker.blocks(), AndersonHistory::Kernels::Automatic,
                            options.andersonBlockWeights, options.andersonUnmixedBlocks);
    torch::Tensor v = v0;
    while (true) {
        torch::Tensor gv = problem.apply(v);
        ResidualSummary summary;
        {
            PhaseTimer timer(SolvePhase::Anderson);
            summary = history.add(v, gv, problem.lastObjective());
        }
        if (tracker.record(v, summary))
            return v;
        PhaseTimer timer(SolvePhase::Anderson);
        auto next = history.mix(options.andersonLambda, options.andersonBeta);
        v = next.defined() ? next : gv; // still singular: a plain step
    }
}

} // namespace jiio
