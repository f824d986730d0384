#include "tasks/meta/meta_gradient.h"

#include "jiio/implicit_diff.h"
#include "solvers/conjugate_gradient.h"
#include "tasks/meta/task_objective.h"

namespace jiio {

namespace {

namespace F = torch::nn::functional;

// Mean cross-entropy per episode [E] of rows [E * perEpisode, >= ways].
torch::Tensor episodeCrossEntropy(const torch::Tensor& logits, const EpisodeRows& rows)
{
    const auto each = F::cross_entropy(logits.narrow(1, 0, rows.ways), rows.labels,
                                       F::CrossEntropyFuncOptions().reduction(torch::kNone));
    return each.view({-1, rows.perEpisode}).mean(1);
}

void addGradient(const torch::Tensor& parameter, const torch::Tensor& value)
{
    torch::Tensor handle = parameter;
    if (!handle.grad().defined())
        handle.mutable_grad() = torch::zeros_like(handle);
    handle.mutable_grad().add_(value);
}

} // namespace

MetaGradientOptions::MetaGradientOptions()
{
    adjoint.method = FixedPointMethod::Anderson;
    adjoint.maxIterations = 40;
    adjoint.tolerance = 1e-5;
}

SupportGradient supportTaskGradient(DeqModel& model, const EpisodeRows& support, const torch::Tensor& tasks,
                                    const FixedPointOptions& forward, const FixedPointOptions& adjoint,
                                    const torch::Tensor& zWarm, const torch::Tensor& muWarm)
{
    const auto layout = fewShotLayout(model, support.images);
    const TaskObjective objective(support.labels, support.ways, 0.0, torch::zeros_like(tasks[0]),
                                  support.perEpisode);
    const auto solved = equilibriumGradient(model, layout, objective, objective.rowsOf(tasks.detach()), forward,
                                            adjoint, zWarm, muWarm);
    return {objective.episodeVectors(solved.gradient), solved.state, solved.adjoint};
}

MetaGradient metaBackward(DeqModel& model, const std::vector<Episode>& episodes, const Adaptation& adaptation,
                          double lambda, const MetaGradientOptions& options)
{
    MetaGradient report;
    const auto queries = queryRows(episodes);
    const auto support = supportRows(episodes);
    const auto tasks = adaptation.tasks.detach();

    // dL/dtheta at fixed v*, and g = dL/dv*.
    const auto queryLayout = fewShotLayout(model, queries.images);
    const auto classified = classifyWithTasks(model, queries, tasks, options.forward);
    report.queryAccuracy = accuracyPercent(classified.logits, queries.labels);
    torch::Tensor g;
    {
        torch::AutoGradMode enableGrad(true);
        auto taskLeaf = tasks.clone().requires_grad_(true);
        const auto latent = taskLeaf.repeat_interleave(queries.perEpisode, 0);
        const auto loss = [&](const torch::Tensor& logits) { return episodeCrossEntropy(logits, queries).mean(); };
        const auto backward = implicitBackward(model, queryLayout, classified.state, latent, loss, options.adjoint);
        report.queryLoss = backward.loss.item<double>();
        report.adjointResidual = backward.adjoint.residual;
        g = taskLeaf.grad().detach();
    }
    if (options.firstOrder) {
        addGradient(model->taskInit(), g.sum(0));
        return report;
    }

    // w = (H + lambda I)^-1 g by conjugate gradients, one system per episode.
    torch::Tensor zWarm = adaptation.state, muWarm = adaptation.adjoint;
    auto hessianTimes = [&](const torch::Tensor& direction) {
        const auto step = options.hvpStep / direction.norm(2, 1, true).clamp_min(1e-12);
        const auto plus = supportTaskGradient(model, support, tasks + step * direction, options.forward,
                                              options.adjoint, zWarm, muWarm);
        const auto minus = supportTaskGradient(model, support, tasks - step * direction, options.forward,
                                               options.adjoint, plus.state, plus.adjoint);
        report.hessianProducts += 1;
        return (plus.gradient - minus.gradient) / (2 * step);
    };
    const auto cg = batchedConjugateGradient(
        [&](const torch::Tensor& direction) { return hessianTimes(direction) + lambda * direction; }, g,
        options.cgIterations, options.cgTolerance);
    const auto& w = cg.solution;
    report.cgRelativeResidual = cg.relativeResidual;

    // - d2S/(dtheta dv) w, by central differences of dS/dtheta along w.
    const auto step = options.hvpStep / w.norm(2, 1, true).clamp_min(1e-12);
    const auto supportLayout = fewShotLayout(model, support.images);
    for (const double sign : {1.0, -1.0}) {
        const auto shifted = tasks + sign * step * w;
        const auto latent = shifted.repeat_interleave(support.perEpisode, 0);
        const auto solved = solveEquilibrium(model, supportLayout, latent, options.forward, zWarm);
        const auto weight = (-sign / (2 * step)).flatten();
        const auto loss = [&](const torch::Tensor& logits) {
            return (episodeCrossEntropy(logits, support) * weight).sum();
        };
        implicitBackward(model, supportLayout, solved.solution, latent, loss, options.adjoint);
    }
    addGradient(model->taskInit(), lambda * w.sum(0));
    return report;
}

} // namespace jiio
