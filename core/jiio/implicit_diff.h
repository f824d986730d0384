#pragma once
#include "jiio/objective.h"
#include "models/deq_model.h"
#include "solvers/fixed_point.h"

#include <functional>

namespace jiio {

// The adjoint equilibrium mu = (df/dz)^T mu + g at (z*, x), for a given
// g = dL/dz. The graph of f at z* is built once; each iteration is one VJP.
struct AdjointSolve {
    torch::Tensor adjoint; // mu* [B, zSize]
    int iterations = 0;
    double residual = 0;   // batch mean
    int64_t vjpCount = 0;
};

// Everything one naive outer step needs: forward equilibrium, adjoint, and the
// implicit gradient of the objective with respect to x.
struct EquilibriumGradient {
    torch::Tensor state;     // z*(x)
    torch::Tensor adjoint;   // mu*
    torch::Tensor objective; // per sample, at z*(x)
    torch::Tensor gradient;  // d objective / dx = (df/dx)^T mu* + dR/dx
    torch::Tensor prediction; // h(z*)
    double forwardResidual = 0;
    double adjointResidual = 0;
    int forwardIterations = 0;
    int adjointIterations = 0;
};

// Solves z = f(z, x) from zInit (zero when undefined) without building a graph.
FixedPointResult solveEquilibrium(DeqModel& model, const StateLayout& layout, const torch::Tensor& latent,
                                  const FixedPointOptions& options, const torch::Tensor& zInit = {});

EquilibriumGradient equilibriumGradient(DeqModel& model, const StateLayout& layout, const Objective& objective,
                                        const torch::Tensor& latent, const FixedPointOptions& forward,
                                        const FixedPointOptions& adjoint, const torch::Tensor& zInit = {},
                                        const torch::Tensor& muInit = {});

// Implicit differentiation of a training loss L(h(z*)) with respect to the
// model's parameters: solves the adjoint (warm-started from muInit, e.g. JIIO's
// mu*), then backpropagates through one application of f and h. Gradients
// accumulate into the parameters' .grad. Returns the loss and the adjoint.
struct ImplicitBackward {
    torch::Tensor loss;
    AdjointSolve adjoint;
};
ImplicitBackward implicitBackward(DeqModel& model, const StateLayout& layout, const torch::Tensor& zStar,
                                  const torch::Tensor& latent,
                                  const std::function<torch::Tensor(const torch::Tensor&)>& loss,
                                  const FixedPointOptions& adjointOptions, const torch::Tensor& muInit = {});

// f at (z, x) with z as a fresh leaf: the graph the Jacobian estimates below
// differentiate. Built once, it serves both of the trainer's penalties.
struct CellGraph {
    torch::Tensor state; // z, requires grad
    torch::Tensor image; // f(z, x)
};
CellGraph cellGraph(DeqModel& model, const StateLayout& layout, const torch::Tensor& z, const torch::Tensor& latent);

// Hutchinson estimate of |df/dz|_F^2 / zSize at (z, x), differentiable with
// respect to the parameters (for Jacobian regularisation). Per sample [B].
torch::Tensor jacobianFrobeniusEstimate(const CellGraph& graph, int probes = 1);
torch::Tensor jacobianFrobeniusEstimate(DeqModel& model, const StateLayout& layout, const torch::Tensor& z,
                                        const torch::Tensor& latent, int probes = 1);

// Power-iteration estimate of the largest gain |(df/dz)^T v| over unit v at
// (z, x), per sample [B], differentiable with respect to the parameters. The
// Frobenius estimate averages over all directions; a fixed-point solve
// diverges as soon as one direction amplifies, which is what this measures.
// `iterations` VJPs without a graph refine v from a random start, one more
// with a graph gives the estimate.
torch::Tensor jacobianGainEstimate(const CellGraph& graph, int iterations = 5);
torch::Tensor jacobianGainEstimate(DeqModel& model, const StateLayout& layout, const torch::Tensor& z,
                                   const torch::Tensor& latent, int iterations = 5);

// The trainer's penalty on that gain: weight * relu(gain - target)^2, averaged
// over the batch (a scalar to backpropagate).
torch::Tensor gainPenalty(const CellGraph& graph, double weight, double target);

// What every trainer adds to keep the cell contractive: the Frobenius
// estimate times jacobianWeight plus gainPenalty (a scalar; zero when both
// weights are zero).
torch::Tensor contractionPenalty(const CellGraph& graph, double jacobianWeight, double gainWeight, double gainTarget);

} // namespace jiio
