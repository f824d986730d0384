#pragma once
#include "solvers/observer.h"
#include "solvers/residual_summary.h"
#include "torch_include.h"

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace jiio {

// A fixed-point problem v = G(v) over a batch of flat states [B, n]. Each
// sample is an independent problem; solvers track residuals per sample.
class FixedPointProblem {
public:
    virtual ~FixedPointProblem() = default;

    virtual torch::Tensor apply(const torch::Tensor& v) = 0;

    // Sizes along dim 1 of the state's blocks whose residuals describe()
    // reports apart (they add up to the state's length); empty: one block.
    virtual std::vector<int64_t> residualBlocks() const { return {}; }
    // Fills the block residuals and objective of the last apply(v) into stats
    // from the pair's summary. The default reports only the total residual.
    virtual void describe(const ResidualSummary& summary, IterationStats& stats);

    // Per-sample objective of the last apply(), or an undefined tensor.
    virtual torch::Tensor lastObjective() const { return {}; }
    // The readout h(z) of the last apply(), when the problem has one.
    virtual torch::Tensor lastPrediction() const { return {}; }
    // The optimised input of the last apply(), when the problem has one.
    virtual torch::Tensor lastInput() const { return {}; }

    // Cumulative cost counters.
    virtual int64_t functionEvaluations() const { return 0; }
    virtual int64_t vjpCount() const { return 0; }
};

// Adapts a plain function to a FixedPointProblem; counts one f evaluation per
// call unless told the map is a VJP.
class FunctionProblem final : public FixedPointProblem {
public:
    enum class Cost { Forward, VectorJacobian };
    FunctionProblem(std::function<torch::Tensor(const torch::Tensor&)> map, Cost cost = Cost::Forward)
        : map_(std::move(map)), cost_(cost) {}

    torch::Tensor apply(const torch::Tensor& v) override;
    int64_t functionEvaluations() const override { return cost_ == Cost::Forward ? calls_ : 0; }
    int64_t vjpCount() const override { return cost_ == Cost::VectorJacobian ? calls_ : 0; }

private:
    std::function<torch::Tensor(const torch::Tensor&)> map_;
    Cost cost_;
    int64_t calls_ = 0;
};

enum class FixedPointMethod { Picard, Anderson, Broyden };

FixedPointMethod fixedPointMethodFromString(const std::string& text);
std::string toString(FixedPointMethod method);

struct FixedPointOptions {
    FixedPointMethod method = FixedPointMethod::Anderson;
    int maxIterations = 50;
    double tolerance = 1e-4;    // on the per-sample residual, every sample
    bool relativeResidual = true;
    double picardDamping = 1.0; // v <- (1 - d) v + d G(v)
    int memory = 5;             // Anderson / Broyden history length
    double andersonBeta = 1.0;  // mixing between G-history and v-history
    double andersonLambda = 1e-4;
    // Anderson: consecutive groups of this many rows are one problem (rows
    // that share a variable, such as the images of an episode sharing a task
    // vector) and mix with one set of weights, from the group's summed Gram
    // matrix. The batch must be a multiple of it.
    int coupledRows = 1;
    // Anderson: how much each residual block (FixedPointProblem::
    // residualBlocks) weighs when the mixing weights are fitted; empty: all 1.
    // A small block that converges slowly (an optimised input beside a large
    // state) is otherwise all but ignored by the fit.
    std::vector<double> andersonBlockWeights;
    // Anderson: blocks that take the plain step G(v) rather than the mixture
    // (empty: none). The mixture is a secant step toward a stationary point of
    // any kind; a block that descends a non-convex objective (an input under
    // optimisation) keeps descending with the plain step, while the blocks
    // that only have to settle are still accelerated.
    std::vector<bool> andersonUnmixedBlocks;
    // Divergence: residual this many times above the best one seen.
    double divergenceFactor = 1e4;
    // Cost-aware best iterate: accept a residual up to this factor above the
    // best when the objective is lower by at least objectiveMargin (relative).
    double bestResidualSlack = 1.0;
    double objectiveMargin = 0.0;
    // Return the last iterate instead of the best one, unless the solve
    // diverged: for maps that descend an objective step by step, where the
    // lowest residual can be an early iterate that descended least.
    bool returnLastIterate = false;
};

struct FixedPointResult {
    torch::Tensor solution;       // best (or last) iterate per sample [B, n]
    torch::Tensor residual;       // its residual per sample [B]
    torch::Tensor objective;      // its objective per sample, when the problem has one
    int iterations = 0;
    StopReason reason = StopReason::BudgetExhausted;
    double elapsedSeconds = 0;
};

// Runs the chosen method. Stops on tolerance, budget, a stop request, or
// NaN/Inf/divergence (then returns the best iterate seen so far).
FixedPointResult solveFixedPoint(FixedPointProblem& problem, const torch::Tensor& v0,
                                 const FixedPointOptions& options, SolveObserver& observer);

} // namespace jiio
