#include "tasks/meta/task_objective.h"

#include "error.h"

namespace jiio {

TaskObjective::TaskObjective(torch::Tensor labels, int ways, double lambda, torch::Tensor v0, int64_t groupSize)
    : labels_(std::move(labels)), ways_(ways), lambda_(lambda), v0_(std::move(v0)), groupSize_(groupSize)
{
    if (groupSize_ < 1 || labels_.size(0) % groupSize_ != 0)
        throw Error("the support rows do not split into episodes of equal size");
    if (lambda_ < 0)
        throw Error("the proximal weight must not be negative");
}

torch::Tensor TaskObjective::perSample(const torch::Tensor& logits, const torch::Tensor& input) const
{
    const auto fit = torch::nn::functional::cross_entropy(
        logits.narrow(1, 0, ways_), labels_,
        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
    return fit + 0.5 * lambda_ * (input - v0_).square().sum(1);
}

torch::Tensor TaskObjective::perEpisode(const torch::Tensor& rowValues) const
{
    return rowValues.view({-1, groupSize_}).mean(1);
}

torch::Tensor TaskObjective::episodeVectors(const torch::Tensor& rows) const
{
    return rows.view({-1, groupSize_, rows.size(1)}).mean(1);
}

torch::Tensor TaskObjective::rowsOf(const torch::Tensor& vectors) const
{
    return vectors.repeat_interleave(groupSize_, 0);
}

torch::Tensor TaskObjective::project(const torch::Tensor& input) const
{
    return rowsOf(episodeVectors(input));
}

} // namespace jiio
