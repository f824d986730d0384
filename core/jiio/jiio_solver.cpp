// JIIO: the KKT conditions of the input optimisation as one fixed-point map
// over the stacked state v = [z; x; mu], solved by Anderson or Picard.
#include "error.h"
#include "jiio/input_optimization.h"
#include "models/frozen_parameters.h"
#include "solve_profile.h"

#include <cmath>
#include <random>

namespace jiio {

namespace {

class JiioProblem final : public FixedPointProblem {
public:
    JiioProblem(DeqModel& model, const StateLayout& layout, const Objective& objective, const JiioOptions& options)
        : model_(model), layout_(layout), objective_(objective), options_(options)
    {
    }

    torch::Tensor apply(const torch::Tensor& v) override
    {
        const auto [z, x, mu] = split(v);
        if (capturesNext()) {
            capturedState_ = z.detach().clone();
            capturedLatent_ = x.detach().clone();
            capturedEvaluation_ = int(evaluations_ + 1);
        }
        torch::Tensor fz, gradZ, gradX;
        {
            torch::AutoGradMode enableGrad(true);
            auto zLeaf = z.detach().requires_grad_(true);
            auto xLeaf = x.detach().requires_grad_(true);
            torch::Tensor prediction, objective;
            {
                PhaseTimer timer(SolvePhase::Cell);
                fz = model_->f(zLeaf, xLeaf, layout_);
            }
            {
                PhaseTimer timer(SolvePhase::Readout);
                prediction = model_->readout(zLeaf, xLeaf, layout_);
                objective = objective_.perSample(prediction, xLeaf);
            }
            // One backward call with grad outputs (mu, 1) gives both
            // (df/dz)^T mu + dl/dz and (df/dx)^T mu + dR/dx.
            PhaseTimer vjpTimer(SolvePhase::Vjp);
            auto grads = torch::autograd::grad({fz, objective}, {zLeaf, xLeaf},
                                               {mu, torch::ones_like(objective)},
                                               /*retain_graph=*/false, /*create_graph=*/false,
                                               /*allow_unused=*/true);
            gradZ = grads[0];
            gradX = grads[1].defined() ? grads[1] : torch::zeros_like(xLeaf);
            lastObjective_ = objective.detach();
            lastPrediction_ = prediction.detach();
            lastInput_ = x;
            fz = fz.detach();
        }
        PhaseTimer timer(SolvePhase::InputStep);
        ++evaluations_;
        const double alphaX = evaluations_ > options_.alphaSwitchFraction * options_.maxIterations
            ? options_.alphaXLate : options_.alphaX;
        const torch::Tensor step = inputStepDirection(gradX, options_.constraint);

        // Written block by block into one state: no concatenation pass.
        auto next = torch::empty_like(v);
        auto [zNext, xNext, muNext] = split(next);
        torch::lerp_out(zNext, z, fz, options_.alphaZ);
        xNext.copy_(objective_.project(projectInput(x - alphaX * step, options_.constraint, options_.radius)));
        torch::lerp_out(muNext, mu, gradZ, options_.alphaMu);
        return next;
    }

    std::vector<int64_t> residualBlocks() const override
    {
        return {layout_.zSize, layout_.latentSize, layout_.zSize};
    }

    void describe(const ResidualSummary& summary, IterationStats& stats) override
    {
        stats.residualZ = summary.meanRelativeChange(0);
        stats.residualX = summary.meanRelativeChange(1);
        stats.residualMu = summary.meanRelativeChange(2);
        // The first evaluation reads out z = 0, before any step toward the
        // equilibrium: its objective says nothing about the input, and a
        // plot would show a meaningless low start.
        stats.objective = evaluations_ > 1 && summary.hasObjective() ? summary.meanObjective() : IterationStats::kNone;
    }

    torch::Tensor lastObjective() const override { return lastObjective_; }
    torch::Tensor lastPrediction() const override { return lastPrediction_; }
    torch::Tensor lastInput() const override { return lastInput_; }
    int64_t functionEvaluations() const override { return evaluations_; }
    int64_t vjpCount() const override { return evaluations_; }
    const torch::Tensor& capturedState() const { return capturedState_; }
    const torch::Tensor& capturedLatent() const { return capturedLatent_; }
    int capturedEvaluation() const { return capturedEvaluation_; }

