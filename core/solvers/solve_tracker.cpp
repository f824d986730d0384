#include "solvers/solve_tracker.h"

#include "solve_profile.h"

#include <cmath>
#include <limits>

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
    : problem_(problem), options_(options), observer_(observer), start_(std::chrono::steady_clock::now()),
      blocks_(problem.residualBlocks())
{
    best_ = v0.detach().clone();
    bestResidual_.assign(size_t(v0.size(0)), std::numeric_limits<double>::infinity());
}

// Per row: the residual of the row's group of coupled rows, so that a group
// converges, and is kept at its best iterate, as one problem.
std::vector<double> SolveTracker::rowResiduals(const ResidualSummary& summary) const
{
    const int64_t group = std::max(1, options_.coupledRows);
    std::vector<double> residual(size_t(summary.rows));
    for (int64_t first = 0; first < summary.rows; first += group) {
        double change = 0, image = 0;
        for (int64_t r = first; r < first + group && r < summary.rows; ++r) {
            change += summary.rowChangeSquare(r);
            image += summary.rowImageSquare(r);
        }
        const double value = options_.relativeResidual ? std::sqrt(change) / (std::sqrt(image) + kTiny)
                                                       : std::sqrt(change);
        for (int64_t r = first; r < first + group && r < summary.rows; ++r)
            residual[size_t(r)] = value;
    }
    return residual;
}

std::vector<double> SolveTracker::groupMeans(const std::vector<double>& values) const
{
    const auto group = size_t(std::max(1, options_.coupledRows));
    std::vector<double> means(values.size());
    for (size_t first = 0; first < values.size(); first += group) {
        const size_t last = std::min(values.size(), first + group);
        double sum = 0;
        for (size_t r = first; r < last; ++r)
            sum += values[r];
        for (size_t r = first; r < last; ++r)
            means[r] = sum / double(last - first);
    }
    return means;
}

void SolveTracker::updateBest(const torch::Tensor& v, const std::vector<double>& residual,
                              const std::vector<double>& objective)
{
    const size_t rows = residual.size();
    const bool objectives = !objective.empty() && options_.bestResidualSlack > 1.0;
    if (!objective.empty() && bestObjective_.empty())
        bestObjective_.assign(rows, INFINITY);
    std::vector<bool> better(rows);
    size_t improved = 0;
    for (size_t r = 0; r < rows; ++r) {
        bool row = residual[r] < bestResidual_[r];
        // The first recorded objective has nothing to be clearly lower than.
        if (objectives && iteration_ > 1) {
            const bool clearlyLower
                = objective[r] < bestObjective_[r] - options_.objectiveMargin * std::abs(bestObjective_[r]);
            row = row || (residual[r] < bestResidual_[r] * options_.bestResidualSlack && clearlyLower);
        }
        better[r] = row && std::isfinite(residual[r]);
        improved += better[r] ? 1 : 0;
        if (better[r]) {
            bestResidual_[r] = residual[r];
            if (!objective.empty())
                bestObjective_[r] = objective[r];
        }
    }
    // Keep a reference where the whole batch improved (the usual case, and a
    // state-sized copy saved per iteration); the caller's start is copied.
    if (improved == rows) {
        best_ = iteration_ == 1 ? v.detach().clone() : v.detach();
    } else if (improved > 0) {
        auto mask = torch::empty({int64_t(rows), 1}, torch::kBool);
        for (size_t r = 0; r < rows; ++r)
            mask[int64_t(r)][0] = bool(better[r]);
        best_ = torch::where(mask.to(v.device()), v.detach(), best_);
    }
}

bool SolveTracker::record(const torch::Tensor& v, const torch::Tensor& gv, torch::Tensor change)
{
    ResidualSummary summary;
    {
        PhaseTimer timer(SolvePhase::Tracker);
        torch::NoGradGuard noGrad;
        if (!change.defined())
            change = gv - v;
        summary = summarizeResidual(gv, change, blocks_, problem_.lastObjective());
    }
    return record(v, summary);
}

bool SolveTracker::record(const torch::Tensor& v, const ResidualSummary& summary)
{
    PhaseTimer timer(SolvePhase::Tracker);
    torch::NoGradGuard noGrad;
    ++iteration_;
    const auto residual = rowResiduals(summary);
    const auto objective = summary.hasObjective() ? groupMeans(summary.objective) : std::vector<double>{};
    bool finite = true, diverging = false, converged = true;
    double worstBefore = 0, total = 0;
    for (size_t r = 0; r < residual.size(); ++r) {
        finite = finite && std::isfinite(residual[r]);
        worstBefore = std::max(worstBefore, bestResidual_[r]);
        converged = converged && residual[r] < options_.tolerance;
        total += residual[r];
    }
    if (std::isfinite(worstBefore))
        for (size_t r = 0; r < residual.size(); ++r)
            diverging = diverging || residual[r] > bestResidual_[r] * options_.divergenceFactor;

    IterationStats stats;
    stats.iteration = iteration_;
    stats.elapsedSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    stats.residualTotal = residual.empty() ? 0.0 : total / double(residual.size());
    problem_.describe(summary, stats);
    stats.functionEvaluations = problem_.functionEvaluations();
    stats.vjpCount = problem_.vjpCount();

    updateBest(v, residual, objective);
    if (options_.returnLastIterate) {
        last_ = v.detach();
        lastResidual_ = residual;
        lastObjective_ = objective;
    }
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
    if (converged) {
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
    const bool last = options_.returnLastIterate && last_.defined() && reason_ != StopReason::Diverged;
    result.solution = last ? last_ : best_;
    const auto options = torch::TensorOptions().dtype(best_.scalar_type()).device(best_.device());
    result.residual = torch::tensor(last ? lastResidual_ : bestResidual_, torch::kDouble).to(options);
    const auto& objective = last ? lastObjective_ : bestObjective_;
    if (!objective.empty())
        result.objective = torch::tensor(objective, torch::kDouble).to(options);
    result.iterations = iteration_;
    result.reason = reason_;
    result.elapsedSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    return result;
}

} // namespace jiio
