#include "models/frozen_parameters.h"

namespace jiio {

namespace {
thread_local int frozenDepth = 0;
} // namespace

FrozenParameters::FrozenParameters()
{
    ++frozenDepth;
}

FrozenParameters::~FrozenParameters()
{
    --frozenDepth;
}

bool FrozenParameters::active()
{
    return frozenDepth > 0;
}

torch::Tensor parameterValue(const torch::Tensor& parameter)
{
    return FrozenParameters::active() ? parameter.detach() : parameter;
}

} // namespace jiio
