#include "jiio/input_optimization.h"

#include "error.h"

namespace jiio {

std::string toString(InputMethod method)
{
    switch (method) {
    case InputMethod::JiioAnderson:
        return "jiio-anderson";
    case InputMethod::JiioPicard:
        return "jiio-picard";
    case InputMethod::NaiveAdam:
        return "naive-adam";
    case InputMethod::NaiveGradientDescent:
        return "naive-gd";
    }
    return "unknown";
}

InputMethod inputMethodFromString(const std::string& text)
{
    for (auto method : {InputMethod::JiioAnderson, InputMethod::JiioPicard, InputMethod::NaiveAdam,
                        InputMethod::NaiveGradientDescent})
        if (toString(method) == text)
            return method;
    throw Error("unknown solver '" + text + "' (expected jiio-anderson, jiio-picard, naive-adam or naive-gd)");
}

void SolveSettings::setBudget(int iterations)
{
    if (iterations < 1)
        throw Error("the iteration budget must be at least 1");
    jiio.maxIterations = iterations;
    naive.steps = iterations;
}

void SolveSettings::setTolerance(double tolerance)
{
    if (!(tolerance > 0))
        throw Error("the tolerance must be positive");
    jiio.tolerance = tolerance;
    naive.forward.tolerance = tolerance;
    naive.adjoint.tolerance = tolerance;
}

InputOptimizationResult optimizeInput(DeqModel& model, const StateLayout& layout, const Objective& objective,
                                      const SolveSettings& settings, SolveObserver& observer, const torch::Tensor& x0)
{
    switch (settings.method) {
    case InputMethod::JiioAnderson: {
        JiioOptions options = settings.jiio;
        options.method = FixedPointMethod::Anderson;
        return runJiio(model, layout, objective, options, observer, x0);
    }
    case InputMethod::JiioPicard: {
        JiioOptions options = settings.jiio;
        options.method = FixedPointMethod::Picard;
        return runJiio(model, layout, objective, options, observer, x0);
    }
    case InputMethod::NaiveAdam: {
        NaiveOptions options = settings.naive;
        options.optimizer = NaiveOptimizer::Adam;
        return runNaive(model, layout, objective, options, observer, x0);
    }
    case InputMethod::NaiveGradientDescent: {
        NaiveOptions options = settings.naive;
        options.optimizer = NaiveOptimizer::GradientDescent;
        return runNaive(model, layout, objective, options, observer, x0);
    }
    }
    throw Error("unknown solver");
}

} // namespace jiio
