#pragma once
#include "widgets/convergence_plot.h"

#include "core/tasks/meta/episodes.h"

#include <QObject>
#include <QString>
#include <QVector>

#include <atomic>
#include <memory>

namespace jiio {
struct LoadedModel;
}

namespace jiio::workbench {

// One adaptation of a few-shot model's task vector to an episode's support
// set, as values copied into the worker.
struct FewShotJob {
    Episode episode;
    QString method = "jiio-anderson"; // "jiio-anderson" or "naive-gd"
    int iterations = 20;              // JIIO iterations or naive steps
    int threads = 0;                  // 0: all cores
};

// What an adaptation ended with: the query images' predicted slots before
// (at the model's v0) and after adapting, and what it cost.
struct FewShotOutcome {
    QString method;
    QVector<int> before, after; // one predicted slot per query image
    double accuracyBefore = 0, accuracyAfter = 0; // percent
    double seconds = 0;
    qint64 functionEvaluations = 0;
    int iterations = 0;
    double objective = 0; // the inner objective at the end (support CE + proximal term)
    QString stopReason;
};

// Adapts in its own thread; the inner solve's statistics go out at every
// iteration as queued signals.
class FewShotWorker : public QObject {
    Q_OBJECT
public:
    explicit FewShotWorker(std::shared_ptr<LoadedModel> model, QObject* parent = nullptr);
    ~FewShotWorker() override;
    void requestStop() { stop_ = true; }
    // Called by the view before it queues a job, never by the job itself: a
    // Stop pressed after the request but before the job began still counts.
    void clearStopRequest() { stop_ = false; }

public Q_SLOTS:
    void adapt(const jiio::workbench::FewShotJob& job);
    // JIIO, then the naive loop at the same budget, each announced by runStarted.
    void compare(const jiio::workbench::FewShotJob& job);

Q_SIGNALS:
    void runStarted(const QString& method);
    void iteration(const jiio::widgets::ConvergencePoint& point);
    void finished(const jiio::workbench::FewShotOutcome& outcome);
    void failed(const QString& message);
    void compareFinished();

private:
    FewShotOutcome runOne(const FewShotJob& job);

    std::shared_ptr<LoadedModel> model_;
    std::atomic<bool> stop_{false};
};

} // namespace jiio::workbench

Q_DECLARE_METATYPE(jiio::workbench::FewShotJob)
Q_DECLARE_METATYPE(jiio::workbench::FewShotOutcome)
