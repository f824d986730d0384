#include "jiio/solve_defaults.h"

namespace jiio {

namespace {
constexpr double kImagePriorTolerance = 3e-2;
constexpr int kImagePriorBudgetFactor = 5;
} // namespace

SolveDefaults solveDefaults(const ModelConfig& config, InputMethod method)
{
    const bool jiio = method == InputMethod::JiioAnderson || method == InputMethod::JiioPicard;
    if (jiio && config.imageInput)
        return {kImagePriorBudgetFactor * config.jiioIterations, kImagePriorTolerance};
    return {config.jiioIterations, JiioOptions{}.tolerance};
}

} // namespace jiio
