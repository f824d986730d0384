#pragma once
#include "core/stop_signals.h"
#include "core/training/data_parallel.h"
#include "core/training/trainer.h"

#include <cmath>
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

// Runs an accuracy-validated trainer (classifier or few-shot), alone or as
// one rank of `parallel`, to its end or to Ctrl-C / SIGTERM, then says where
// the model and the best one are. Returns the exit status.
template <class AccuracyTrainer>
int runTrainerToEnd(AccuracyTrainer& trainer, const std::shared_ptr<DataParallel>& parallel,
                    const std::string& output, TrainingObserver& progress)
{
    trainer.useDataParallel(parallel);
    installStopSignalHandlers();
    if (!reportsProgress(parallel)) {
        QuietRank quiet;
        trainer.run(quiet);
        const int signal = stopSignalReceived();
        return signal != 0 ? exitStatusForSignal(signal) : 0;
    }
    const auto last = trainer.run(progress);
    if (const int signal = stopSignalReceived()) {
        std::fprintf(stderr, "\nstopped after step %d; checkpoint written to %s (continue with: jiio train --output %s "
                             "--resume)\n",
                     last.step, output.c_str(), output.c_str());
        return exitStatusForSignal(signal);
    }
    std::printf("\ntrained %d steps in %.0f s; model written to %s\n", trainer.step(), trainer.trainingSeconds(),
                output.c_str());
    if (std::isfinite(trainer.bestValidationAccuracy()))
        std::printf("best validation accuracy %.2f %% at step %d; that model is in %s\n",
                    trainer.bestValidationAccuracy(), trainer.bestStep(), trainer.bestModelPath().c_str());
    return 0;
}

} // namespace jiio::cli
