#pragma once
#include "tasks/meta/adaptation.h"

namespace jiio {

// The meta-gradient of the query loss L = mean CE(queries at v*) with respect
// to the network's parameters theta and the task vector's start v0, where
// v* = argmin_v G(v) = S(v) + (lambda/2)|v - v0|^2 is the adapted task vector
// (S: the support's mean cross-entropy). By implicit differentiation through
// the inner optimum, with g = dL/dv* and w = (H + lambda I)^-1 g (H = d2S/dv2,
// applied by conjugate gradients on Hessian-vector products):
//   dL/dtheta = dL/dtheta|v*  -  d2S/(dtheta dv) w,     dL/dv0 = lambda w.
// The proximal term makes H + lambda I positive definite near a minimum, so
// the solve is well posed. Hessian-vector products and the mixed term are
// central differences of implicit gradients (each a warm-started forward and
// adjoint solve of the support set) along w: no second-order graph through
// the equilibrium. First order: dL/dtheta|v* and dL/dv0 = g.
struct MetaGradientOptions {
    bool firstOrder = false;
    int cgIterations = 5;
    double cgTolerance = 1e-4; // relative residual |(H + lambda I) w - g| / |g| that ends CG early
    double hvpStep = 1e-3; // the length of the finite-difference step in v
    FixedPointOptions forward = fewShotForward();
    FixedPointOptions adjoint;
    MetaGradientOptions();
};

struct MetaGradient {
    double queryLoss = 0;
    double queryAccuracy = 0; // percent, at v*
    double adjointResidual = 0;
    int hessianProducts = 0;
    double cgRelativeResidual = 0; // |(H + lambda I) w - g| / |g| after the last CG step
};

// Accumulates the meta-gradient into the parameters' .grad (v0 included).
MetaGradient metaBackward(DeqModel& model, const std::vector<Episode>& episodes, const Adaptation& adaptation,
                          double lambda, const MetaGradientOptions& options);

// The gradient of the support's mean cross-entropy S with respect to the task
// vector, per episode [E, d], at tasks [E, d] (warm starts optional).
struct SupportGradient {
    torch::Tensor gradient, state, adjoint;
};
SupportGradient supportTaskGradient(DeqModel& model, const EpisodeRows& support, const torch::Tensor& tasks,
                                    const FixedPointOptions& forward, const FixedPointOptions& adjoint,
                                    const torch::Tensor& zWarm = {}, const torch::Tensor& muWarm = {});

} // namespace jiio
