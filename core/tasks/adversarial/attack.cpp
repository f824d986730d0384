#include "tasks/adversarial/attack.h"

#include "error.h"
#include "jiio/implicit_diff.h"
#include "models/frozen_parameters.h"

#include <cmath>

namespace jiio {

namespace {

InputConstraint constraintOf(AttackNorm norm)
{
    return norm == AttackNorm::L2 ? InputConstraint::L2Ball : InputConstraint::LInfBall;
}

// Uniform in the l-inf ball; for l2, a uniform direction at a radius uniform
// in [0, eps] (what attack libraries call a random start).
torch::Tensor randomStart(const AttackOptions& options, int64_t batch, int64_t size, const torch::TensorOptions& to)
{
    const int64_t rows = options.startRows > 0 ? options.startRows : batch;
    if (options.startRowOffset < 0 || options.startRowOffset + batch > rows)
        throw Error("the attacked images are not a share of the batch the random start is drawn for");
    auto generator = at::detail::createCPUGenerator(options.seed);
    const auto cpu = torch::TensorOptions().dtype(to.dtype());
    torch::Tensor start;
    if (options.norm == AttackNorm::LInf) {
        start = (torch::rand({rows, size}, generator, cpu) * 2 - 1).mul_(options.eps);
    } else {
        auto direction = torch::randn({rows, size}, generator, cpu);
        direction = direction / direction.norm(2, 1, true).clamp_min(1e-12);
        start = direction * torch::rand({rows, 1}, generator, cpu) * options.eps;
    }
    return start.narrow(0, options.startRowOffset, batch).to(to.device());
}

} // namespace

std::string toString(AttackNorm norm)
{
    return norm == AttackNorm::L2 ? "l2" : "linf";
}

AttackNorm attackNormFromString(const std::string& text)
{
    if (text == "linf")
        return AttackNorm::LInf;
    if (text == "l2")
        return AttackNorm::L2;
    throw Error("unknown norm '" + text + "' (expected linf or l2)");
}

std::string toString(AttackSolver solver)
{
    switch (solver) {
    case AttackSolver::JiioAnderson:
        return "jiio-anderson";
    case AttackSolver::JiioPicard:
        return "jiio-picard";
    case AttackSolver::Pgd:
        return "pgd";
    }
    return "unknown";
}

AttackSolver attackSolverFromString(const std::string& text)
{
    for (auto solver : {AttackSolver::JiioAnderson, AttackSolver::JiioPicard, AttackSolver::Pgd})
        if (toString(solver) == text)
            return solver;
    throw Error("unknown attack solver '" + text + "' (expected jiio-anderson, jiio-picard or pgd)");
}

double AttackOptions::effectiveStepSize() const
{
    if (stepSize > 0)
        return stepSize;
    const double crossing = 2.5 * eps / iterations; // a budget's steps cross the ball more than twice
    return solver == AttackSolver::Pgd ? crossing : std::max(crossing, 0.1 * eps);
}

void AttackOptions::validate() const
{
    if (!(eps > 0) || !std::isfinite(eps))
        throw Error("the attack radius eps must be positive");
    if (iterations < 1)
        throw Error("an attack needs at least one iteration");
    if (stepSize < 0 || !std::isfinite(stepSize))
        throw Error("the attack step size must be positive (or 0 for the default)");
}

Classification classifyAt(DeqModel& model, const StateLayout& layout, const torch::Tensor& perturbation,
                          const FixedPointOptions& forward, const torch::Tensor& labels, const torch::Tensor& zInit)
{
    torch::NoGradGuard noGrad;
    FrozenParameters frozen;
    auto solved = solveEquilibrium(model, layout, perturbation, forward, zInit);
    Classification result;
    result.state = solved.solution;
    result.residual = solved.residual.mean().item<double>();
    result.iterations = solved.iterations;
    result.logits = model->readout(result.state, perturbation, layout);
    if (labels.defined())
        result.crossEntropy = torch::nn::functional::cross_entropy(
            result.logits, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
    return result;
}

AttackResult attackClassifier(DeqModel& model, const torch::Tensor& images, const torch::Tensor& labels,
                              const AttackOptions& options, SolveObserver& observer)
{
    options.validate();
    const AttackObjective objective(images, labels);
    const auto layout = classifierLayout(model, images);
    const auto constraint = constraintOf(options.norm);
    const auto start = options.randomStart
        ? objective.project(randomStart(options, images.size(0), layout.latentSize, images.options()))
        : torch::zeros({images.size(0), layout.latentSize}, images.options());

    AttackResult result;
    if (options.solver == AttackSolver::Pgd) {
        NaiveOptions naive;
        naive.optimizer = NaiveOptimizer::GradientDescent;
        naive.steps = options.iterations;
        naive.gdLearningRate = options.effectiveStepSize();
        naive.forward = options.inner;
        naive.adjoint = options.inner;
        naive.constraint = constraint;
        naive.radius = options.eps;
        result.solve = runNaive(model, layout, objective, naive, observer, start);
    } else {
        JiioOptions jiio;
        jiio.method = options.solver == AttackSolver::JiioPicard ? FixedPointMethod::Picard : FixedPointMethod::Anderson;
        jiio.maxIterations = options.iterations;
        jiio.tolerance = 1e-6; // the ball's corners, not a residual, end an l-inf attack
        jiio.alphaX = options.effectiveStepSize();
        jiio.alphaXLate = 0.5 * jiio.alphaX;
        jiio.constraint = constraint;
        jiio.radius = options.eps;
        result.solve = runJiio(model, layout, objective, jiio, observer, start);
    }
    result.perturbation = objective.project(projectInput(result.solve.latent, constraint, options.eps));
    result.adversarial = objective.perturbedImages(result.perturbation);
    // What the attack achieved, judged at a true equilibrium of the attacked
    // images rather than at the attack's own (possibly unconverged) state.
    result.attacked = classifyAt(model, layout, result.perturbation, options.inner, labels, result.solve.state);
    return result;
}

} // namespace jiio
