#pragma once
#include "models/deq_model.h"

#include <string>

namespace jiio {

// A model rebuilt from a checkpoint file alone.
struct LoadedModel {
    ModelConfig config;
    DeqModel model{nullptr};
    std::string path;
};

// Writes the model's configuration and parameters atomically (temporary file,
// then rename). Extra archives (optimiser state, training progress) may be
// added by the caller through `extra`.
void saveModel(const std::string& path, DeqModel& model,
               const std::function<void(torch::serialize::OutputArchive&)>& extra = {});

// Reads a checkpoint; throws jiio::Error with a clear sentence when the file
// is missing, corrupt, not a JIIO model, or inconsistent with its config.
LoadedModel loadModel(const std::string& path,
                      const std::function<void(torch::serialize::InputArchive&)>& extra = {});

// Reads a model to train further (`jiio train --init`). A model that was
// trained already keeps its architecture and weights, but notes that describe
// that run alone (its command, best step, validation score, card) are dropped,
// and `fine_tuned_from` names the file and how it was trained, so a fine-tune
// never carries its starting point's results as its own.
DeqModel loadModelToFineTune(const std::string& path);

// Copies into `model` every parameter of `source` with the same name and
// shape (a warm start for a grown design, such as a prior given conditioning
// maps); the others keep their values. Returns how many tensors were copied.
int copyMatchingParameters(DeqModel& model, const DeqModel& source);

// Reads only the configuration (for `jiio info` and model pickers).
ModelConfig readModelConfig(const std::string& path);

} // namespace jiio
