#pragma once
#include "torch_include.h"

namespace jiio {

// What input optimisation minimises, per sample: l(h(z), y) + R(x), given the
// readout h(z) and the optimised input x. A task defines it; the solvers only
// evaluate and differentiate it.
class Objective {
public:
    virtual ~Objective() = default;

    // [B] values for predictions h(z) and flat inputs x [B, n].
    virtual torch::Tensor perSample(const torch::Tensor& prediction, const torch::Tensor& input) const = 0;
    virtual int64_t batchSize() const = 0;
    // Device and dtype the solver's state takes.
    virtual torch::TensorOptions tensorOptions() const = 0;
    // The nearest feasible input (known pixels held, a perturbation kept in
    // its ball); every method applies it after each step. No constraint by default.
    virtual torch::Tensor project(const torch::Tensor& input) const { return input; }
};

} // namespace jiio
