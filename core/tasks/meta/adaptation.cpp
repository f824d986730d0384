#include "tasks/meta/adaptation.h"

#include "error.h"
#include "jiio/implicit_diff.h"
#include "tasks/meta/task_objective.h"

namespace jiio {

namespace {

EpisodeRows rowsOf(const std::vector<Episode>& episodes, bool support)
{
    if (episodes.empty())
        throw Error("no episodes to adapt to");
    EpisodeRows rows;
    rows.ways = episodes.front().ways;
    std::vector<torch::Tensor> images, labels;
    for (const auto& episode : episodes) {
        const auto& part = support ? episode.supportImages : episode.queryImages;
        if (episode.ways != rows.ways || (rows.perEpisode != 0 && part.size(0) != rows.perEpisode))
            throw Error("episodes solved together must have the same ways, shots and queries");
        rows.perEpisode = part.size(0);
        images.push_back(part);
        labels.push_back(support ? episode.supportLabels : episode.queryLabels);
    }
    rows.images = torch::cat(images);
    rows.labels = torch::cat(labels);
    return rows;
}

} // namespace

double AdaptationOptions::lambdaFor(const DeqModel& model) const
{
    return lambda >= 0 ? lambda : model->config().priorWeight;
}

void AdaptationOptions::validate() const
{
    if (method == InputMethod::NaiveAdam)
        throw Error("the naive inner loop of few-shot adaptation is gradient descent");
    if (iterations < 1 || taskStep <= 0 || tolerance <= 0 || !(taskGramWeight > 0))
        throw Error("adaptation needs a positive budget, step and tolerance");
}

SolveSettings AdaptationOptions::settings(int64_t supportPerEpisode) const
{
    SolveSettings settings;
    settings.method = method;
    settings.jiio.method = method == InputMethod::JiioPicard ? FixedPointMethod::Picard : FixedPointMethod::Anderson;
    settings.jiio.maxIterations = iterations;
    settings.jiio.tolerance = tolerance;
    settings.jiio.alphaX = taskStep;
    settings.jiio.alphaXLate = taskStep;
    settings.jiio.coupledRows = int(supportPerEpisode);
    settings.jiio.inputGramWeight = taskGramWeight;
    settings.jiio.mixInput = mixTask;
    // v descends the support loss step by step: like the naive loop, JIIO
    // returns where it got to, not its iterate of lowest residual (often an
    // early one, with the states settled but v barely moved).
    settings.jiio.returnLastIterate = true;
    settings.naive.optimizer = NaiveOptimizer::GradientDescent;
    settings.naive.steps = iterations;
    settings.naive.gdLearningRate = taskStep;
    settings.naive.forward.maxIterations = innerIterations;
    settings.naive.forward.tolerance = innerTolerance;
    settings.naive.adjoint = settings.naive.forward;
    return settings;
}

EpisodeRows supportRows(const std::vector<Episode>& episodes)
{
    return rowsOf(episodes, true);
}

EpisodeRows queryRows(const std::vector<Episode>& episodes)
{
    return rowsOf(episodes, false);
}

StateLayout fewShotLayout(const DeqModel& model, const torch::Tensor& images)
{
    if (model->config().kind != ModelKind::FewShot)
        throw Error("this is a " + toString(model->config().kind) + " model; few-shot adaptation needs a fewshot model");
    return model->layout(images.size(2), images.size(3), images);
}

FixedPointOptions fewShotForward()
{
    FixedPointOptions options;
    options.method = FixedPointMethod::Anderson;
    options.maxIterations = 30;
    options.tolerance = 1e-4;
    return options;
}

Adaptation adaptTaskVectors(DeqModel& model, const std::vector<Episode>& episodes, const AdaptationOptions& options,
                            SolveObserver& observer, const torch::Tensor& start)
{
    options.validate();
    const auto rows = supportRows(episodes);
    if (rows.ways > model->config().classes)
        throw Error(std::to_string(rows.ways) + "-way episodes, but the model reads out at most "
                    + std::to_string(model->config().classes) + " classes");
    const auto layout = fewShotLayout(model, rows.images);
    const auto v0 = model->taskInit().detach();
    const TaskObjective objective(rows.labels, rows.ways, options.lambdaFor(model), v0, rows.perEpisode);
    const auto initial = start.defined() ? start.detach() : v0.unsqueeze(0).expand({int64_t(episodes.size()), -1});
    const auto result = optimizeInput(model, layout, objective, options.settings(rows.perEpisode), observer,
                                      objective.rowsOf(initial));
    Adaptation adaptation;
    adaptation.tasks = objective.episodeVectors(result.latent);
    adaptation.state = result.state;
    adaptation.adjoint = result.adjoint;
    adaptation.objective = objective.perEpisode(result.objective);
    adaptation.iterations = result.iterations;
    adaptation.functionEvaluations = result.functionEvaluations;
    adaptation.seconds = result.elapsedSeconds;
    adaptation.reason = result.reason;
    return adaptation;
}

Classified classifyWithTasks(DeqModel& model, const EpisodeRows& rows, const torch::Tensor& tasks,
                             const FixedPointOptions& forward)
{
    torch::NoGradGuard noGrad;
    const auto layout = fewShotLayout(model, rows.images);
    const auto latent = tasks.detach().repeat_interleave(rows.perEpisode, 0);
    auto solved = solveEquilibrium(model, layout, latent, forward);
    Classified result;
    result.state = solved.solution;
    result.logits = model->readout(result.state, latent, layout).narrow(1, 0, rows.ways);
    return result;
}

double accuracyPercent(const torch::Tensor& logits, const torch::Tensor& labels)
{
    return 100.0 * logits.argmax(1).eq(labels).to(torch::kFloat64).mean().item<double>();
}

} // namespace jiio
