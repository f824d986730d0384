#pragma once
#include "core/stop_signals.h"
#include "core/training/trainer.h"

#include <cmath>
#include <cstdio>
#include <string>

namespace jiio::cli {

// Runs an accuracy-validated trainer (classifier or few-shot) to its end or
// to Ctrl-C / SIGTERM, then says where the model and the best one are.
// Returns the exit status.
template <class AccuracyTrainer>
int runTrainerToEnd(AccuracyTrainer& trainer, const std::string& output, TrainingObserver& progress)
{
    installStopSignalHandlers();
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
