#include "attack_worker.h"

#include "image_convert.h"
#include "iteration_point.h"

#include "core/error.h"
#include "core/models/checkpoint.h"
#include "core/tasks/adversarial/attack.h"
#include "core/threads.h"

namespace jiio::workbench {

namespace {

QVector<double> toVector(const torch::Tensor& probabilities)
{
    const auto row = probabilities.to(torch::kFloat64).contiguous();
    return QVector<double>(row.data_ptr<double>(), row.data_ptr<double>() + row.numel());
}

cv::Mat toMat(const torch::Tensor& image) // [C, H, W] -> float H x W x C
{
    const auto plane = image.to(torch::kFloat32).permute({1, 2, 0}).contiguous();
    return cv::Mat(int(plane.size(0)), int(plane.size(1)), CV_32FC(int(plane.size(2))), plane.data_ptr()).clone();
}

// The perturbation in [-eps, eps] (per pixel at most) shown around mid-gray.
QImage amplified(const torch::Tensor& perturbation, double scale)
{
    return toQImage(toMat((perturbation / (2 * scale) + 0.5).clamp(0, 1)));
}

// Forwards the solver's statistics, and at each iteration the classifier's
// probabilities at its current state and the current adversarial image.
class AttackObserver final : public SolveObserver {
public:
    AttackObserver(AttackWorker& worker, const std::atomic<bool>& stop, const AttackObjective& objective,
                   double scale)
        : worker_(worker), stop_(stop), objective_(objective), scale_(scale)
    {
    }
    void onIteration(const IterationStats& s) override
    {
        evaluations_ = s.functionEvaluations;
        Q_EMIT worker_.iteration(toConvergencePoint(s));
    }
    bool stopRequested() const override { return stop_; }
    bool wantsPrediction() const override { return true; }
    void onPrediction(const at::Tensor& logits) override
    {
        Q_EMIT worker_.probabilities(toVector(torch::softmax(logits.detach(), 1)[0]));
    }
    bool wantsInput() const override { return true; }
    void onInput(const at::Tensor& input) override
    {
        const auto x = objective_.project(input.detach());
        Q_EMIT worker_.preview(toQImage(toMat(objective_.perturbedImages(x)[0])),
                               amplified(objective_.perturbationImage(x)[0], scale_));
    }
    qint64 evaluations() const { return evaluations_; }

private:
    AttackWorker& worker_;
    const std::atomic<bool>& stop_;
    const AttackObjective& objective_;
    double scale_;
    qint64 evaluations_ = 0;
};

} // namespace

AttackWorker::AttackWorker(std::shared_ptr<LoadedModel> model, QObject* parent) : QObject(parent), model_(std::move(model))
{
}

AttackWorker::~AttackWorker() = default;

AttackOutcome AttackWorker::runOne(const AttackJob& job)
{
    auto& model = model_->model;
    const auto& config = model_->config;
    if (config.kind != ModelKind::Classifier)
        throw Error("the attack needs a classifier model");
    if (job.image.empty() || job.image.rows != config.imageSize || job.image.cols != config.imageSize
        || job.image.channels() != config.imageChannels)
        throw Error("the image does not fit the classifier");
    cv::Mat image = job.image.isContinuous() ? job.image : job.image.clone();
    const auto clean = torch::from_blob(image.data, {1, image.rows, image.cols, image.channels()}, torch::kFloat32)
                           .permute({0, 3, 1, 2})
                           .clone(at::MemoryFormat::Contiguous); // owns its data, whatever the channels
    AttackOptions options;
    options.norm = attackNormFromString(job.norm.toStdString());
    options.eps = job.eps;
    options.solver = attackSolverFromString(job.solver.toStdString());
    options.iterations = job.iterations;
    const auto layout = classifierLayout(model, clean);
    const auto cleanResult = classifyAt(model, layout, torch::zeros({1, layout.latentSize}), options.inner);
    AttackOutcome outcome;
    outcome.solver = job.solver;
    outcome.cleanClass = int(cleanResult.logits.argmax(1).item<int64_t>());
    outcome.label = job.label >= 0 ? job.label : outcome.cleanClass;
    outcome.cleanProbabilities = toVector(torch::softmax(cleanResult.logits, 1)[0]);
    const auto labels = torch::full({1}, int64_t(outcome.label), torch::kInt64);

    const AttackObjective objective(clean, labels);
    const double scale = options.norm == AttackNorm::LInf ? options.eps : std::max(1e-6, options.eps / 4);
    AttackObserver observer(*this, stop_, objective, scale);
    const auto result = attackClassifier(model, clean, labels, options, observer);
    const auto attacked = torch::softmax(result.attacked.logits, 1)[0];
    outcome.adversarialClass = int(attacked.argmax().item<int64_t>());
    outcome.adversarialProbabilities = toVector(attacked);
    outcome.adversarial = toQImage(toMat(result.adversarial[0]));
    outcome.perturbation = amplified(objective.perturbationImage(result.perturbation)[0], scale);
    outcome.seconds = result.solve.elapsedSeconds;
    outcome.functionEvaluations = observer.evaluations();
    Q_EMIT probabilities(outcome.adversarialProbabilities);
    return outcome;
}

void AttackWorker::attack(const AttackJob& job)
{
    try {
        configureThreads(job.threads);
        Q_EMIT runStarted(job.solver);
        Q_EMIT finished(runOne(job));
    } catch (const std::exception& e) {
        Q_EMIT failed(QString::fromStdString(oneLine(e.what())));
    }
}

void AttackWorker::compare(const AttackJob& job)
{
    try {
        configureThreads(job.threads);
        for (const char* solver : {"jiio-picard", "pgd"}) {
            if (stop_)
                break;
            AttackJob one = job;
            one.solver = solver;
            Q_EMIT runStarted(one.solver);
            Q_EMIT finished(runOne(one));
        }
        Q_EMIT compareFinished();
    } catch (const std::exception& e) {
        Q_EMIT failed(QString::fromStdString(oneLine(e.what())));
    }
}

} // namespace jiio::workbench
