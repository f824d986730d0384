#pragma once
#include "torch_include.h"

namespace jiio {

// While a FrozenParameters guard lives on a thread, models evaluated on that
// thread treat their parameters as constants: a weight-normalised convolution
// computes its effective weight once (again only when a parameter changes),
// and no autograd graph is recorded for the parameters. Gradients with respect
// to the state and the input are unaffected. Solves hold one; the training
// step that needs parameter gradients runs outside it. Guards nest.
class FrozenParameters {
public:
    FrozenParameters();
    ~FrozenParameters();
    FrozenParameters(const FrozenParameters&) = delete;
    FrozenParameters& operator=(const FrozenParameters&) = delete;

    static bool active();
};

// The parameter as a constant while parameters are frozen, else itself.
torch::Tensor parameterValue(const torch::Tensor& parameter);

} // namespace jiio
