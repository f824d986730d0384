// The baseline JIIO must beat: gradient steps on x, each needing a forward
// equilibrium solve and an adjoint solve.
#include "jiio/implicit_diff.h"
#include "jiio/input_optimization.h"
#include "models/frozen_parameters.h"

namespace jiio {

InputOptimizationResult runNaive(DeqModel& model, const StateLayout& layout, const Objective& objective,
                                 const NaiveOptions& options, SolveObserver& observer, const torch::Tensor& x0)
{
    FrozenParameters frozen;
    const auto batch = objective.batchSize();
    const auto start = std::chrono::steady_clock::now();
    auto x = objective.project(x0.defined() ? x0.detach() : torch::zeros({batch, layout.latentSize}, objective.tensorOptions())).clone();
    x.requires_grad_(true);
    std::unique_ptr<torch::optim::Optimizer> optimizer;
    if (options.optimizer == NaiveOptimizer::Adam)
        optimizer = std::make_unique<torch::optim::Adam>(std::vector<torch::Tensor>{x},
                                                         torch::optim::AdamOptions(options.adamLearningRate));
    else
        optimizer = std::make_unique<torch::optim::SGD>(std::vector<torch::Tensor>{x},
                                                        torch::optim::SGDOptions(options.gdLearningRate));

    InputOptimizationResult result;
    torch::Tensor zWarm, muWarm;
    for (int step = 1; step <= options.steps; ++step) {
        auto eg = equilibriumGradient(model, layout, objective, x.detach(), options.forward, options.adjoint,
                                      options.warmStart ? zWarm : torch::Tensor(),
                                      options.warmStart ? muWarm : torch::Tensor());
        zWarm = eg.state;
        muWarm = eg.adjoint;
        result.functionEvaluations += eg.forwardIterations + 1; // +1: the graph for the gradient
        result.vjpCount += eg.adjointIterations + 1;
        result.state = eg.state;
        result.adjoint = eg.adjoint;
        result.latent = x.detach().clone();
        result.objective = eg.objective;
        result.iterations = step;

        const auto before = x.detach().clone();
        {
            torch::NoGradGuard noGrad;
            x.mutable_grad() = options.optimizer == NaiveOptimizer::GradientDescent
                ? inputStepDirection(eg.gradient, options.constraint)
                : eg.gradient.clone();
            optimizer->step();
            x.copy_(objective.project(projectInput(x, options.constraint, options.radius)));
        }

        IterationStats stats;
        stats.iteration = step;
        stats.elapsedSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        stats.objective = eg.objective.mean().item<double>();
        stats.residualZ = eg.forwardResidual;
        stats.residualMu = eg.adjointResidual;
        stats.residualX = ((x.detach() - before).norm(2, 1) / (x.detach().norm(2, 1) + 1e-12)).mean().item<double>();
        stats.residualTotal = std::max(stats.residualZ, stats.residualMu);
        stats.functionEvaluations = result.functionEvaluations;
        stats.vjpCount = result.vjpCount;
        stats.innerIterations = eg.forwardIterations + eg.adjointIterations;
        if (observer.wantsInput())
            observer.onInput(result.latent);
        observer.onIteration(stats);
        if (observer.wantsPrediction())
            observer.onPrediction(eg.prediction);

        if (!torch::isfinite(eg.objective).all().item<bool>()) {
            result.reason = StopReason::Diverged;
            break;
        }
        if (observer.stopRequested()) {
            result.reason = StopReason::StopRequested;
            break;
        }
    }
    {
        torch::NoGradGuard noGrad;
        result.prediction = model->readout(result.state, result.latent, layout);
    }
    result.elapsedSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

} // namespace jiio
