#pragma once
#include "solvers/fixed_point.h"
#include "solvers/residual_summary.h"

#include <vector>

namespace jiio {

// The bookkeeping every fixed-point method shares: per-sample residuals, the
// best iterate per sample, statistics for the observer, and when to stop.
class SolveTracker {
public:
    SolveTracker(FixedPointProblem& problem, const FixedPointOptions& options, SolveObserver& observer,
                 const torch::Tensor& v0);

    // Records the evaluated iterate v by the summary of (v, G(v)); returns true
    // when the solve must stop. Everything it decides is decided on the host
    // from the summary. Iterates are kept by reference: solvers must not
    // modify a recorded v in place.
    bool record(const torch::Tensor& v, const ResidualSummary& summary);
    // The same, summarising the pair first. Pass change = G(v) - v when the
    // solver has it already.
    bool record(const torch::Tensor& v, const torch::Tensor& gv, torch::Tensor change = {});

    // The blocks the problem reports residuals for, for solvers that
    // summarise a pair themselves.
    const std::vector<int64_t>& blocks() const { return blocks_; }

    int iterations() const { return iteration_; }
    FixedPointResult finish();

private:
    std::vector<double> rowResiduals(const ResidualSummary& summary) const;
    std::vector<double> groupMeans(const std::vector<double>& values) const;
    void updateBest(const torch::Tensor& v, const std::vector<double>& residual, const std::vector<double>& objective);

    FixedPointProblem& problem_;
    const FixedPointOptions& options_;
    SolveObserver& observer_;
    std::chrono::steady_clock::time_point start_;
    int iteration_ = 0;
    StopReason reason_ = StopReason::BudgetExhausted;
    std::vector<int64_t> blocks_;
    torch::Tensor best_;
    std::vector<double> bestResidual_;  // per row
    std::vector<double> bestObjective_; // per row, or empty
    torch::Tensor last_;                // FixedPointOptions::returnLastIterate: the last iterate,
    std::vector<double> lastResidual_;  // its residuals
    std::vector<double> lastObjective_; // and objectives
};

// rows [B, k, n] times vectors [B, n] -> [B, k]. One BLAS gemv per sample:
// for long n and small k this is an order of magnitude faster than bmm.
torch::Tensor batchedDots(const torch::Tensor& rows, const torch::Tensor& vectors);
// The combination sum_i weights[b, i] rows[b, i] -> [B, n], again one gemv
// per sample (bmm with a single output row is several times slower).
torch::Tensor batchedCombination(const torch::Tensor& weights, const torch::Tensor& rows);

torch::Tensor andersonSolve(FixedPointProblem& problem, const torch::Tensor& v0,
                            const FixedPointOptions& options, SolveTracker& tracker);
torch::Tensor broydenSolve(FixedPointProblem& problem, const torch::Tensor& v0,
                           const FixedPointOptions& options, SolveTracker& tracker);

} // namespace jiio
