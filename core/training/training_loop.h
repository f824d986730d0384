#pragma once
#include "models/checkpoint.h"
#include "training/trainer.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace jiio {

// Where a run stands: what a checkpoint saves and a resumed run continues.
struct TrainingCounters {
    int step = 0;
    int steps = 0;
    double seconds = 0; // over every session of the run
    double bestScore = std::nan("");
    int bestStep = 0;
};

// What the loop asks of a trainer whose validation is an accuracy. A step is
// two calls, so that a data-parallel run can average the gradients between
// them: the first computes this rank's gradients and returns its loss, the
// second (given the loss, averaged over the ranks) clips, sets the rate and
// updates, skipping a non-finite step alike on every rank.
struct TrainingHooks {
    std::function<double()> computeGradients;
    std::function<void(double loss)> applyGradients;
    std::vector<torch::Tensor> parameters;  // averaged and broadcast across ranks
    std::shared_ptr<DataParallel> parallel; // null: one process
    std::string run; // the recipe every rank must agree on (options and seed, as text)
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
// keeps the best model, checkpoints periodically and at the end. In a
// data-parallel run the ranks start from rank 0's parameters, stop together
// when any of them is asked to, and only rank 0 validates, logs and writes.
TrainingProgress runTrainingLoop(TrainingCounters& counters, const TrainingHooks& hooks, TrainingObserver& observer);

// The loop's hooks for a trainer built the usual way (ClassifierTrainer,
// MetaTrainer; each names this a friend): its model, Adam optimiser,
// options, counters, data-parallel run and checkpoint path.
template <class AccuracyTrainer>
TrainingHooks accuracyTrainerHooks(AccuracyTrainer& trainer)
{
    TrainingHooks hooks;
    hooks.computeGradients = [&trainer] { return trainer.computeGradients(); };
    hooks.applyGradients = [&trainer](double loss) { trainer.applyGradients(loss); };
    hooks.parameters = trainer.model_->parameters();
    hooks.parallel = trainer.parallel_;
    hooks.run = trainer.options_.toText();
    hooks.skippedSteps = [&trainer] { return trainer.skippedSteps_; };
    hooks.validate = [&trainer] { return trainer.validate(); };
    hooks.saveBest = [&trainer] {
        trainer.stampProvenance();
        saveModel(trainer.bestModelPath(), trainer.model_);
    };
    hooks.saveCheckpoint = [&trainer] { trainer.saveCheckpoint(); };
    hooks.adjointResidual = [&trainer] { return trainer.lastAdjointResidual_; };
    hooks.learningRate = [&trainer] { return trainer.optimizer_->param_groups().front().options().get_lr(); };
    hooks.validateEvery = trainer.options_.validateEvery;
    hooks.checkpointEvery = trainer.options_.checkpointEvery;
    hooks.checkpointPath = trainer.checkpointPath_;
    return hooks;
}

// "<stem>-best<ext>" beside a checkpoint.
std::string bestModelPathFor(const std::string& checkpointPath);

} // namespace jiio
