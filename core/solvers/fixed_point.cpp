#include "solvers/fixed_point.h"

#include "error.h"
#include "solvers/solve_tracker.h"

namespace jiio {

const char* stopReasonName(StopReason reason)
{
    switch (reason) {
    case StopReason::Converged:
        return "converged";
    case StopReason::BudgetExhausted:
        return "budget exhausted";
    case StopReason::StopRequested:
        return "stopped";
    case StopReason::Diverged:
        return "diverged";
    }
    return "unknown";
}

void FixedPointProblem::describe(const ResidualSummary&, IterationStats&) {}

torch::Tensor FunctionProblem::apply(const torch::Tensor& v)
{
    ++calls_;
    return map_(v);
}

FixedPointMethod fixedPointMethodFromString(const std::string& text)
{
    if (text == "picard")
        return FixedPointMethod::Picard;
    if (text == "anderson")
        return FixedPointMethod::Anderson;
    if (text == "broyden")
        return FixedPointMethod::Broyden;
    throw Error("unknown fixed-point method '" + text + "' (expected picard, anderson or broyden)");
}

std::string toString(FixedPointMethod method)
{
    switch (method) {
    case FixedPointMethod::Picard:
        return "picard";
    case FixedPointMethod::Anderson:
        return "anderson";
    case FixedPointMethod::Broyden:
        return "broyden";
    }
    return "unknown";
}

namespace {

void picardSolve(FixedPointProblem& problem, const torch::Tensor& v0, const FixedPointOptions& options,
                 SolveTracker& tracker)
{
    torch::Tensor v = v0;
    while (true) {
        torch::Tensor gv = problem.apply(v);
        if (tracker.record(v, gv))
            return;
        v = options.picardDamping == 1.0 ? gv : torch::lerp(v, gv, options.picardDamping);
    }
}

} // namespace

FixedPointResult solveFixedPoint(FixedPointProblem& problem, const torch::Tensor& v0,
                                 const FixedPointOptions& options, SolveObserver& observer)
{
    TORCH_CHECK(v0.dim() == 2, "fixed-point state must be [batch, n]");
    if (options.maxIterations < 1)
        throw Error("the iteration budget must be at least 1");
    SolveTracker tracker(problem, options, observer, v0);
    switch (options.method) {
    case FixedPointMethod::Picard:
        picardSolve(problem, v0, options, tracker);
        break;
    case FixedPointMethod::Anderson:
        andersonSolve(problem, v0, options, tracker);
        break;
    case FixedPointMethod::Broyden:
        broydenSolve(problem, v0, options, tracker);
        break;
    }
    return tracker.finish();
}

} // namespace jiio
