#pragma once
#include "widgets/convergence_plot.h"

#include <QImage>
#include <QObject>
#include <QVector>

#include <opencv2/core.hpp>

#include <atomic>
#include <memory>

namespace jiio {
struct LoadedModel;
}

namespace jiio::workbench {

// One attack on one image, as plain values copied into the worker.
struct AttackJob {
    cv::Mat image;            // float [0, 1], the classifier's channels and size
    int label = -1;           // the true class; -1: the class of the clean image
    QString norm = "linf";    // "linf" or "l2"
    double eps = 0.1;
    QString solver = "jiio-picard"; // "jiio-picard", "jiio-anderson" or "pgd"
    int iterations = 40;
    int threads = 0;          // 0: all cores
};

// What an attack ended with.
struct AttackOutcome {
    QString solver;
    int label = 0;
    int cleanClass = 0, adversarialClass = 0;
    QVector<double> cleanProbabilities, adversarialProbabilities;
    QImage adversarial, perturbation; // the perturbation amplified to fill [0, 1]
    double seconds = 0;
    qint64 functionEvaluations = 0;
};

// Attacks a classifier in its own thread; statistics, class probabilities and
// the current adversarial image go out at every iteration as queued signals.
class AttackWorker : public QObject {
    Q_OBJECT
public:
    explicit AttackWorker(std::shared_ptr<LoadedModel> model, QObject* parent = nullptr);
    ~AttackWorker() override;
    void requestStop() { stop_ = true; }
    // Called by the view before it queues a job, never by the job itself: a
    // Stop pressed after the request but before the job began still counts.
    void clearStopRequest() { stop_ = false; }

public Q_SLOTS:
    void attack(const jiio::workbench::AttackJob& job);
    // JIIO and PGD in turn on the same image, each announced by runStarted.
    void compare(const jiio::workbench::AttackJob& job);

Q_SIGNALS:
    void runStarted(const QString& solver);
    void iteration(const jiio::widgets::ConvergencePoint& point);
    void probabilities(const QVector<double>& values);
    void preview(const QImage& adversarial, const QImage& perturbation);
    void finished(const jiio::workbench::AttackOutcome& outcome);
    void failed(const QString& message);
    void compareFinished();

private:
    AttackOutcome runOne(const AttackJob& job);

    std::shared_ptr<LoadedModel> model_;
    std::atomic<bool> stop_{false};
};

} // namespace jiio::workbench

Q_DECLARE_METATYPE(jiio::workbench::AttackJob)
Q_DECLARE_METATYPE(jiio::workbench::AttackOutcome)
