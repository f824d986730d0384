#include "solvers/solve_tracker.h"

#include "solve_profile.h"

namespace jiio {

namespace {
constexpr double kTiny = 1e-12;
}

torch::Tensor batchedDots(const torch::Tensor& rows, const torch::Tensor& vectors)
{
    const auto batch = rows.size(0);
    auto out = torch::empty({batch, rows.size(1)}, rows.options());
    if (rows.size(1) == 0)
        return out;
    for (int64_t b = 0; b < batch; ++b) {
        auto row = out.select(0, b);
        torch::mv_out(row, rows.select(0, b), vectors.select(0, b));
    }
    return out;
}

torch::Tensor batchedCombination(const torch::Tensor& weights, const torch::Tensor& rows)
{
    const auto batch = rows.size(0);
    auto out = torch::empty({batch, rows.size(2)}, rows.options());
    for (int64_t b = 0; b < batch; ++b) {
        auto row = out.select(0, b);
        torch::mv_out(row, rows.select(0, b).t(), weights.select(0, b));
    }
    return out;
}

SolveTracker::SolveTracker(FixedPointProblem& problem, const FixedPointOptions& options,
                           SolveObserver& observer, const torch::Tensor& v0)
    : problem_(problem), options_(options), observer_(observer), start_(std::chrono::steady_clock::now())
{
    const auto batch = v0.size(0);
    best_ = v0.detach().clone();
    bestResidual_ = torch::full({batch}, std::numeric_limits<double>::infinity(), v0.options());
}

torch::Tensor SolveTracker::sampleResidual(const torch::Tensor& gv, const torch::Tensor& change) const
{
    auto absolute = groupNorm(change);
    if (!options_.relativeResidual)
        return absolute;
    return absolute / (groupNorm(gv) + kTiny);
}

// Per row [B]: the norm of the row's group of coupled rows, so that a group
// converges, and is kept at its best iterate, as one problem.
torch::Tensor SolveTracker::groupNorm(const torch::Tensor& rows) const
{
    const int64_t group = std::max(1, options_.coupledRows);
    if (group == 1)
        return rows.norm(2, 1);
    const auto squares = rows.square().sum(1).view({-1, group}).sum(1, true);
    return squares.sqrt().expand({squares.size(0), group}).reshape({-1});
}

torch::Tensor SolveTracker::groupMean(const torch::Tensor& values) const
{
    const int64_t group = std::max(1, options_.coupledRows);
    if (group == 1 || !values.defined())
        return values;
    const auto means = values.view({-1, group}).mean(1, true);
    return means.expand({means.size(0), group}).reshape({-1});
}

void SolveTracker::updateBest(const torch::Tensor& v, const torch::Tensor& residual, const torch::Tensor& objective)
{
    auto better = residual < bestResidual_;
    if (objective.defined() && bestObjective_.defined() && options_.bestResidualSlack > 1.0) {
        auto clearlyLower = objective < bestObjective_ - options_.objectiveMargin * bestObjective_.abs();
        better = better | ((residual < bestResidual_ * options_.bestResidualSlack) & clearlyLower);
    }
    better = better & torch::isfinite(residual);
    // Keep a reference where the whole batch improved (the usual case, and a
    // state-sized copy saved per iteration); the caller's start is copied.
    if (better.all().item<bool>())
        best_ = iteration_ == 1 ? v.detach().clone() : v.detach();
    else if (better.any().item<bool>())
        best_ = torch::where(better.unsqueeze(1), v.detach(), best_);
    bestResidual_ = torch::where(better, residual, bestResidual_);
    if (objective.defined())
        bestObjective_ = bestObjective_.defined() ? torch::where(better, objective, bestObjective_)
                                                  : torch::where(better, objective, torch::full_like(objective, INFINITY));
}

bool SolveTracker::record(const torch::Tensor& v, const torch::Tensor& gv, torch::Tensor change)
{
    PhaseTimer timer(SolvePhase::Tracker);
    torch::NoGradGuard noGrad;
    ++iteration_;
    if (!change.defined())
        change = gv - v;
    const auto residual = sampleResidual(gv, change);
    const auto objective = groupMean(problem_.lastObjective());
    const bool finite = torch::isfinite(residual).all().item<bool>();
    const double worstBefore = bestResidual_.max().item<double>();

    IterationStats stats;
    stats.iteration = iteration_;
    stats.elapsedSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    stats.residualTotal = residual.mean().item<double>();
    problem_.describe(gv, change, stats);
    stats.functionEvaluations = problem_.functionEvaluations();
    stats.vjpCount = problem_.vjpCount();

    const bool diverging = std::isfinite(worstBefore)
        && (residual > bestResidual_ * options_.divergenceFactor).any().item<bool>();
    updateBest(v, residual, objective.defined() ? objective.detach() : objective);
    if (observer_.wantsInput())
        if (const auto input = problem_.lastInput(); input.defined())
            observer_.onInput(input);
    observer_.onIteration(stats);
    if (observer_.wantsPrediction())
        if (const auto prediction = problem_.lastPrediction(); prediction.defined())
            observer_.onPrediction(prediction);

    if (!finite || diverging) {
        reason_ = StopReason::Diverged;
        return true;
    }
    if ((residual < options_.tolerance).all().item<bool>()) {
        reason_ = StopReason::Converged;
        return true;
    }
    if (observer_.stopRequested()) {
        reason_ = StopReason::StopRequested;
        return true;
    }
    if (iteration_ >= options_.maxIterations) {
        reason_ = StopReason::BudgetExhausted;
        return true;
    }
    return false;
}

FixedPointResult SolveTracker::finish()
{
    FixedPointResult result;
    result.solution = best_;
    result.residual = bestResidual_;
    result.objective = bestObjective_;
    result.iterations = iteration_;
    result.reason = reason_;
    result.elapsedSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    return result;
}

} // namespace jiio
