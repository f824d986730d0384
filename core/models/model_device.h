#pragma once
#include "models/deq_model.h"

#include <string>

namespace jiio {

// Where a command computes: "cpu", "cuda" (the first GPU) or "cuda:N".
// Throws jiio::Error with a sentence a user can act on when the text names no
// device, or a GPU that this LibTorch build or this machine does not have.
torch::Device parseDevice(const std::string& text);

// Solves and training run where the model lives: moves its parameters to the
// device when they are elsewhere. The device is checked as parseDevice does.
void placeModel(DeqModel& model, const torch::Device& device);

// Where the model's parameters are.
torch::Device modelDevice(const DeqModel& model);

// Standard normal noise shaped like `like` and on its device, drawn from the
// CPU generator: the one training checkpoints save, so that a run resumes
// exactly and draws the same numbers on any device.
torch::Tensor randnLikeFromCpu(const torch::Tensor& like);

} // namespace jiio
