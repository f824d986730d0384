#pragma once
#include "jiio/input_optimization.h"
#include "solvers/trace.h"

#include <functional>
#include <vector>

namespace jiio {

// A trace that also keeps the input each row's objective was taken at, so
// that a comparison can judge every method at the true equilibrium of its
// inputs afterwards, outside the timed path.
class InputTrace final : public TraceRecorder {
public:
    bool wantsInput() const override { return true; }
    void onInput(const at::Tensor& input) override;
    bool stopRequested() const override { return stop && stop(); }
    void onIteration(const IterationStats& stats) override;
    const std::vector<torch::Tensor>& inputs() const { return inputs_; }

    std::function<bool()> stop; // ends the solve when it says so

private:
    torch::Tensor pending_;
    std::vector<torch::Tensor> inputs_;
};

// The batch-mean objective of an input at its true equilibrium z*(x): a
// forward solve well past the methods' own tolerances, always from zero, so
// that the same input gets the same value whenever it is asked for.
class EquilibriumObjective {
public:
    EquilibriumObjective(DeqModel& model, const StateLayout& layout, const Objective& objective,
                         double tolerance = 1e-5);
    double at(const torch::Tensor& input);

private:
    DeqModel& model_;
    const StateLayout& layout_;
    const Objective& objective_;
    FixedPointOptions options_;
};

// Reaching a target allows for float rounding between otherwise identical
// runs (the run that set the target reaches it).
bool reachesTarget(double objective, double target);

// One timed run, its rows' true objectives filled in on demand.
struct TracedRun {
    InputTrace trace;
    InputOptimizationResult result;
    std::vector<double> trueObjective; // NaN: not evaluated yet

    double objectiveAt(size_t row, EquilibriumObjective& evaluate);
    double finalObjective(EquilibriumObjective& evaluate);
    // The first row whose input reaches the target, or -1.
    int firstReaching(double target, EquilibriumObjective& evaluate);
};

} // namespace jiio
