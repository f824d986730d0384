#include "tasks/adversarial/attack_objective.h"

#include "error.h"

namespace jiio {

AttackObjective::AttackObjective(torch::Tensor images, torch::Tensor labels)
    : images_(std::move(images)), labels_(std::move(labels))
{
    if (images_.dim() != 4 || labels_.dim() != 1 || labels_.size(0) != images_.size(0))
        throw Error("an attack needs images [B, C, H, W] and one label per image");
    cleanFlat_ = images_.permute({0, 2, 3, 1}).reshape({images_.size(0), -1});
}

torch::Tensor AttackObjective::perSample(const torch::Tensor& logits, const torch::Tensor& /*perturbation*/) const
{
    return -torch::nn::functional::cross_entropy(
        logits, labels_, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
}

torch::Tensor AttackObjective::project(const torch::Tensor& perturbation) const
{
    // The interval holds 0, so clamping never lengthens x: a point of the norm
    // ball stays in it.
    return torch::max(torch::min(perturbation, 1.0 - cleanFlat_), -cleanFlat_);
}

torch::Tensor AttackObjective::perturbationImage(const torch::Tensor& perturbation) const
{
    return perturbation.view({images_.size(0), images_.size(2), images_.size(3), images_.size(1)})
        .permute({0, 3, 1, 2})
        .contiguous();
}

torch::Tensor AttackObjective::perturbedImages(const torch::Tensor& perturbation) const
{
    return (images_ + perturbationImage(perturbation)).clamp(0, 1);
}

StateLayout classifierLayout(const DeqModel& model, const torch::Tensor& images)
{
    if (model->config().kind != ModelKind::Classifier)
        throw Error("this is a " + toString(model->config().kind) + " model, not a classifier");
    if (images.size(1) != model->config().imageChannels || images.size(2) != model->config().imageSize
        || images.size(3) != model->config().imageSize)
        throw Error("the classifier takes " + std::to_string(model->config().imageChannels) + "-channel "
                    + std::to_string(model->config().imageSize) + "x" + std::to_string(model->config().imageSize)
                    + " images");
    return model->layout(images.size(2), images.size(3), images);
}

} // namespace jiio
