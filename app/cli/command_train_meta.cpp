// `jiio train --task meta`: meta-training of a few-shot DEQ on Fashion-MNIST
// episodes, the task vector adapted by JIIO inside every step.
#include "cli_options.h"
#include "train_distributed.h"
#include "train_run.h"
#include "train_meta.h"

#include "core/models/checkpoint.h"
#include "core/training/meta_trainer.h"

#include <cstdio>

namespace jiio::cli {

namespace {

FashionMetaSplit splitFrom(const QCommandLineParser& parser)
{
    const QStringList folders = parser.values("data");
    if (folders.size() > 1)
        throw UsageError("meta-training reads one Fashion-MNIST folder");
    return fashionMetaSplit(folders.isEmpty() || folders.front() == "fashion-mnist" ? defaultFashionMnistFolder()
                                                                                     : toStd(folders.front()));
}

} // namespace

int trainMeta(const QCommandLineParser& parser, const std::string& output, TrainingObserver& progress)
{
    MetaTrainingOptions defaults, options;
    options.steps = intValue(parser, "steps", defaults.steps, 1, 10000000);
    options.episodesPerStep = intValue(parser, "episodes-per-step", defaults.episodesPerStep, 1, 256);
    options.ways = intValue(parser, "ways", defaults.ways, 2, 1000);
    options.shots = intValue(parser, "shots", defaults.shots, 1, 1000);
    options.queries = intValue(parser, "queries", defaults.queries, 1, 1000);
    options.adaptation.iterations = intValue(parser, "inner-iters", defaults.adaptation.iterations, 1, 100000);
    // First order by default: in float32 the implicit gradient's finite-
    // difference products are still too noisy to train with (README).
    options.meta.firstOrder = !parser.isSet("implicit");
    options.learningRate = doubleValue(parser, "lr", defaults.learningRate, 0.0, 1.0);
    options.jacobianWeight = doubleValue(parser, "jacobian-weight", defaults.jacobianWeight, 0.0, 1e6);
    options.gainWeight = doubleValue(parser, "gain-weight", defaults.gainWeight, 0.0, 1e6);
    options.gainTarget = doubleValue(parser, "gain-target", defaults.gainTarget, 0.01, 10.0);
    options.checkpointEvery = intValue(parser, "checkpoint-every", defaults.checkpointEvery, 1, 10000000);
    options.validateEvery = intValue(parser, "validate-every", defaults.validateEvery, 1, 10000000);
    options.seed = uint64_t(intValue(parser, "seed", 0, 0, 2147483647));

    DeqModel model{nullptr};
    if (parser.isSet("init"))
        model = loadModelToFineTune(toStd(parser.value("init")));
    else
        model = DeqModel(ModelConfig::newModel(ModelKind::FewShot));
    if (model->config().kind != ModelKind::FewShot)
        throw UsageError("--task meta trains few-shot models (jiio init --kind fewshot)");
    auto split = splitFrom(parser);
    const auto parallel = joinDataParallelRun(parser);
    if (reportsProgress(parallel))
        std::fprintf(stderr,
                 "meta-training a few-shot model (%lld parameters) on %d-way %d-shot episodes of %s, %s "
                 "meta-gradient\n",
                 (long long)model->parameterCount(), options.ways, options.shots, split.training.name.c_str(),
                 options.meta.firstOrder ? "first-order" : "implicit");
    MetaTrainer trainer(model, options, std::move(split.training), std::move(split.validation), output);
    return runTrainerToEnd(trainer, trainingDevice(parser), parallel, output, progress);
}

int resumeMeta(const QCommandLineParser& parser, const std::string& output, TrainingObserver& progress)
{
    auto split = splitFrom(parser);
    auto trainer = MetaTrainer::resume(output, std::move(split.training), std::move(split.validation));
    const auto parallel = joinDataParallelRun(parser);
    if (reportsProgress(parallel))
        std::fprintf(stderr, "resuming at step %d of %d\n", trainer.step(), trainer.options().steps);
    return runTrainerToEnd(trainer, trainingDevice(parser), parallel, output, progress);
}

} // namespace jiio::cli
