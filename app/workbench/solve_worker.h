#pragma once
#include "widgets/convergence_plot.h"
#include "widgets/solver_settings_panel.h"

#include <QImage>
#include <QObject>

#include <opencv2/core.hpp>

#include <atomic>
#include <memory>

namespace jiio {
struct LoadedModel;
}

namespace jiio::workbench {

// Everything one restoration needs, as plain values copied into the worker.
struct SolveJob {
    QString task = "inpaint"; // "inpaint" or "denoise"
    double sigma = 25;
    cv::Mat observation;      // float [0, 1], RGB or gray
    cv::Mat missingMask;      // CV_8U, 255 = missing (inpainting)
    widgets::SolverSettingsValues settings;
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

public Q_SLOTS:
    void solve(const jiio::workbench::SolveJob& job);

Q_SIGNALS:
    void iteration(const jiio::widgets::ConvergencePoint& point);
    void preview(const QImage& image);
    void finished(const QImage& result, const QString& summary);
    void failed(const QString& message);

private:
    std::shared_ptr<LoadedModel> model_;
    std::atomic<bool> stop_{false};
};

} // namespace jiio::workbench

Q_DECLARE_METATYPE(jiio::workbench::SolveJob)
Q_DECLARE_METATYPE(jiio::widgets::ConvergencePoint)
