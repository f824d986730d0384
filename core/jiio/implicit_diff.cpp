#include "jiio/implicit_diff.h"

#include "models/frozen_parameters.h"
#include "models/model_device.h"

namespace jiio {

namespace {

// Adjoint solve on an already built graph fz = f(zLeaf, .).
AdjointSolve solveAdjointOnGraph(const torch::Tensor& fz, const torch::Tensor& zLeaf, const torch::Tensor& rhs,
                                 const FixedPointOptions& options, const torch::Tensor& muInit)
{
    FunctionProblem problem(
        [&](const torch::Tensor& mu) {
            auto vjp = torch::autograd::grad({fz}, {zLeaf}, {mu}, /*retain_graph=*/true)[0];
            return vjp + rhs;
        },
        FunctionProblem::Cost::VectorJacobian);
    NullObserver quiet;
    auto start = muInit.defined() ? muInit.detach() : torch::zeros_like(rhs);
    auto solved = solveFixedPoint(problem, start, options, quiet);
    AdjointSolve result;
    result.adjoint = solved.solution;
    result.iterations = solved.iterations;
    result.residual = solved.residual.mean().item<double>();
    result.vjpCount = problem.vjpCount();
    return result;
}

} // namespace

FixedPointResult solveEquilibrium(DeqModel& model, const StateLayout& layout, const torch::Tensor& latent,
                                  const FixedPointOptions& options, const torch::Tensor& zInit)
{
    torch::NoGradGuard noGrad;
    FrozenParameters frozen;
    const auto injection = model->inject(latent, layout);
    FunctionProblem problem([&](const torch::Tensor& z) { return model->cell(z, injection, layout); });
    NullObserver quiet;
    auto start = zInit.defined() ? zInit : torch::zeros({latent.size(0), layout.zSize}, latent.options());
    return solveFixedPoint(problem, start, options, quiet);
}

EquilibriumGradient equilibriumGradient(DeqModel& model, const StateLayout& layout, const Objective& objective,
                                        const torch::Tensor& latent, const FixedPointOptions& forward,
                                        const FixedPointOptions& adjoint, const torch::Tensor& zInit,
                                        const torch::Tensor& muInit)
{
    FrozenParameters frozen; // the gradient is with respect to the input only
    EquilibriumGradient result;
    auto equilibrium = solveEquilibrium(model, layout, latent.detach(), forward, zInit);
    result.state = equilibrium.solution;
    result.forwardResidual = equilibrium.residual.mean().item<double>();
    result.forwardIterations = equilibrium.iterations;

    torch::AutoGradMode enableGrad(true);
    auto zLeaf = result.state.detach().requires_grad_(true);
    auto xLeaf = latent.detach().requires_grad_(true);
    auto fz = model->f(zLeaf, xLeaf, layout);
    auto prediction = model->readout(zLeaf, xLeaf, layout);
    auto value = objective.perSample(prediction, xLeaf);
    result.prediction = prediction.detach();
    auto direct = torch::autograd::grad({value.sum()}, {zLeaf, xLeaf}, {}, /*retain_graph=*/true,
                                        /*create_graph=*/false, /*allow_unused=*/true);
    // An objective that reads x alone (the error of an image prior's inpainting) has no path through z.
    if (!direct[0].defined())
        direct[0] = torch::zeros_like(zLeaf);
    auto solved = solveAdjointOnGraph(fz, zLeaf, direct[0], adjoint, muInit);
    auto viaState = torch::autograd::grad({fz}, {xLeaf}, {solved.adjoint})[0];

    result.adjoint = solved.adjoint;
    result.adjointResidual = solved.residual;
    result.adjointIterations = solved.iterations;
    result.objective = value.detach();
    result.gradient = direct[1].defined() ? viaState + direct[1] : viaState;
    return result;
}

ImplicitBackward implicitBackward(DeqModel& model, const StateLayout& layout, const torch::Tensor& zStar,
                                  const torch::Tensor& latent,
                                  const std::function<torch::Tensor(const torch::Tensor&)>& loss,
                                  const FixedPointOptions& adjointOptions, const torch::Tensor& muInit)
{
    torch::AutoGradMode enableGrad(true);
    auto zLeaf = zStar.detach().requires_grad_(true);
    auto fz = model->f(zLeaf, latent, layout);
    auto lossValue = loss(model->readout(zLeaf, latent, layout));
    ImplicitBackward result;
    // A loss that does not read the readout (an image prior's inpainting
    // delivers x itself) has no gradient with respect to the parameters here.
    if (!lossValue.requires_grad()) {
        result.loss = lossValue.detach();
        return result;
    }
    auto lossGradZ = torch::autograd::grad({lossValue}, {zLeaf}, {}, /*retain_graph=*/true)[0];

    result.adjoint = solveAdjointOnGraph(fz, zLeaf, lossGradZ, adjointOptions, muInit);
    // dL/dtheta = dL/dtheta|_h + mu*^T df/dtheta, in one backward call.
    torch::autograd::backward({fz, lossValue}, {result.adjoint.adjoint, torch::ones_like(lossValue)});
    result.loss = lossValue.detach();
    return result;
}

CellGraph cellGraph(DeqModel& model, const StateLayout& layout, const torch::Tensor& z, const torch::Tensor& latent)
{
    torch::AutoGradMode enableGrad(true);
    CellGraph graph;
    graph.state = z.detach().requires_grad_(true);
    graph.image = model->f(graph.state, latent.detach(), layout);
    return graph;
}

torch::Tensor jacobianFrobeniusEstimate(const CellGraph& graph, int probes)
{
    torch::AutoGradMode enableGrad(true);
    torch::Tensor total = torch::zeros({graph.state.size(0)}, graph.state.options());
    for (int i = 0; i < probes; ++i) {
        auto probe = randnLikeFromCpu(graph.image);
        auto vjp = torch::autograd::grad({graph.image}, {graph.state}, {probe}, /*retain_graph=*/true,
                                         /*create_graph=*/true)[0];
        total = total + vjp.square().sum(1);
    }
    return total / (probes * double(graph.state.size(1)));
}

torch::Tensor jacobianFrobeniusEstimate(DeqModel& model, const StateLayout& layout, const torch::Tensor& z,
                                        const torch::Tensor& latent, int probes)
{
    return jacobianFrobeniusEstimate(cellGraph(model, layout, z, latent), probes);
}

torch::Tensor jacobianGainEstimate(const CellGraph& graph, int iterations)
{
    torch::AutoGradMode enableGrad(true);
    auto unit = [](const torch::Tensor& v) { return v / v.norm(2, 1, true).clamp_min(1e-12); };
    auto direction = unit(randnLikeFromCpu(graph.image));
    for (int i = 0; i < iterations; ++i) {
        auto image = torch::autograd::grad({graph.image}, {graph.state}, {direction}, /*retain_graph=*/true)[0];
        direction = unit(image.detach());
    }
    auto image = torch::autograd::grad({graph.image}, {graph.state}, {direction}, /*retain_graph=*/true,
                                       /*create_graph=*/true)[0];
    return image.norm(2, 1);
}

torch::Tensor jacobianGainEstimate(DeqModel& model, const StateLayout& layout, const torch::Tensor& z,
                                   const torch::Tensor& latent, int iterations)
{
    return jacobianGainEstimate(cellGraph(model, layout, z, latent), iterations);
}

torch::Tensor gainPenalty(const CellGraph& graph, double weight, double target)
{
    return weight * torch::relu(jacobianGainEstimate(graph) - target).square().mean();
}

torch::Tensor contractionPenalty(const CellGraph& graph, double jacobianWeight, double gainWeight, double gainTarget)
{
    torch::Tensor penalty = torch::zeros({}, graph.state.options());
    if (jacobianWeight > 0)
        penalty = penalty + jacobianWeight * jacobianFrobeniusEstimate(graph).mean();
    if (gainWeight > 0)
        penalty = penalty + gainPenalty(graph, gainWeight, gainTarget);
    return penalty;
}

} // namespace jiio
