#pragma once
#include "jiio/objective.h"
#include "models/deq_model.h"

namespace jiio {

// An attack on a classifier as input optimisation over the perturbation x of
// clean images: minimise -cross-entropy(logits, true class), i.e. push the
// loss up, with image + x kept in the pixel range [0, 1] by project(). The
// norm ball is the solvers' constraint (InputConstraint), applied before it.
class AttackObjective final : public Objective {
public:
    // images [B, C, S, S] in [0, 1]; labels [B] int64.
    AttackObjective(torch::Tensor images, torch::Tensor labels);

    torch::Tensor perSample(const torch::Tensor& logits, const torch::Tensor& perturbation) const override;
    int64_t batchSize() const override { return images_.size(0); }
    torch::TensorOptions tensorOptions() const override { return images_.options(); }
    torch::Tensor project(const torch::Tensor& perturbation) const override;

    const torch::Tensor& images() const { return images_; }
    const torch::Tensor& labels() const { return labels_; }
    // The perturbation as images [B, C, S, S], and the perturbed images.
    torch::Tensor perturbationImage(const torch::Tensor& perturbation) const;
    torch::Tensor perturbedImages(const torch::Tensor& perturbation) const;

private:
    torch::Tensor images_, labels_;
    torch::Tensor cleanFlat_; // the images as the flat channels-last input the model holds
};

// The classifier's layout for a batch of clean images.
StateLayout classifierLayout(const DeqModel& model, const torch::Tensor& images);

} // namespace jiio
