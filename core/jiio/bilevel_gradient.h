#pragma once
#include "jiio/implicit_diff.h"

namespace jiio {

// The gradient of a training loss through the input optimisation itself.
// A solve minimises G(x) = inner.perSample(h(z*(x)), x) over the coordinates
// of x that inner.project() leaves free; the loss is
// L = mean over samples of outer.perSample(h(z*(x*)), x*), the error of what
// the solve delivers. Since x* moves with the parameters theta,
//   dL/dtheta = dL/dtheta|x*  -  d2G/(dtheta dx) w,   w = (P H P)^-1 P dL/dx*
// with H = d2G/dx2 and P the projection onto the free coordinates. H is
// applied by conjugate gradients on central differences of JIIO's implicit
// gradients of G (each a warm-started forward and adjoint solve), the mixed
// term by central differences of dG/dtheta along w: no second-order graph
// through the equilibrium. The first term alone is what training at a fixed
// x* uses; the second is what x* does when theta changes.
struct BilevelOptions {
    int cgIterations = 4;
    double cgTolerance = 1e-2; // relative residual that ends CG early
    double hvpStep = 1e-3;     // the finite-difference steps' length relative to |x| (at least 1)
    FixedPointOptions forward;
    FixedPointOptions adjoint;
    BilevelOptions();
};

struct BilevelReport {
    double loss = 0;
    double adjointResidual = 0;     // of the loss's adjoint at x*
    int hessianProducts = 0;
    double cgRelativeResidual = 0;  // the largest over the samples
};

// Accumulates dL/dtheta into the parameters' .grad. xStar [B, n] flat, zStar
// its equilibrium (a warm start for every solve).
BilevelReport bilevelBackward(DeqModel& model, const StateLayout& layout, const Objective& inner,
                              const Objective& outer, const torch::Tensor& xStar, const torch::Tensor& zStar,
                              const BilevelOptions& options);

} // namespace jiio
