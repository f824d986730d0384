#pragma once
#include "training/trainer.h"

#include <functional>
#include <string>

namespace jiio {

// Where a run stands: what a checkpoint saves and a resumed run continues.
struct TrainingCounters {
    int step = 0;
    int steps = 0;
    double seconds = 0; // over every session of the run
    double bestScore = std::nan("");
    int bestStep = 0;
};

// What the loop asks of a trainer whose validation is an accuracy.
struct TrainingHooks {
    std::function<double()> step;           // one step; its loss
    std::function<double()> validate;       // accuracy in percent, higher is better
    std::function<void()> saveBest;         // the model at a new best validation
    std::function<void()> saveCheckpoint;
    std::function<double()> adjointResidual; // of the last step
    std::function<double()> learningRate;
    std::function<int()> skippedSteps; // optional: updates skipped for a non-finite loss
    // The checkpoint; the run's log (TrainingLog) goes beside it.
    int validateEvery = 0;
    int checkpointEvery = 0;
    std::string checkpointPath;
};

// Steps until the budget or a stop request; times the run, validates and
// keeps the best model, checkpoints periodically and at the end.
TrainingProgress runTrainingLoop(TrainingCounters& counters, const TrainingHooks& hooks, TrainingObserver& observer);

// "<stem>-best<ext>" beside a checkpoint.
std::string bestModelPathFor(const std::string& checkpointPath);

} // namespace jiio
