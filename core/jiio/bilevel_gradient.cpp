#include "jiio/bilevel_gradient.h"

#include "solvers/conjugate_gradient.h"

namespace jiio {

namespace {

// 1 where project() lets a coordinate of x move both ways, else 0: known
// pixels held at the observation and values at a bound do not take part.
torch::Tensor freeCoordinates(const Objective& objective, const torch::Tensor& x)
{
    constexpr double probe = 1e-3;
    const auto at = objective.project(x);
    const auto up = objective.project(x + probe).ne(at);
    const auto down = objective.project(x - probe).ne(at);
    return (up & down).to(x.scalar_type());
}

} // namespace

BilevelOptions::BilevelOptions()
{
    forward.method = FixedPointMethod::Anderson;
    forward.maxIterations = 40;
    forward.tolerance = 1e-4;
    adjoint = forward;
}

BilevelReport bilevelBackward(DeqModel& model, const StateLayout& layout, const Objective& inner,
                              const Objective& outer, const torch::Tensor& xStar, const torch::Tensor& zStar,
                              const BilevelOptions& options)
{
    BilevelReport report;
    const auto x = xStar.detach();
    const double batch = double(x.size(0));
    const auto free = freeCoordinates(inner, x);
    // Steps in x are relative to each sample's size: an image is far longer
    // than a task vector, and a float32 solve resolves only relative changes.
    const auto scale = options.hvpStep * x.norm(2, 1, true).clamp_min(1.0);
    auto stepAlong = [&](const torch::Tensor& direction) { return scale / direction.norm(2, 1, true).clamp_min(1e-12); };

    // dL/dtheta at fixed x*, and dL/dx*.
    const auto lossAtX = [&](const torch::Tensor& prediction) { return outer.perSample(prediction, x).mean(); };
    const auto direct = implicitBackward(model, layout, zStar, x, lossAtX, options.adjoint);
    report.loss = direct.loss.item<double>();
    report.adjointResidual = direct.adjoint.residual;
    // The same adjoint again, for dL/dx*: started where the first one ended.
    const auto lossGradient = equilibriumGradient(model, layout, outer, x, options.forward, options.adjoint, zStar,
                                                  direct.adjoint.adjoint)
                                  .gradient
        / batch;

    // w = (P H P)^-1 P dL/dx*, one system per sample.
    auto hessianTimes = [&](const torch::Tensor& direction) {
        const auto step = stepAlong(direction);
        const auto plus = equilibriumGradient(model, layout, inner, x + step * direction, options.forward,
                                              options.adjoint, zStar);
        const auto minus = equilibriumGradient(model, layout, inner, x - step * direction, options.forward,
                                               options.adjoint, plus.state, plus.adjoint);
        ++report.hessianProducts;
        return free * (plus.gradient - minus.gradient) / (2 * step);
    };
    const auto cg = batchedConjugateGradient(hessianTimes, free * lossGradient, options.cgIterations,
                                             options.cgTolerance);
    report.cgRelativeResidual = cg.relativeResidual;
    const auto& w = cg.solution;

    // - d2G/(dtheta dx) w, by central differences of dG/dtheta along w.
    const auto step = stepAlong(w);
    for (const double sign : {1.0, -1.0}) {
        const auto shifted = x + sign * step * w;
        const auto solved = solveEquilibrium(model, layout, shifted, options.forward, zStar);
        const auto weight = (-sign / (2 * step)).flatten();
        const auto value = [&](const torch::Tensor& prediction) {
            return (inner.perSample(prediction, shifted) * weight).sum();
        };
        implicitBackward(model, layout, solved.solution, shifted, value, options.adjoint);
    }
    return report;
}

} // namespace jiio