    std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> split(const torch::Tensor& v) const
    {
        return {v.narrow(1, 0, layout_.zSize), v.narrow(1, layout_.zSize, layout_.latentSize),
                v.narrow(1, layout_.zSize + layout_.latentSize, layout_.zSize)};
    }

private:
    // Whether the coming evaluation's point is kept: the requested one, or
    // (reservoir sampling) the k-th with probability 1/k.
    bool capturesNext()
    {
        const int64_t evaluation = evaluations_ + 1;
        if (options_.captureEvaluation > 0)
            return evaluation == options_.captureEvaluation;
        return options_.captureSeed != 0
            && std::uniform_int_distribution<int64_t>(1, evaluation)(captureRandom_) == 1;
    }

    DeqModel& model_;
    const StateLayout& layout_;
    const Objective& objective_;
    const JiioOptions& options_;
    torch::Tensor lastObjective_;
    torch::Tensor lastPrediction_;
    torch::Tensor lastInput_; // a view into the state of the last apply()
    torch::Tensor capturedState_, capturedLatent_;
    int capturedEvaluation_ = 0;
    std::mt19937_64 captureRandom_{options_.captureSeed};
    int64_t evaluations_ = 0;
};

} // namespace

torch::Tensor projectInput(const torch::Tensor& x, InputConstraint constraint, double radius)
{
    switch (constraint) {
    case InputConstraint::None:
        return x;
    case InputConstraint::L2Ball: {
        auto norm = x.norm(2, 1, true);
        return x * torch::clamp_max(radius / (norm + 1e-12), 1.0);
    }
    case InputConstraint::LInfBall:
        return x.clamp(-radius, radius);
    }
    return x;
}

torch::Tensor inputStepDirection(const torch::Tensor& gradient, InputConstraint constraint)
{
    switch (constraint) {
    case InputConstraint::None:
        return gradient;
    case InputConstraint::L2Ball:
        return gradient / (gradient.norm(2, 1, true) + 1e-12);
    case InputConstraint::LInfBall:
        return gradient.sign();
    }
    return gradient;
}

InputOptimizationResult runJiio(DeqModel& model, const StateLayout& layout, const Objective& objective,
                                const JiioOptions& options, SolveObserver& observer, const torch::Tensor& x0)
{
    if (!(options.inputGramWeight > 0) || !std::isfinite(options.inputGramWeight))
        throw Error("the input's weight in Anderson's fit must be positive");
    FrozenParameters frozen; // a solve needs no parameter gradients
    const auto batch = objective.batchSize();
    const auto tensorOptions = objective.tensorOptions();
    auto x = objective.project(x0.defined() ? x0.detach() : torch::zeros({batch, layout.latentSize}, tensorOptions));
    auto v0 = torch::cat({torch::zeros({batch, layout.zSize}, tensorOptions), x,
                          torch::zeros({batch, layout.zSize}, tensorOptions)}, 1);

    JiioProblem problem(model, layout, objective, options);
    FixedPointOptions solverOptions;
    solverOptions.method = options.method;
    solverOptions.maxIterations = options.maxIterations;
    solverOptions.tolerance = options.tolerance;
    solverOptions.memory = options.andersonMemory;
    solverOptions.andersonBeta = options.andersonBeta;
    solverOptions.andersonLambda = options.andersonLambda;
    solverOptions.coupledRows = options.coupledRows;
    if (options.inputGramWeight != 1.0)
        solverOptions.andersonBlockWeights = {1.0, options.inputGramWeight, 1.0};
    if (!options.mixInput)
        solverOptions.andersonUnmixedBlocks = {false, true, false};
    // Keep the lowest-residual iterate, but take a slightly worse one whose
    // objective is clearly lower.
    solverOptions.bestResidualSlack = 1.5;
    solverOptions.objectiveMargin = 0.02;
    solverOptions.returnLastIterate = options.returnLastIterate;
    auto solved = solveFixedPoint(problem, v0, solverOptions, observer);

    InputOptimizationResult result;
    auto [z, xStar, mu] = problem.split(solved.solution);
    result.state = z.clone();
    // Anderson mixes iterates with weights of either sign: the mixture can leave
    // the feasible set, so the answer is projected once more.
    result.latent = objective.project(xStar).clone();
    result.adjoint = mu.clone();
    {
        torch::NoGradGuard noGrad;
        result.prediction = model->readout(result.state, result.latent, layout);
    }
    result.objective = solved.objective;
    result.iterations = solved.iterations;
    result.reason = solved.reason;
    result.elapsedSeconds = solved.elapsedSeconds;
    result.functionEvaluations = problem.functionEvaluations();
    result.vjpCount = problem.vjpCount();
    result.capturedState = problem.capturedState();
    result.capturedLatent = problem.capturedLatent();
    result.capturedEvaluation = problem.capturedEvaluation();
    return result;
}

} // namespace jiio
