#include "fewshot_worker.h"

#include "iteration_point.h"

#include "core/error.h"
#include "core/models/checkpoint.h"
#include "core/tasks/meta/adaptation.h"
#include "core/threads.h"

namespace jiio::workbench {

namespace {

QVector<int> predictedSlots(const torch::Tensor& logits)
{
    const auto predicted = logits.argmax(1).to(torch::kInt32).contiguous();
    return QVector<int>(predicted.data_ptr<int>(), predicted.data_ptr<int>() + predicted.numel());
}

class AdaptationObserver final : public SolveObserver {
public:
    AdaptationObserver(FewShotWorker& worker, const std::atomic<bool>& stop) : worker_(worker), stop_(stop) {}
    void onIteration(const IterationStats& s) override { Q_EMIT worker_.iteration(toConvergencePoint(s)); }
    bool stopRequested() const override { return stop_; }

private:
    FewShotWorker& worker_;
    const std::atomic<bool>& stop_;
};

} // namespace

FewShotWorker::FewShotWorker(std::shared_ptr<LoadedModel> model, QObject* parent)
    : QObject(parent), model_(std::move(model))
{
}

FewShotWorker::~FewShotWorker() = default;

FewShotOutcome FewShotWorker::runOne(const FewShotJob& job)
{
    auto& model = model_->model;
    AdaptationOptions options;
    options.method = inputMethodFromString(job.method.toStdString());
    options.iterations = job.iterations;
    const std::vector<Episode> episodes{job.episode};
    const auto queries = queryRows(episodes);

    FewShotOutcome outcome;
    outcome.method = job.method;
    const auto v0 = model->taskInit().detach().unsqueeze(0);
    const auto before = classifyWithTasks(model, queries, v0, fewShotForward()).logits;
    outcome.before = predictedSlots(before);
    outcome.accuracyBefore = accuracyPercent(before, queries.labels);

    AdaptationObserver observer(*this, stop_);
    const auto adapted = adaptTaskVectors(model, episodes, options, observer);
    const auto after = classifyWithTasks(model, queries, adapted.tasks, fewShotForward()).logits;
    outcome.after = predictedSlots(after);
    outcome.accuracyAfter = accuracyPercent(after, queries.labels);
    outcome.seconds = adapted.seconds;
    outcome.functionEvaluations = adapted.functionEvaluations;
    outcome.iterations = adapted.iterations;
    outcome.objective = adapted.objective[0].item<double>();
    outcome.stopReason = QString::fromUtf8(stopReasonName(adapted.reason));
    return outcome;
}

void FewShotWorker::adapt(const FewShotJob& job)
{
    try {
        configureThreads(job.threads);
        Q_EMIT runStarted(job.method);
        Q_EMIT finished(runOne(job));
    } catch (const std::exception& e) {
        Q_EMIT failed(QString::fromStdString(oneLine(e.what())));
    }
}

void FewShotWorker::compare(const FewShotJob& job)
{
    try {
        configureThreads(job.threads);
        for (const char* method : {"jiio-anderson", "naive-gd"}) {
            if (stop_)
                break;
            FewShotJob one = job;
            one.method = method;
            Q_EMIT runStarted(one.method);
            Q_EMIT finished(runOne(one));
        }
        Q_EMIT compareFinished();
    } catch (const std::exception& e) {
        Q_EMIT failed(QString::fromStdString(oneLine(e.what())));
    }
}

} // namespace jiio::workbench
