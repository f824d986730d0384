#pragma once
#include "core/stop_signals.h"
#include "core/training/data_parallel.h"
#include "core/training/trainer.h"

#include <cmath>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>

namespace jiio::cli {

// Ranks other than 0 of a data-parallel run train quietly: rank 0 reports.
class QuietRank final : public TrainingObserver {
public:
    void onProgress(const TrainingProgress&) override {}
    bool stopRequested() const override { return stopSignalReceived() != 0; }
};

// Whether this process reports: alone, or rank 0 of a data-parallel run.
inline bool reportsProgress(const std::shared_ptr<DataParallel>& parallel)
{
    return !parallel || parallel->isLeader();
}

// After a run: when it stopped before its budget (a signal to this process,
// or another process of a data-parallel run was stopped, which stops them
// all), says so and where the checkpoint is, and returns the exit status:
// the signal's, or 1. Returns 0 when the run went to its end.
inline int reportStop(const std::string& output, int step, int steps)
{
    const int signal = stopSignalReceived();
    if (signal == 0 && step >= steps)
        return 0;
    const char* why = signal == SIGINT    ? "by SIGINT"
                      : signal == SIGTERM ? "by SIGTERM"
                                          : "because another training process of the run was stopped";
    std::fprintf(stderr, "\nstopped %s after step %d; checkpoint written to %s (continue with: jiio train --output %s "
                         "--resume)\n",
                 why, step, output.c_str(), output.c_str());
    return signal != 0 ? exitStatusForSignal(signal) : 1;
}

// Runs a rank that reports nothing (any trainer); its exit status is
// reportStop's: the signal's, 1 when another rank's stop ended it early.
template <class AnyTrainer>
int runQuietRank(AnyTrainer& trainer)
{
    QuietRank quiet;
    const auto last = trainer.run(quiet);
    const int signal = stopSignalReceived();
    return signal != 0 ? exitStatusForSignal(signal) : last.step < trainer.options().steps ? 1 : 0;
}

// Runs an accuracy-validated trainer (classifier or few-shot) on `device`,
// alone or as one rank of `parallel`, to its end or to Ctrl-C / SIGTERM, then
// says where the model and the best one are. Returns the exit status.
template <class AccuracyTrainer>
int runTrainerToEnd(AccuracyTrainer& trainer, const torch::Device& device,
                    const std::shared_ptr<DataParallel>& parallel, const std::string& output,
                    TrainingObserver& progress)
{
    trainer.placeOn(device);
    trainer.useDataParallel(parallel);
    installStopSignalHandlers();
    if (!reportsProgress(parallel))
        return runQuietRank(trainer);
    const auto last = trainer.run(progress);
    if (const int status = reportStop(output, last.step, trainer.options().steps))
        return status;
    std::printf("\ntrained %d steps in %.0f s; model written to %s\n", trainer.step(), trainer.trainingSeconds(),
                output.c_str());
    if (std::isfinite(trainer.bestValidationAccuracy()))
        std::printf("best validation accuracy %.2f %% at step %d; that model is in %s\n",
                    trainer.bestValidationAccuracy(), trainer.bestStep(), trainer.bestModelPath().c_str());
    return 0;
}

} // namespace jiio::cli
