// `jiio train --task classify|adversarial`: a DEQ classifier on Fashion-MNIST,
// trained on clean images or on images attacked at every step.
#include "cli_options.h"
#include "train_distributed.h"
#include "train_run.h"
#include "train_classifier.h"

#include "core/models/checkpoint.h"
#include "core/training/classifier_trainer.h"

#include <cstdio>

namespace jiio::cli {

namespace {

ClassifierData dataFrom(const QCommandLineParser& parser)
{
    const QStringList folders = parser.values("data");
    if (folders.size() > 1)
        throw UsageError("a classifier trains on one Fashion-MNIST folder");
    const std::string folder = folders.isEmpty() || folders.front() == "fashion-mnist" ? defaultFashionMnistFolder()
                                                                                        : toStd(folders.front());
    return fashionMnistTrainingData(folder);
}

} // namespace

int trainClassifier(const QCommandLineParser& parser, const std::string& output, bool adversarial,
                    TrainingObserver& progress)
{
    ClassifierTrainingOptions defaults, options;
    options.steps = intValue(parser, "steps", defaults.steps, 1, 10000000);
    options.batchSize = intValue(parser, "batch", defaults.batchSize, 1, 4096);
    options.learningRate = doubleValue(parser, "lr", defaults.learningRate, 0.0, 1.0);
    options.jacobianWeight = doubleValue(parser, "jacobian-weight", defaults.jacobianWeight, 0.0, 1e6);
    options.gainWeight = doubleValue(parser, "gain-weight", defaults.gainWeight, 0.0, 1e6);
    options.gainTarget = doubleValue(parser, "gain-target", defaults.gainTarget, 0.01, 10.0);
    options.checkpointEvery = intValue(parser, "checkpoint-every", defaults.checkpointEvery, 1, 10000000);
    options.validateEvery = intValue(parser, "validate-every", defaults.validateEvery, 1, 10000000);
    options.seed = uint64_t(intValue(parser, "seed", 0, 0, 2147483647));
    options.adversarial = adversarial;
    if (adversarial) {
        const std::string attack = toStd(parser.value("attack"));
        if (attack != "jiio" && attack != "pgd")
            throw UsageError("--attack must be jiio or pgd");
        options.attack.solver = attack == "pgd" ? AttackSolver::Pgd : AttackSolver::JiioPicard;
        options.attack.norm = attackNormFromString(toStd(parser.value("norm")));
        options.attack.eps = doubleValue(parser, "eps", defaults.attack.eps, 1e-6, 1000.0);
        options.attack.iterations = intValue(parser, "attack-iters", defaults.attack.iterations, 1, 100000);
    } else if (parser.isSet("attack") || parser.isSet("eps")) {
        throw UsageError("--attack and --eps belong to --task adversarial");
    }

    DeqModel model{nullptr};
    if (parser.isSet("init"))
        model = loadModelToFineTune(toStd(parser.value("init")));
    else
        model = DeqModel(ModelConfig::newModel(ModelKind::Classifier));
    if (model->config().kind != ModelKind::Classifier)
        throw UsageError("--task classify and adversarial train classifiers (jiio init --kind classifier)");
    auto data = dataFrom(parser);
    const auto parallel = joinDataParallelRun(parser);
    if (reportsProgress(parallel))
        std::fprintf(stderr, "training a classifier (%lld parameters) on %lld Fashion-MNIST images, %s\n",
                 (long long)model->parameterCount(), (long long)data.training.size(),
                 adversarial ? ("attacked by " + toString(options.attack.solver) + " in the "
                                + toString(options.attack.norm) + " ball of radius "
                                + std::to_string(options.attack.eps))
                                   .c_str()
                             : "clean");
    ClassifierTrainer trainer(model, options, std::move(data.training), std::move(data.validation), output);
    return runTrainerToEnd(trainer, trainingDevice(parser), parallel, output, progress);
}

int resumeClassifier(const QCommandLineParser& parser, const std::string& output, TrainingObserver& progress)
{
    auto data = dataFrom(parser);
    auto trainer = ClassifierTrainer::resume(output, std::move(data.training), std::move(data.validation));
    const auto parallel = joinDataParallelRun(parser);
    if (reportsProgress(parallel))
        std::fprintf(stderr, "resuming at step %d of %d\n", trainer.step(), trainer.options().steps);
    return runTrainerToEnd(trainer, trainingDevice(parser), parallel, output, progress);
}

} // namespace jiio::cli
