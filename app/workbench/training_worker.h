#pragma once
#include "core/models/model_config.h"

#include <QImage>
#include <QMetaType>
#include <QObject>
#include <QPair>
#include <QString>
#include <QVector>

#include <atomic>
#include <cmath>

namespace jiio::workbench {

// A training run as plain values, copied into the worker.
struct TrainingJob {
    QString checkpointPath;     // written periodically and at the end
    QString resumeFrom;         // non-empty: continue this checkpoint's run (other fields ignored)
    QString kind = "restoration"; // or "generative"
    QString data;               // "" (the kind's default), "fashion-mnist" or an image folder
    int channels = 3;           // restoration models
    int width = 16;             // hidden channels at full resolution
    int latentChannels = 8;
    int jiioIterations = ModelConfig::newModel(ModelKind::Restoration).jiioIterations;
    int batchSize = 6;
    int patchSize = 64;
    int steps = 1000;
    double learningRate = 1e-3;
    double inpaintFraction = 0.5; // task mix of restoration models
    int validateEvery = 50;
    int checkpointEvery = 50;
    int seed = 0;
    QString device = "cpu";     // where it computes: "cpu", "cuda" or "cuda:N" (the solver settings' choice)
};

struct TrainingStatus {
    int step = 0;
    int steps = 0;
    double loss = 0;
    double learningRate = 0;
    double stepsPerSecond = 0;
    double etaSeconds = 0;
    double validationPsnr = std::nan("");
    QVector<QPair<QString, double>> validationParts; // per corruption (name, dB), when validated
};

// Runs the core trainer in its own thread. Progress, sample grids and
// checkpoints go out as queued signals; requestStop() may be called from any
// thread and takes effect after the current step (a checkpoint is written).
class TrainingWorker : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;
    void requestStop() { stop_ = true; }
    // Called by the view before it queues a job, never by the job itself: a
    // Stop pressed after the request but before the job began still counts.
    void clearStopRequest() { stop_ = false; }

public Q_SLOTS:
    void train(const jiio::workbench::TrainingJob& job);

Q_SIGNALS:
    void started(const QString& description);
    void progress(const jiio::workbench::TrainingStatus& status);
    // Validation images: columns input / reconstruction / target.
    void samples(const QImage& grid, int step);
    void checkpointWritten(const QString& path, int step);
    void finished(const QString& checkpointPath, const QString& summary);
    void failed(const QString& message);

private:
    std::atomic<bool> stop_{false};
};

} // namespace jiio::workbench

Q_DECLARE_METATYPE(jiio::workbench::TrainingJob)
Q_DECLARE_METATYPE(jiio::workbench::TrainingStatus)
