#include "solve_tracker.h"

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

SolveTracker::SolveTracker(FixedPointProblem& problem, const FixedPointOptions& options,
                           SolveObserver& observer, const torch::Tensor& v0)
    : problem_(problem), options_(options), observer_(observer), start_(std::chrono::steady_clock::now())
{
    const auto batch = v0.size(0);
    best_ = v0.detach().clone();
    bestResidual_ = torch::full({batch}, std::numeric_limits<double>::infinity(), v0.options());
}

torch::Tensor SolveTracker::sampleResidual(const torch::Tensor& v, const torch::Tensor& gv) const
{
    auto absolute = (gv - v).norm(2, 1);
    if (!options_.relativeResidual)
        return absolute;
    return absolute / (gv.norm(2, 1) + kTiny);
}

void SolveTracker::updateBest(const torch::Tensor& v, const torch::Tensor& residual, const torch::Tensor& objective)
{
    auto better = residual < bestResidual_;
    if (objective.defined() && bestObjective_.defined() && options_.bestResidualSlack > 1.0) {
        auto clearlyLower = objective < bestObjective_ - options_.objectiveMargin * bestObjective_.abs();
        better = better | ((residual < bestResidual_ * options_.bestResidualSlack) & clearlyLower);
    }
    better = better & torch::isfinite(residual);
    best_ = torch::where(better.unsqueeze(1), v.detach(), best_);
    bestResidual_ = torch::where(better, residual, bestResidual_);
    if (objective.defined())
        bestObjective_ = bestObjective_.defined() ? torch::where(better, objective, bestObjective_)
                                                  : torch::where(better, objective, torch::full_like(objective, INFINITY));
}

bool SolveTracker::record(const torch::Tensor& v, const torch::Tensor& gv)
{
    torch::NoGradGuard noGrad;
    ++iteration_;
    const auto residual = sampleResidual(v, gv);
    const auto objective = problem_.lastObjective();
    const bool finite = torch::isfinite(residual).all().item<bool>();
    const double worstBefore = bestResidual_.max().item<double>();

    IterationStats stats;
    stats.iteration = iteration_;
    stats.elapsedSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    stats.residualTotal = residual.mean().item<double>();
    problem_.describe(v, gv, stats);
    stats.functionEvaluations = problem_.functionEvaluations();
    stats.vjpCount = problem_.vjpCount();

    const bool diverging = std::isfinite(worstBefore)
        && (residual > bestResidual_ * options_.divergenceFactor).any().item<bool>();
    updateBest(v, residual, objective.defined() ? objective.detach() : objective);
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
