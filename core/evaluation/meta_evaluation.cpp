#include "evaluation/meta_evaluation.h"

#include "error.h"
#include "evaluation/equilibrium_trace.h"
#include "models/model_device.h"
#include "numbers.h"
#include "tasks/meta/task_objective.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <iomanip>

namespace jiio {

namespace {

MeanWithInterval summarise(const std::vector<double>& values)
{
    MeanWithInterval result;
    if (values.empty())
        return result;
    double sum = 0, squares = 0;
    for (double v : values)
        sum += v;
    result.mean = sum / double(values.size());
    for (double v : values)
        squares += (v - result.mean) * (v - result.mean);
    const double deviation = values.size() > 1 ? std::sqrt(squares / double(values.size() - 1)) : 0;
    result.ci95 = 1.96 * deviation / std::sqrt(double(values.size()));
    return result;
}

// Per-episode accuracy of row logits, [E] percent.
std::vector<double> perEpisodeAccuracy(const torch::Tensor& logits, const EpisodeRows& rows)
{
    const auto correct = logits.argmax(1).eq(rows.labels).to(torch::kFloat64).view({-1, rows.perEpisode}).mean(1);
    std::vector<double> result;
    for (int64_t e = 0; e < correct.size(0); ++e)
        result.push_back(100.0 * correct[e].item<double>());
    return result;
}

// Accuracy per episode at the model's v0, unadapted and by the nearest class
// mean of the support's features (the query solve serves both).
struct AtTaskInit {
    std::vector<double> unadapted, centroid;
};
AtTaskInit scoreAtTaskInit(DeqModel& model, const EpisodeRows& support, const EpisodeRows& queries,
                           int64_t episodeCount)
{
    torch::NoGradGuard noGrad;
    const auto v0 = model->taskInit().detach().unsqueeze(0).expand({episodeCount, -1});
    auto featuresOf = [&](const Classified& classified, const EpisodeRows& rows) {
        return model->pooledFeatures(classified.state, fewShotLayout(model, rows.images));
    };
    const auto queryResult = classifyWithTasks(model, queries, v0, fewShotForward());
    AtTaskInit result;
    result.unadapted = perEpisodeAccuracy(queryResult.logits, queries);
    const auto supportFeatures = featuresOf(classifyWithTasks(model, support, v0, fewShotForward()), support)
                                     .view({episodeCount, support.perEpisode, -1});
    const auto queryFeatures = featuresOf(queryResult, queries).view({episodeCount, queries.perEpisode, -1});
    const auto supportLabels = support.labels.view({episodeCount, support.perEpisode});
    const auto queryLabels = queries.labels.view({episodeCount, queries.perEpisode});
    for (int64_t e = 0; e < episodeCount; ++e) {
        std::vector<torch::Tensor> centroids;
        for (int c = 0; c < support.ways; ++c)
            centroids.push_back(supportFeatures[e].index({supportLabels[e].eq(c)}).mean(0));
        const auto distances = torch::cdist(queryFeatures[e], torch::stack(centroids));
        result.centroid.push_back(100.0 * distances.argmin(1).eq(queryLabels[e]).to(torch::kFloat64).mean().item<double>());
    }
    return result;
}

AdaptationOptions naiveAdaptation(const MetaEvalOptions& options)
{
    auto naive = options.adaptation;
    naive.method = InputMethod::NaiveGradientDescent;
    naive.iterations = options.naiveSteps;
    return naive;
}

void timeInnerLoops(DeqModel& model, const FewShotPool& pool, MetaSetting& setting, const MetaEvalOptions& options)
{
    std::vector<double> naiveSeconds, jiioSeconds, targets;
    struct Reached {
        int64_t evaluations = 0;
        int episodes = 0;
    } naiveReached, jiioReached;
    for (int e = 0; e < options.timingEpisodes; ++e) {
        const std::vector<Episode> episode{drawEpisode(pool, setting.ways, setting.shots, options.queries,
                                                       options.seed * 7919 + 1000003 + uint64_t(e),
                                                       modelDevice(model))};
        const auto support = supportRows(episode);
        const auto layout = fewShotLayout(model, support.images);
        const TaskObjective objective(support.labels, support.ways, options.adaptation.lambdaFor(model),
                                      model->taskInit().detach(), support.perEpisode);
        EquilibriumObjective evaluate(model, layout, objective);

        TracedRun naive, jiio;
        adaptTaskVectors(model, episode, naiveAdaptation(options), naive.trace);
        auto jiioOptions = options.adaptation;
        jiioOptions.iterations = options.timingBudgetMultiple * options.naiveSteps;
        jiioOptions.tolerance = 1e-9; // run the whole budget: the target decides
        adaptTaskVectors(model, episode, jiioOptions, jiio.trace);

        const double target = naive.finalObjective(evaluate);
        targets.push_back(target);
        auto timeTo = [&](TracedRun& run, std::vector<double>& seconds, Reached& reached) {
            const int row = run.firstReaching(target, evaluate);
            seconds.push_back(row < 0 ? std::nan("") : run.trace.rows()[size_t(row)].elapsedSeconds);
            if (row >= 0) {
                reached.evaluations += run.trace.rows()[size_t(row)].functionEvaluations;
                ++reached.episodes;
            }
        };
        timeTo(naive, naiveSeconds, naiveReached);
        timeTo(jiio, jiioSeconds, jiioReached);
    }
    auto mean = [](const std::vector<double>& values) {
        double sum = 0;
        for (double v : values)
            sum += v; // a NaN (target not reached) makes the mean NaN: no speedup is claimed then
        return values.empty() ? std::nan("") : sum / double(values.size());
    };
    // f-evaluations: the mean over the episodes where the target was reached.
    auto meanEvaluations = [](const Reached& reached) {
        return reached.episodes > 0 ? int64_t(std::llround(double(reached.evaluations) / reached.episodes)) : 0;
    };
    setting.targetObjective = mean(targets);
    setting.naiveSeconds = mean(naiveSeconds);
    setting.jiioSeconds = mean(jiioSeconds);
    setting.naiveEvaluations = meanEvaluations(naiveReached);
    setting.jiioEvaluations = meanEvaluations(jiioReached);
    setting.timingEpisodes = options.timingEpisodes;
    setting.jiioReachedEpisodes = jiioReached.episodes;
    setting.innerSpeedup = setting.naiveSeconds / setting.jiioSeconds;
}

MetaSetting evaluateSetting(DeqModel& model, const FewShotPool& pool, const std::string& domain, int ways, int shots,
                            const MetaEvalOptions& options)
{
    MetaSetting setting;
    setting.domain = domain;
    setting.pool = pool.name;
    setting.ways = ways;
    setting.shots = shots;
    setting.episodes = options.episodes;
    std::vector<double> jiio, naive, none, centroid;
    double jiioObjectiveSum = 0, naiveObjectiveSum = 0, jiioSeconds = 0, naiveSeconds = 0;
    NullObserver quiet;
    const auto naiveOptions = naiveAdaptation(options);
    for (int first = 0; first < options.episodes; first += options.batchEpisodes) {
        const int count = std::min(options.batchEpisodes, options.episodes - first);
        std::vector<Episode> episodes;
        for (int e = 0; e < count; ++e)
            episodes.push_back(drawEpisode(pool, ways, shots, options.queries, options.seed * 7919 + uint64_t(first + e),
                                           modelDevice(model)));
        const auto support = supportRows(episodes);
        const auto queries = queryRows(episodes);
        auto accuracyWith = [&](const torch::Tensor& tasks) {
            return perEpisodeAccuracy(classifyWithTasks(model, queries, tasks, fewShotForward()).logits, queries);
        };
        auto append = [](std::vector<double>& to, const std::vector<double>& values) {
            to.insert(to.end(), values.begin(), values.end());
        };
        const auto jiioAdapted = adaptTaskVectors(model, episodes, options.adaptation, quiet);
        const auto naiveAdapted = adaptTaskVectors(model, episodes, naiveOptions, quiet);
        append(jiio, accuracyWith(jiioAdapted.tasks));
        append(naive, accuracyWith(naiveAdapted.tasks));
        jiioObjectiveSum += jiioAdapted.objective.sum().item<double>();
        naiveObjectiveSum += naiveAdapted.objective.sum().item<double>();
        jiioSeconds += jiioAdapted.seconds;
        naiveSeconds += naiveAdapted.seconds;
        const auto atTaskInit = scoreAtTaskInit(model, support, queries, count);
        append(none, atTaskInit.unadapted);
        append(centroid, atTaskInit.centroid);
    }
    setting.jiio = summarise(jiio);
    setting.naive = summarise(naive);
    setting.noAdaptation = summarise(none);
    setting.centroid = summarise(centroid);
    std::vector<double> differences;
    for (size_t e = 0; e < jiio.size(); ++e)
        differences.push_back(jiio[e] - naive[e]);
    setting.jiioMinusNaive = summarise(differences);
    setting.jiioObjective = jiioObjectiveSum / double(options.episodes);
    setting.naiveObjective = naiveObjectiveSum / double(options.episodes);
    setting.jiioRunSeconds = jiioSeconds / double(options.episodes);
    setting.naiveRunSeconds = naiveSeconds / double(options.episodes);
    if (options.progress)
        options.progress("  timing the inner loops on " + std::to_string(options.timingEpisodes) + " episodes");
    timeInnerLoops(model, pool, setting, options);
    return setting;
}

} // namespace

MetaReport evaluateFewShot(DeqModel& model, const std::string& modelName, const FewShotPool& inDomain,
                           const FewShotPool& crossDomain, const MetaEvalOptions& options, const std::vector<int>& shots)
{
    if (model->config().kind != ModelKind::FewShot)
        throw Error("this is a " + toString(model->config().kind) + " model; --task meta evaluates fewshot models");
    if (options.episodes < 1 || options.batchEpisodes < 1 || options.queries < 1 || options.naiveSteps < 1)
        throw Error("the evaluation needs at least one episode, a batch of one, one query per class and one naive step");
    if (!options.inDomain && !options.crossDomain)
        throw Error("the evaluation needs the in-domain or the cross-domain episodes, or both");
    model->eval();
    MetaReport report;
    report.model = modelName;
    report.iterations = options.adaptation.iterations;
    report.naiveSteps = options.naiveSteps;
    report.lambda = options.adaptation.lambdaFor(model);
    for (const auto& [key, value] : model->config().provenance)
        if (key == "training" || key == "training_seconds" || key == "training_steps")
            report.trainingNote += (report.trainingNote.empty() ? "" : ", ") + key + " " + value;
    const int ways = model->config().classes;
    const int inDomainWays = std::min<int>(ways, int(inDomain.classes.size()));
    for (const auto& [pool, domain, settingWays] :
         {std::tuple<const FewShotPool*, const char*, int>{&inDomain, "in-domain", inDomainWays},
          {&crossDomain, "cross-domain", ways}}) {
        if (!(pool == &inDomain ? options.inDomain : options.crossDomain))
            continue;
        for (const int k : shots) {
            if (options.progress)
                options.progress(std::string(domain) + " " + std::to_string(settingWays) + "-way " + std::to_string(k)
                                 + "-shot, " + std::to_string(options.episodes) + " episodes");
            report.settings.push_back(evaluateSetting(model, *pool, domain, settingWays, k, options));
        }
    }
    return report;
}

std::string metaTable(const MetaReport& report)
{
    auto out = classicStream();
    out << std::fixed << std::setprecision(2);
    out << "model " << report.model << ", inner budget: JIIO " << report.iterations << " iterations, naive GD "
        << report.naiveSteps << " steps; proximal weight lambda " << std::defaultfloat << report.lambda << std::fixed;
    if (!report.trainingNote.empty())
        out << "\n(" << report.trainingNote << ")";
    out << "\n\nsetting                       JIIO             naive GD         no adaptation    nearest centroid\n";
    auto cell = [&](const MeanWithInterval& value) {
        auto text = classicStream();
        text << std::fixed << std::setprecision(2) << value.mean << " +- " << value.ci95;
        out << std::left << std::setw(17) << text.str() << std::right;
    };
    for (const auto& s : report.settings) {
        auto name = classicStream();
        name << s.domain << " " << s.ways << "-way " << s.shots << "-shot";
        out << std::left << std::setw(30) << name.str() << std::right;
        cell(s.jiio);
        cell(s.naive);
        cell(s.noAdaptation);
        cell(s.centroid);
        out << "\n";
    }
    out << "(accuracy in percent, +- the 95 % confidence interval over episodes)\n\n";
    out << "JIIO minus naive GD, paired over the same episodes; the inner objective each ends at, and its time:\n";
    for (const auto& s : report.settings)
        out << "  " << std::left << std::setw(28)
            << (s.domain + " " + std::to_string(s.ways) + "-way " + std::to_string(s.shots) + "-shot") << std::right
            << std::setprecision(2) << " " << s.jiioMinusNaive.mean << " +- " << s.jiioMinusNaive.ci95
            << " points   objective JIIO " << std::setprecision(4) << s.jiioObjective << " (" << s.jiioRunSeconds
            << " s), naive " << s.naiveObjective << " (" << s.naiveRunSeconds << " s)\n";
    out << "\n";
    out << "inner loop per episode, to the naive loop's final objective (at the true equilibrium):\n";
    for (const auto& s : report.settings)
        out << "  " << std::left << std::setw(28) << (s.domain + " " + std::to_string(s.ways) + "-way "
                                                      + std::to_string(s.shots) + "-shot")
            << std::right << std::setprecision(4) << " naive " << s.naiveSeconds << " s (" << s.naiveEvaluations
            << " f-evals)  JIIO " << s.jiioSeconds << " s (" << s.jiioEvaluations << " f-evals)  speedup "
            << std::setprecision(2) << s.innerSpeedup << "x  (JIIO reached the target on " << s.jiioReachedEpisodes
            << " of " << s.timingEpisodes << " episodes)\n";
    return out.str();
}

std::string metaJson(const MetaReport& report)
{
    auto value = [](double number) { return std::isfinite(number) ? nlohmann::json(number) : nlohmann::json(); };
    auto settingJson = [&](const MetaSetting& s) {
        auto accuracy = [&](const MeanWithInterval& m) { return nlohmann::json{{"mean", value(m.mean)}, {"ci95", value(m.ci95)}}; };
        return nlohmann::json{
            {"domain", s.domain},          {"pool", s.pool},
            {"ways", s.ways},              {"shots", s.shots},
            {"episodes", s.episodes},      {"accuracy", value(s.jiio.mean)},
            {"ci95", value(s.jiio.ci95)},  {"naive_accuracy", value(s.naive.mean)},
            {"no_adaptation_accuracy", value(s.noAdaptation.mean)},
            {"centroid_accuracy", value(s.centroid.mean)},
            {"inner_speedup", value(s.innerSpeedup)},
            {"detail", {{"jiio", accuracy(s.jiio)}, {"naive", accuracy(s.naive)},
                        {"no_adaptation", accuracy(s.noAdaptation)}, {"centroid", accuracy(s.centroid)},
                        {"jiio_minus_naive", accuracy(s.jiioMinusNaive)},
                        {"jiio_inner_objective", value(s.jiioObjective)},
                        {"naive_inner_objective", value(s.naiveObjective)},
                        {"jiio_run_seconds", value(s.jiioRunSeconds)},
                        {"naive_run_seconds", value(s.naiveRunSeconds)},
                        {"target_objective", value(s.targetObjective)}, {"naive_seconds", value(s.naiveSeconds)},
                        {"jiio_seconds", value(s.jiioSeconds)}, {"naive_f_evals", s.naiveEvaluations},
                        {"jiio_f_evals", s.jiioEvaluations}, {"timing_episodes", s.timingEpisodes},
                        {"jiio_reached_episodes", s.jiioReachedEpisodes}}},
        };
    };
    if (report.settings.empty())
        return "{}\n";
    const MetaSetting* headline = &report.settings.back();
    for (const auto& s : report.settings)
        if (s.domain == "cross-domain" && s.ways == 5 && s.shots == 5)
            headline = &s;
    auto document = settingJson(*headline);
    document["model"] = report.model;
    document["inner_iterations"] = report.iterations;
    document["naive_steps"] = report.naiveSteps;
    document["lambda"] = report.lambda;
    document["training"] = report.trainingNote;
    nlohmann::json all = nlohmann::json::array();
    for (const auto& s : report.settings)
        all.push_back(settingJson(s));
    document["settings"] = all;
    return document.dump(2) + "\n";
}

} // namespace jiio
