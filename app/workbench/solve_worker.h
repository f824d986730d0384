#pragma once
#include "widgets/convergence_plot.h"
#include "widgets/solver_settings_panel.h"

#include <QImage>
#include <QObject>

#include <opencv2/core.hpp>

#include <atomic>
#include <cmath>
#include <memory>

namespace jiio {
struct LoadedModel;
}

namespace jiio::workbench {

// Everything one restoration needs, as plain values copied into the worker.
struct SolveJob {
    QString task = "inpaint"; // "inpaint", "denoise" or "reconstruct"
    double sigma = 25;
    cv::Mat observation;      // float [0, 1], RGB or gray
    cv::Mat missingMask;      // CV_8U, 255 = missing (inpainting)
    widgets::SolverSettingsValues settings;
};

// Final figures of one method in a comparison.
struct CompareRow {
    QString method;
    QImage result;
    double objective = std::nan("");  // NaN for the classical baselines
    int iterations = 0;
    qint64 functionEvaluations = 0;
    double seconds = 0;
};

// Runs restorations in its own thread: iteration statistics and previews go
// out as queued signals; requestStop() may be called from any thread and takes
// effect at the solver's next iteration.
class SolveWorker : public QObject {
    Q_OBJECT
public:
    explicit SolveWorker(std::shared_ptr<LoadedModel> model, QObject* parent = nullptr);
    ~SolveWorker() override;

    void requestStop() { stop_ = true; }
    // Called by the view before it queues a job, never by the job itself: a
    // Stop pressed after the request but before the job began still counts.
    void clearStopRequest() { stop_ = false; }

public Q_SLOTS:
    void solve(const jiio::workbench::SolveJob& job);
    // Runs each method in turn on the same problem, then OpenCV's classical
    // baselines for the task (Telea and Navier-Stokes inpainting, non-local
    // means denoising).
    void compare(const jiio::workbench::SolveJob& job, const QStringList& methods);

Q_SIGNALS:
    void iteration(const jiio::widgets::ConvergencePoint& point);
    // A large image is solved in tiles: tile batch `index` (from 0) of `count`.
    void segment(int index, int count);
    void preview(const QImage& image);
    // The result on screen (8-bit) and at full precision (float, for saving).
    void finished(const QImage& result, const cv::Mat& fullResult, const QString& summary);
    void failed(const QString& message);
    void compareRunStarted(const QString& method);
    void compareRowReady(const jiio::workbench::CompareRow& row);
    void compareFinished();

private:
    std::shared_ptr<LoadedModel> model_;
    std::atomic<bool> stop_{false};
};

} // namespace jiio::workbench

Q_DECLARE_METATYPE(jiio::workbench::SolveJob)
Q_DECLARE_METATYPE(jiio::workbench::CompareRow)
Q_DECLARE_METATYPE(cv::Mat)
