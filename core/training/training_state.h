#pragma once
#include "models/deq_model.h"
#include "torch_include.h"

#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace jiio {

// What a checkpoint holds beside the model so that a run continues exactly
// where it stopped: the optimiser, the step, the recipe, both random streams
// and the best validation score so far. Shared by every trainer.
struct TrainingState {
    int step = 0;
    std::string optionsText;
    double bestScore = std::nan(""); // validation PSNR or accuracy, whichever the trainer keeps
    int bestStep = 0;
    double seconds = 0; // training wall time so far, over every session of the run
};

// Writes the state, the optimiser, `random` and torch's CPU generator.
void writeTrainingState(torch::serialize::OutputArchive& archive, const TrainingState& state,
                        torch::optim::Optimizer& optimizer, const std::mt19937_64& random);

// Reads what writeTrainingState wrote. The optimiser's archive is returned to
// be loaded once the optimiser exists, and torch's generator state to be put
// back (restoreTorchRandom) once the trainer has been constructed, since
// constructing one seeds it. Throws jiio::Error naming `path` when the
// archive holds no training state.
struct ReadTrainingState {
    TrainingState state;
    torch::serialize::InputArchive optimizer;
    std::mt19937_64 random;
    torch::Tensor torchRandom;
    void restoreTorchRandom() const;
};
ReadTrainingState readTrainingState(torch::serialize::InputArchive& archive, const std::string& path);

// Moves a run to `device`: the model (checked as parseDevice does) and the
// optimiser's state, which Module::to leaves where it was (Adam's moments
// would otherwise stay on the CPU beside parameters on a GPU).
void placeTraining(DeqModel& model, torch::optim::Optimizer& optimizer, const torch::Device& device);

// The "key = number" lines of a trainer's options text, as a map. Throws
// jiio::Error naming a key whose value is not a number.
std::map<std::string, double> readOptionNumbers(const std::string& text);

// The cosine-annealed rate at `step` of `steps`, from `peak` down to zero.
double cosineLearningRate(double peak, int step, int steps);
void setLearningRate(torch::optim::Adam& optimizer, double rate);

// Clips the gradients' global norm to `clip`, sets the rate and steps Adam,
// unless the loss or the norm is not finite (a diverged solve must not poison
// the parameters and Adam's moments). Returns whether it stepped.
bool clippedAdamStep(torch::optim::Adam& optimizer, const std::vector<torch::Tensor>& parameters, double clip,
                     double rate, double loss);

} // namespace jiio
