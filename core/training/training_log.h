#pragma once
#include "training/trainer.h"

#include <cstdio>
#include <string>
#include <vector>

namespace jiio {

// One step of a run as its log holds it.
struct TrainingLogRow {
    int step = 0;
    double loss = 0;
    double learningRate = 0;
    double validation = std::nan(""); // PSNR in dB or accuracy in percent, on validated steps
    double adjointResidual = std::nan("");
    double seconds = 0; // wall time of the run so far, over every session
    int skippedSteps = 0;
};

// A run's curve on disk, "<checkpoint stem>.log.csv" beside its checkpoint:
// a CSV header naming the validation metric, then a row per step. A new run
// starts the file afresh; a resumed run keeps the rows up to the step its
// checkpoint holds (later ones belong to steps it will redo) and appends, so
// the curve of a run stopped and resumed any number of times is whole.
class TrainingLog {
public:
    // validationMetric: "validation_psnr_db" or "validation_accuracy_percent".
    TrainingLog(const std::string& checkpointPath, int step, const std::string& validationMetric);
    ~TrainingLog();
    TrainingLog(const TrainingLog&) = delete;
    TrainingLog& operator=(const TrainingLog&) = delete;

    // Appends a row; wall time counts on from the rows kept at opening.
    void append(const TrainingProgress& progress, double sessionSeconds, int skippedSteps);
    // Wall time of the run before this session (the last kept row's).
    double secondsBefore() const { return secondsBefore_; }
    const std::string& path() const { return path_; }

    static std::string pathFor(const std::string& checkpointPath);
    // The rows of a log file and its validation metric's column name. Throws
    // jiio::Error when the file cannot be read or is not a training log.
    static std::vector<TrainingLogRow> read(const std::string& path, std::string* validationMetric = nullptr);

private:
    std::string path_;
    std::FILE* file_ = nullptr;
    double secondsBefore_ = 0;
};

} // namespace jiio
