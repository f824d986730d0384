#pragma once
#include "jiio/objective.h"

namespace jiio {

// The inner problem of few-shot adaptation, for a batch of episodes of
// `groupSize` support images each, stored one image per row: per row
//   CE(logits_i[:ways], y_i) + (lambda / 2) |x_i - v0|^2,
// whose mean over an episode's rows is the episode's objective
//   G(v) = mean_i CE_i + (lambda / 2) |v - v0|^2
// when every row of the episode holds its task vector v. project() keeps them
// so: it replaces each row by its episode's mean, the projection onto
// "one vector per episode". A gradient step on the rows followed by the
// projection is then exactly a gradient step on v.
class TaskObjective final : public Objective {
public:
    // labels [E * groupSize] in [0, ways); v0 [d].
    TaskObjective(torch::Tensor labels, int ways, double lambda, torch::Tensor v0, int64_t groupSize);

    torch::Tensor perSample(const torch::Tensor& logits, const torch::Tensor& input) const override;
    int64_t batchSize() const override { return labels_.size(0); }
    torch::TensorOptions tensorOptions() const override { return v0_.options(); }
    torch::Tensor project(const torch::Tensor& input) const override;

    // Per episode [E]: the mean of perSample over its rows.
    torch::Tensor perEpisode(const torch::Tensor& rowValues) const;
    // Rows [E * groupSize, d] -> one task vector per episode [E, d] (row mean).
    torch::Tensor episodeVectors(const torch::Tensor& rows) const;
    // One task vector per episode [E, d] -> rows [E * groupSize, d].
    torch::Tensor rowsOf(const torch::Tensor& vectors) const;
    int64_t groupSize() const { return groupSize_; }

private:
    torch::Tensor labels_;
    int ways_;
    double lambda_;
    torch::Tensor v0_;
    int64_t groupSize_;
};

} // namespace jiio
