#include "evaluation/equilibrium_trace.h"

#include "jiio/implicit_diff.h"

#include <cmath>

namespace jiio {

void InputTrace::onInput(const at::Tensor& input)
{
    pending_ = input.detach().clone();
}

void InputTrace::onIteration(const IterationStats& stats)
{
    TraceRecorder::onIteration(stats);
    inputs_.push_back(pending_);
}

EquilibriumObjective::EquilibriumObjective(DeqModel& model, const StateLayout& layout, const Objective& objective,
                                           double tolerance)
    : model_(model), layout_(layout), objective_(objective)
{
    options_.method = FixedPointMethod::Anderson;
    options_.maxIterations = 100;
    options_.tolerance = tolerance;
}

double EquilibriumObjective::at(const torch::Tensor& input)
{
    const auto x = objective_.project(input);
    auto solved = solveEquilibrium(model_, layout_, x, options_);
    return objective_.perSample(model_->readout(solved.solution, x, layout_), x).mean().item<double>();
}

bool reachesTarget(double objective, double target)
{
    return objective <= target + 1e-6 * std::abs(target);
}

double TracedRun::objectiveAt(size_t row, EquilibriumObjective& evaluate)
{
    trueObjective.resize(trace.rows().size(), std::nan(""));
    if (std::isnan(trueObjective[row]))
        trueObjective[row] = evaluate.at(trace.inputs()[row]);
    return trueObjective[row];
}

double TracedRun::finalObjective(EquilibriumObjective& evaluate)
{
    return trace.rows().empty() ? std::nan("") : objectiveAt(trace.rows().size() - 1, evaluate);
}

int TracedRun::firstReaching(double target, EquilibriumObjective& evaluate)
{
    for (size_t row = 0; row < trace.rows().size(); ++row)
        if (reachesTarget(objectiveAt(row, evaluate), target))
            return int(row);
    return -1;
}

} // namespace jiio
