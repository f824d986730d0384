#include "training/training_loop.h"

#include "training/data_parallel.h"
#include "training/training_log.h"

#include <chrono>
#include <filesystem>
#include <optional>

namespace jiio {

TrainingProgress runTrainingLoop(TrainingCounters& counters, const TrainingHooks& hooks, TrainingObserver& observer)
{
    TrainingProgress progress;
    progress.steps = counters.steps;
    progress.step = counters.step;
    const auto start = std::chrono::steady_clock::now();
    const double secondsBefore = counters.seconds;
    const int firstStep = counters.step;
    const auto& parallel = hooks.parallel;
    const bool leader = !parallel || parallel->isLeader();
    if (parallel)
        parallel->startRun(hooks.run, counters.step, hooks.parameters);
    std::optional<TrainingLog> log;
    if (leader)
        log.emplace(hooks.checkpointPath, counters.step, "validation_accuracy_percent");
    bool stopAgreed = false;
    auto stopping = [&] { return parallel ? stopAgreed : observer.stopRequested(); };
    while (counters.step < counters.steps && !stopping()) {
        double loss = hooks.computeGradients();
        if (parallel) {
            const auto agreed = parallel->averageGradients(hooks.parameters, loss, observer.stopRequested());
            loss = agreed.meanLoss;
            stopAgreed = agreed.stop;
        }
        hooks.applyGradients(loss);
        progress.loss = loss;
        ++counters.step;
        progress.adjointResidual = hooks.adjointResidual();
        progress.step = counters.step;
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        counters.seconds = secondsBefore + elapsed;
        progress.stepsPerSecond = (counters.step - firstStep) / std::max(elapsed, 1e-9);
        progress.etaSeconds = (counters.steps - counters.step) / std::max(progress.stepsPerSecond, 1e-9);
        progress.learningRate = hooks.learningRate();
        progress.validationAccuracy = std::nan("");
        if (leader && hooks.validateEvery > 0
            && (counters.step % hooks.validateEvery == 0 || counters.step == counters.steps)) {
            progress.validationAccuracy = hooks.validate();
            if (!std::isfinite(counters.bestScore) || progress.validationAccuracy > counters.bestScore) {
                counters.bestScore = progress.validationAccuracy;
                counters.bestStep = counters.step;
                hooks.saveBest();
            }
        }
        if (log)
            log->append(progress, elapsed, hooks.skippedSteps ? hooks.skippedSteps() : 0);
        observer.onProgress(progress);
        if (leader && hooks.checkpointEvery > 0 && counters.step % hooks.checkpointEvery == 0
            && counters.step < counters.steps) {
            hooks.saveCheckpoint();
            observer.onCheckpoint(counters.step, hooks.checkpointPath);
        }
    }
    if (leader) {
        hooks.saveCheckpoint();
        observer.onCheckpoint(counters.step, hooks.checkpointPath);
    }
    return progress;
}

std::string bestModelPathFor(const std::string& checkpointPath)
{
    const std::filesystem::path checkpoint(checkpointPath);
    return (checkpoint.parent_path() / (checkpoint.stem().string() + "-best" + checkpoint.extension().string()))
        .string();
}

} // namespace jiio
