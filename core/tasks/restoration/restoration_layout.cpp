#include "tasks/restoration/restoration_layout.h"

#include "tasks/restoration/biharmonic_fill.h"
#include "tasks/restoration/push_pull_fill.h"

namespace jiio {

namespace {

torch::Tensor knownPixels(const RestorationObjective& objective)
{
    const torch::Tensor& target = objective.target();
    return objective.knownMask().defined()
        ? objective.knownMask().expand({target.size(0), 1, target.size(2), target.size(3)})
        : torch::ones({target.size(0), 1, target.size(2), target.size(3)}, target.options());
}

// The noise level in the model's units (images span [-1, 1]).
double noiseLevel(const RestorationObjective& objective) { return 2.0 * objective.sigma() / 255.0; }

} // namespace

torch::Tensor observationConditioning(const RestorationObjective& objective)
{
    const auto known = knownPixels(objective);
    // Holes are pre-filled by push-pull so the cell starts from a sensible
    // image everywhere (and the readout corrects it); the mask says where.
    return torch::cat({pushPullFill(objective.target(), known), known, noiseLevel(objective) * known}, 1);
}

torch::Tensor priorConditioning(const RestorationObjective& objective)
{
    const auto known = knownPixels(objective);
    return torch::cat({known, noiseLevel(objective) * known}, 1);
}

StateLayout restorationLayout(const DeqModel& model, const RestorationObjective& objective)
{
    const torch::Tensor& target = objective.target();
    if (model->conditioningChannels() == 0)
        return model->layout(target.size(2), target.size(3));
    TORCH_CHECK(target.size(1) == model->config().imageChannels, "the model expects ",
                model->config().imageChannels, "-channel images, the objective has ", target.size(1));
    const auto conditioning =
        model->config().priorConditioning ? priorConditioning(objective) : observationConditioning(objective);
    return model->layout(target.size(2), target.size(3), conditioning);
}

torch::Tensor restorationStart(const DeqModel& model, const RestorationObjective& objective)
{
    if (!model->config().imageInput)
        return {};
    const torch::Tensor& target = objective.target();
    // Inpainting starts from the best classical fill, so the input step
    // refines what a user would otherwise get rather than a blur.
    auto start = objective.knownMask().defined() ? biharmonicFill(target, objective.knownMask()) : target;
    return objective.project(start.permute({0, 2, 3, 1}).reshape({target.size(0), -1}));
}

} // namespace jiio
