#include "solve_worker.h"

#include "image_convert.h"
#include "iteration_point.h"

#include "core/models/model_device.h"
#include "core/error.h"
#include "core/jiio/solve_defaults.h"
#include "core/models/checkpoint.h"
#include "core/tasks/restoration/classical_restoration.h"
#include "core/tasks/restoration/restore.h"
#include "core/threads.h"

#include <QElapsedTimer>

#include <cmath>


namespace jiio::workbench {

namespace {

class SignalObserver final : public SolveObserver {
public:
    SignalObserver(SolveWorker& worker, const std::atomic<bool>& stop) : worker_(worker), stop_(stop) {}
    void onIteration(const IterationStats& s) override
    {
        widgets::ConvergencePoint point = toConvergencePoint(s);
        point.iteration += offset_;
        point.seconds += secondsOffset_;
        last_ = point;
        functionEvaluations_ = s.functionEvaluations;
        Q_EMIT worker_.iteration(point);
    }
    qint64 functionEvaluations() const { return functionEvaluations_; }
    void onSegment(int index, int count) override
    {
        Q_EMIT worker_.segment(index, count);
        if (index > 0) { // tiles continue the iteration axis
            offset_ = last_.iteration;
            secondsOffset_ = last_.seconds;
        }
    }
    bool stopRequested() const override { return stop_; }

private:
    SolveWorker& worker_;
    const std::atomic<bool>& stop_;
    widgets::ConvergencePoint last_;
    int offset_ = 0;
    double secondsOffset_ = 0;
    qint64 functionEvaluations_ = 0;
};

SolveSettings toSettings(const widgets::SolverSettingsValues& v)
{
    SolveSettings s;
    s.method = inputMethodFromString(v.method.toStdString());
    s.setBudget(v.iterations);
    s.setTolerance(v.tolerance);
    s.jiio.alphaZ = v.alphaZ;
    s.jiio.alphaMu = v.alphaMu;
    s.jiio.alphaX = v.alphaX;
    s.jiio.alphaXLate = v.alphaXLate;
    s.jiio.alphaSwitchFraction = v.switchFraction;
    s.jiio.andersonMemory = v.andersonMemory;
    s.jiio.andersonBeta = v.andersonBeta;
    s.jiio.andersonLambda = v.andersonLambda;
    return s;
}

// One method of a comparison. Where the panel holds the model's defaults for
// its own method, each compared method gets its own defaults instead: naive
// methods keep tight inner solves and the trained budget, while JIIO on an
// image prior stops at its tolerance. Values the user set apply to all.
SolveJob jobForMethod(const SolveJob& job, const QString& method, const ModelConfig& config)
{
    SolveJob one = job;
    one.settings.method = method;
    const auto panel = solveDefaults(config, inputMethodFromString(job.settings.method.toStdString()));
    const bool untouched = job.settings.iterations == panel.iterations
        && std::abs(job.settings.tolerance - panel.tolerance) <= 1e-9 * panel.tolerance;
    if (untouched) {
        const auto own = solveDefaults(config, inputMethodFromString(method.toStdString()));
        one.settings.iterations = own.iterations;
        one.settings.tolerance = own.tolerance;
    }
    return one;
}

} // namespace

SolveWorker::SolveWorker(std::shared_ptr<LoadedModel> model, QObject* parent) : QObject(parent), model_(std::move(model))
{
}

SolveWorker::~SolveWorker() = default;

namespace {

// The solve runs where the model lives; move it when the user picked another
// device (checked the same way as the CLI's --device).
void placeModel(LoadedModel& loaded, const QString& device)
{
    jiio::placeModel(loaded.model, parseDevice(device.toStdString()));
}

RestoreRequest toRequest(const SolveJob& job)
{
    RestoreRequest request;
    request.task = taskFromString(job.task.toStdString());
    request.sigma = job.sigma;
    request.missingMask = job.missingMask;
    request.solver = toSettings(job.settings);
    return request;
}

cv::Mat classical(ClassicalMethod method, const SolveJob& job)
{
    return restoreClassically(method, job.observation, job.missingMask, job.sigma);
}

} // namespace

void SolveWorker::compare(const SolveJob& job, const QStringList& methods)
{
    try {
        configureThreads(job.settings.threads);
        placeModel(*model_, job.settings.device);
        for (const QString& method : methods) {
            if (stop_)
                break;
            Q_EMIT compareRunStarted(method);
            const SolveJob one = jobForMethod(job, method, model_->config);
            torch::manual_seed(uint64_t(job.settings.seed));
            SignalObserver observer(*this, stop_);
            ImageData observed;
            observed.color = job.observation;
            const auto outcome = restoreImage(model_->model, observed, toRequest(one), observer);
            CompareRow row;
            row.method = method;
            row.result = toQImage(outcome.image.color);
            row.objective = outcome.objective;
            row.iterations = outcome.iterations;
            row.functionEvaluations = observer.functionEvaluations();
            row.seconds = outcome.seconds;
            Q_EMIT compareRowReady(row);
        }
        // Every classical method for the task at its default setting
        // (reconstruction has no classical twin).
        for (auto method : classicalMethodsFor(taskFromString(job.task.toStdString()))) {
            if (stop_)
                break;
            CompareRow row;
            row.method = QString::fromStdString(toString(method));
            QElapsedTimer clock;
            clock.start();
            row.result = toQImage(classical(method, job));
            row.seconds = clock.elapsed() / 1000.0;
            Q_EMIT compareRowReady(row);
        }
        Q_EMIT compareFinished();
    } catch (const std::exception& e) {
        Q_EMIT failed(QString::fromStdString(oneLine(e.what())));
    }
}

void SolveWorker::solve(const SolveJob& job)
{
    try {
        // Grad mode and thread settings are per thread: set them here.
        configureThreads(job.settings.threads);
        placeModel(*model_, job.settings.device);
        torch::manual_seed(uint64_t(job.settings.seed));
        RestoreRequest request = toRequest(job);
        // A preview of a diverging iterate is not shown: the window keeps the
        // last finite one.
        request.onPreview = [this](const cv::Mat& image) {
            if (cv::checkRange(image))
                Q_EMIT preview(toQImage(image));
        };
        ImageData observed;
        observed.color = job.observation;
        SignalObserver observer(*this, stop_);
        const auto outcome = restoreImage(model_->model, observed, request, observer);
        if (outcome.worstReason == StopReason::Diverged || !cv::checkRange(outcome.image.color)) {
            Q_EMIT failed(tr("The solve diverged (its residual grew without bound or became NaN) and was stopped; "
                             "the result shown is the last good one. Try smaller step sizes (α_x, α_z) or "
                             "Picard iteration."));
            return;
        }
        const QString summary = tr("%1 iterations, %2 s, objective %3 (%4)")
                                    .arg(outcome.iterations)
                                    .arg(outcome.seconds, 0, 'f', 2)
                                    .arg(outcome.objective, 0, 'g', 6)
                                    .arg(QString::fromUtf8(stopReasonName(outcome.worstReason)));
        Q_EMIT finished(toQImage(outcome.image.color), outcome.image.color, summary);
    } catch (const std::exception& e) {
        Q_EMIT failed(QString::fromStdString(oneLine(e.what())));
    }
}

} // namespace jiio::workbench
