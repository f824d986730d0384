#include "evaluation/adversarial_evaluation.h"

#include "error.h"
#include "evaluation/equilibrium_trace.h"
#include "models/model_device.h"
#include "numbers.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <iomanip>

namespace jiio {

namespace {

FixedPointOptions solveOptions(const AdversarialEvalOptions& options)
{
    FixedPointOptions solve;
    solve.maxIterations = options.solveIterations;
    solve.tolerance = options.tolerance;
    return solve;
}

// Which images the model classifies correctly at the perturbation.
torch::Tensor correctAt(DeqModel& model, const torch::Tensor& images, const torch::Tensor& labels,
                        const torch::Tensor& perturbation, const FixedPointOptions& solve)
{
    const auto layout = classifierLayout(model, images);
    return classifyAt(model, layout, perturbation, solve).logits.argmax(1).eq(labels);
}

AttackOptions pgd(const AdversarialEvalOptions& options, double eps, uint64_t seed)
{
    AttackOptions attack;
    attack.norm = options.norm;
    attack.eps = eps;
    attack.solver = AttackSolver::Pgd;
    attack.iterations = options.pgdSteps;
    attack.randomStart = true;
    attack.seed = seed;
    attack.inner = solveOptions(options);
    return attack;
}

// Survivors of `restarts` random-start PGD runs of `steps` steps (each one
// must fail). A restart attacks only the images every earlier one missed:
// an image already broken stays broken.
torch::Tensor survivePgd(DeqModel& model, const torch::Tensor& images, const torch::Tensor& labels,
                         const AdversarialEvalOptions& options, double eps, int steps, int restarts, uint64_t seed)
{
    NullObserver quiet;
    auto alive = torch::ones({images.size(0)}, images.options().dtype(torch::kBool));
    for (int r = 0; r < restarts; ++r) {
        const auto index = alive.nonzero().flatten();
        if (index.numel() == 0)
            break;
        auto attack = pgd(options, eps, seed + uint64_t(r));
        attack.iterations = steps;
        const auto subset = labels.index_select(0, index);
        const auto result = attackClassifier(model, images.index_select(0, index), subset, attack, quiet);
        alive.index_put_({index}, result.attacked.logits.argmax(1).eq(subset));
    }
    return alive;
}

std::vector<double> defaultGrid(AttackNorm norm)
{
    if (norm == AttackNorm::LInf)
        return {0, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3};
    return {0, 0.5, 1, 1.5, 2, 3, 4};
}

double percent(int64_t count, int64_t total)
{
    return total ? 100.0 * double(count) / double(total) : std::nan("");
}

AttackComparison compareAttacks(DeqModel& model, const torch::Tensor& images, const torch::Tensor& labels,
                                const AdversarialEvalOptions& options)
{
    AttackOptions attack;
    attack.norm = options.norm;
    attack.eps = options.eps;
    // PGD's inner solves as an attacker inside training runs them, warm-started.
    attack.inner.maxIterations = 50;
    attack.inner.tolerance = 1e-4;
    const AttackObjective objective(images, labels);
    const auto layout = classifierLayout(model, images);
    EquilibriumObjective evaluate(model, layout, objective, options.tolerance);

    TracedRun viaPgd, viaJiio;
    attack.solver = AttackSolver::Pgd;
    attack.iterations = options.comparisonPgdSteps;
    viaPgd.result = attackClassifier(model, images, labels, attack, viaPgd.trace).solve;
    attack.solver = AttackSolver::JiioPicard;
    attack.iterations = options.comparisonJiioIterations;
    viaJiio.result = attackClassifier(model, images, labels, attack, viaJiio.trace).solve;

    AttackComparison comparison;
    comparison.images = int(images.size(0));
    // The objective is -cross-entropy: losses are its negatives.
    const double target = viaPgd.finalObjective(evaluate);
    comparison.targetLoss = -target;
    comparison.pgdFinalLoss = -target;
    comparison.jiioFinalLoss = -viaJiio.finalObjective(evaluate);
    auto timeTo = [&](TracedRun& run, double& seconds, int64_t& evaluations) {
        const int row = run.firstReaching(target, evaluate);
        seconds = row < 0 ? std::nan("") : run.trace.rows()[size_t(row)].elapsedSeconds;
        evaluations = row < 0 ? 0 : run.trace.rows()[size_t(row)].functionEvaluations;
    };
    timeTo(viaPgd, comparison.pgdSeconds, comparison.pgdEvaluations);
    timeTo(viaJiio, comparison.jiioSeconds, comparison.jiioEvaluations);
    comparison.speedup = comparison.pgdSeconds / comparison.jiioSeconds;
    return comparison;
}

} // namespace

AdversarialReport evaluateRobustness(DeqModel& model, const std::string& modelName, const LabelledImages& test,
                                     const AdversarialEvalOptions& options, DeqModel* transferSource,
                                     const std::string& transferName)
{
    if (test.size() == 0)
        throw Error("no test images to evaluate on");
    if (options.restarts < 1 || options.pgdSteps < 1 || options.batch < 1)
        throw Error("the evaluation needs at least one PGD step, one restart and a batch of one");
    model->eval();
    const auto device = modelDevice(model); // the test images go where the model computes
    const auto solve = solveOptions(options);
    AdversarialReport report;
    report.model = modelName;
    report.norm = options.norm;
    report.eps = options.eps;
    report.images = int(test.size());
    report.transferSource = transferName;
    for (const auto& [key, value] : model->config().provenance)
        if (key == "training" || key == "training_seconds" || key == "training_steps")
            report.trainingNote += (report.trainingNote.empty() ? "" : ", ") + key + " " + value;

    auto tell = [&](const std::string& stage) {
        if (options.progress)
            options.progress(stage);
    };
    int64_t clean = 0, viaPgd = 0, viaJiio = 0, viaTransfer = 0, robust = 0;
    for (int64_t first = 0; first < test.size(); first += options.batch) {
        const int64_t count = std::min<int64_t>(options.batch, test.size() - first);
        tell("attacking images " + std::to_string(first + 1) + "-" + std::to_string(first + count) + " of "
             + std::to_string(test.size()));
        const auto images = test.images.narrow(0, first, count).to(device);
        const auto labels = test.labels.narrow(0, first, count).to(device);
        const auto seed = options.seed * 1000003 + uint64_t(first);
        const auto zero = torch::zeros({count, images[0].numel()}, images.options());
        const auto cleanCorrect = correctAt(model, images, labels, zero, solve);
        const auto pgdAlive =
            survivePgd(model, images, labels, options, options.eps, options.pgdSteps, options.restarts, seed)
                .logical_and(cleanCorrect);

        AttackOptions jiio;
        jiio.norm = options.norm;
        jiio.eps = options.eps;
        jiio.iterations = options.jiioIterations;
        jiio.inner = solve;
        NullObserver quiet;
        const auto jiioAlive = attackClassifier(model, images, labels, jiio, quiet)
                                   .attacked.logits.argmax(1)
                                   .eq(labels)
                                   .logical_and(cleanCorrect);
        auto alive = pgdAlive.logical_and(jiioAlive);
        if (transferSource) {
            const auto fromSource = attackClassifier(*transferSource, images, labels, pgd(options, options.eps, seed),
                                                     quiet);
            const auto transferAlive =
                correctAt(model, images, labels, fromSource.perturbation, solve).logical_and(cleanCorrect);
            viaTransfer += transferAlive.sum().item<int64_t>();
            alive = alive.logical_and(transferAlive);
        }
        clean += cleanCorrect.sum().item<int64_t>();
        viaPgd += pgdAlive.sum().item<int64_t>();
        viaJiio += jiioAlive.sum().item<int64_t>();
        robust += alive.sum().item<int64_t>();
    }
    report.cleanAccuracy = percent(clean, test.size());
    report.pgdAccuracy = percent(viaPgd, test.size());
    report.jiioAccuracy = percent(viaJiio, test.size());
    report.robustAccuracy = percent(robust, test.size());
    if (transferSource)
        report.transferAccuracy = percent(viaTransfer, test.size());

    const int64_t sweepCount = std::min<int64_t>(options.sweepImages, test.size());
    tell("eps sweep on " + std::to_string(sweepCount) + " images");
    const auto sweepImages = test.images.narrow(0, 0, sweepCount).to(device);
    const auto sweepLabels = test.labels.narrow(0, 0, sweepCount).to(device);
    const auto sweepClean = correctAt(model, sweepImages, sweepLabels,
                                      torch::zeros({sweepCount, sweepImages[0].numel()}, sweepImages.options()), solve);
    for (const double eps : options.epsGrid.empty() ? defaultGrid(options.norm) : options.epsGrid) {
        const auto alive = eps > 0 ? survivePgd(model, sweepImages, sweepLabels, options, eps, options.sweepSteps,
                                                options.sweepRestarts, options.seed)
                                         .logical_and(sweepClean)
                                   : sweepClean;
        report.sweep.push_back({eps, percent(alive.sum().item<int64_t>(), sweepCount)});
    }

    const int64_t compared = std::min<int64_t>(options.comparisonImages, test.size());
    tell("timing JIIO against PGD on " + std::to_string(compared) + " images");
    report.comparison =
        compareAttacks(model, test.images.narrow(0, 0, compared).to(device), test.labels.narrow(0, 0, compared).to(device),
                       options);
    return report;
}

std::string adversarialTable(const AdversarialReport& report)
{
    auto out = classicStream();
    out << std::fixed << std::setprecision(2);
    out << "model " << report.model << " on " << report.images << " Fashion-MNIST test images, " << toString(report.norm)
        << " eps " << formatDouble(report.eps) << "\n";
    if (!report.trainingNote.empty())
        out << "(" << report.trainingNote << ")\n";
    out << "  clean accuracy                     " << std::setw(7) << report.cleanAccuracy << " %\n"
        << "  under PGD (all restarts)           " << std::setw(7) << report.pgdAccuracy << " %\n"
        << "  under JIIO's attack                " << std::setw(7) << report.jiioAccuracy << " %\n";
    if (std::isfinite(report.transferAccuracy))
        out << "  under transfer from " << std::left << std::setw(15) << report.transferSource << std::right
            << std::setw(7) << report.transferAccuracy << " %\n";
    out << "  robust (survives every attack)     " << std::setw(7) << report.robustAccuracy << " %\n\n";
    out << "accuracy under PGD against eps:\n";
    for (const auto& point : report.sweep)
        out << "  eps " << std::setw(6) << std::setprecision(3) << point.eps << "  " << std::setprecision(2)
            << std::setw(7) << point.accuracy << " %\n";
    const auto& c = report.comparison;
    out << "\nattack comparison on " << c.images << " images, to PGD's final mean cross-entropy "
        << std::setprecision(4) << c.targetLoss << ":\n"
        << "  PGD   " << std::setprecision(3) << c.pgdSeconds << " s, " << c.pgdEvaluations
        << " f-evaluations (final loss " << std::setprecision(4) << c.pgdFinalLoss << ")\n"
        << "  JIIO  " << std::setprecision(3) << c.jiioSeconds << " s, " << c.jiioEvaluations
        << " f-evaluations (final loss " << std::setprecision(4) << c.jiioFinalLoss << ")\n"
        << "  attack speedup (PGD time / JIIO time) " << std::setprecision(2) << c.speedup << "x\n";
    return out.str();
}

std::string adversarialJson(const AdversarialReport& report)
{
    auto value = [](double number) { return std::isfinite(number) ? nlohmann::json(number) : nlohmann::json(); };
    nlohmann::json sweep = nlohmann::json::array();
    for (const auto& point : report.sweep)
        sweep.push_back({{"eps", point.eps}, {"accuracy", value(point.accuracy)}});
    const auto& c = report.comparison;
    const nlohmann::json document = {
        {"model", report.model},
        {"images", report.images},
        {"norm", toString(report.norm)},
        {"eps", report.eps},
        {"clean_accuracy", value(report.cleanAccuracy)},
        {"robust_accuracy", value(report.robustAccuracy)},
        {"attack_speedup", value(c.speedup)},
        {"accuracy_under", {{"pgd", value(report.pgdAccuracy)}, {"jiio", value(report.jiioAccuracy)},
                            {"transfer", value(report.transferAccuracy)}, {"transfer_source", report.transferSource}}},
        {"eps_sweep", sweep},
        {"attack_comparison",
         {{"images", c.images}, {"target_loss", value(c.targetLoss)}, {"pgd_seconds", value(c.pgdSeconds)},
          {"jiio_seconds", value(c.jiioSeconds)}, {"pgd_f_evals", c.pgdEvaluations},
          {"jiio_f_evals", c.jiioEvaluations}, {"pgd_final_loss", value(c.pgdFinalLoss)},
          {"jiio_final_loss", value(c.jiioFinalLoss)}}},
        {"training", report.trainingNote},
    };
    return document.dump(2) + "\n";
}

} // namespace jiio
