// `jiio eval --task adversarial`: clean and robust accuracy of a DEQ
// classifier on Fashion-MNIST's test split, an eps sweep, and JIIO's attack
// timed against PGD.
#include "cli_options.h"
#include "eval_adversarial.h"

#include "core/evaluation/adversarial_evaluation.h"
#include "core/io/atomic_file.h"
#include "core/models/checkpoint.h"
#include "core/models/model_locator.h"
#include "core/numbers.h"

#include <cstdio>
#include <filesystem>

namespace jiio::cli {

QStringList addAdversarialEvalOptions(QCommandLineParser& parser)
{
    return addTaskOptions(parser, {
        {"norm", "Adversarial: the attacks' ball, linf or l2 (default: the model's training norm, else linf).",
         "norm"},
        {"eps", "Adversarial: the ball's radius (default: the model's training eps, else 0.1).", "E"},
        {"pgd-steps", "Adversarial: steps of the strong PGD attack (default 50).", "N"},
        {"restarts", "Adversarial: random restarts of the strong PGD attack (default 5).", "N"},
        {"transfer-from",
         "Adversarial: replay PGD perturbations of this classifier (default: the shipped standard classifier, when "
         "it is not the evaluated model; 'none' for no transfer attack).",
         "file"},
    });
}

namespace {

std::string fileName(const std::string& path)
{
    return std::filesystem::path(path).filename().string();
}

// The norm and radius a model was adversarially trained at, from its
// provenance ("adversarial, jiio-anderson linf eps 0.1").
void trainingBall(const ModelConfig& config, AdversarialEvalOptions& options)
{
    const auto it = config.provenance.find("training");
    if (it == config.provenance.end() || it->second.rfind("adversarial", 0) != 0)
        return;
    const auto& text = it->second;
    options.norm = text.find(" l2 ") != std::string::npos ? AttackNorm::L2 : AttackNorm::LInf;
    const auto at = text.find("eps ");
    if (at != std::string::npos)
        if (const auto eps = parseDouble(text.substr(at + 4)))
            options.eps = *eps;
}

} // namespace

int runAdversarialEval(const QCommandLineParser& parser)
{
    const std::string modelPath = parser.isSet("model") ? toStd(parser.value("model"))
                                                        : locateShippedModel(kClassifierModelName);
    LoadedModel loaded = loadModel(modelPath);
    if (loaded.config.kind != ModelKind::Classifier)
        throw UsageError("'" + modelPath + "' is a " + toString(loaded.config.kind)
                         + " model; --task adversarial evaluates classifiers");
    placeModelOnDevice(parser, loaded.model);
    const std::string jsonPath = toStd(parser.value("json"));
    if (!jsonPath.empty())
        checkWritableLocation(jsonPath);

    AdversarialEvalOptions options;
    trainingBall(loaded.config, options);
    if (parser.isSet("norm"))
        options.norm = attackNormFromString(toStd(parser.value("norm")));
    options.eps = doubleValue(parser, "eps", options.eps, 1e-6, 1000.0);
    options.pgdSteps = intValue(parser, "pgd-steps", options.pgdSteps, 1, 100000);
    options.restarts = intValue(parser, "restarts", options.restarts, 1, 1000);
    options.seed = uint64_t(intValue(parser, "seed", 0, 0, 2147483647));
    const int count = intValue(parser, "count", 1000, 1, 10000);
    options.progress = [](const std::string& stage) { std::fprintf(stderr, "  %s\n", stage.c_str()); };

    DeqModel source{nullptr};
    std::string sourceName;
    const QString transfer = parser.value("transfer-from");
    if (transfer != "none") {
        std::string sourcePath;
        if (!transfer.isEmpty()) {
            sourcePath = toStd(transfer);
        } else {
            try {
                sourcePath = locateShippedModel(kClassifierModelName);
            } catch (const Error&) {
                std::fprintf(stderr, "note: no standard classifier found; no transfer attack\n");
            }
        }
        if (!sourcePath.empty() && std::filesystem::exists(sourcePath)
            && !(std::filesystem::equivalent(sourcePath, modelPath))) {
            source = loadModel(sourcePath).model;
            if (source->config().kind != ModelKind::Classifier)
                throw UsageError("--transfer-from needs a classifier");
            placeModelOnDevice(parser, source);
            sourceName = fileName(sourcePath);
        }
    }

    const std::string folder = parser.isSet("data") ? toStd(parser.value("data")) : defaultFashionMnistFolder();
    const auto test = loadFashionMnist(folder, FashionMnistSplit::Test, count);
    std::fprintf(stderr, "evaluating %s on %lld test images (%s eps %g; PGD %d steps x %d restarts)...\n",
                 fileName(modelPath).c_str(), (long long)test.size(), toString(options.norm).c_str(), options.eps,
                 options.pgdSteps, options.restarts);
    const auto report = evaluateRobustness(loaded.model, fileName(modelPath), test, options,
                                           source ? &source : nullptr, sourceName);
    std::fputs(adversarialTable(report).c_str(), stdout);
    if (!jsonPath.empty()) {
        writeFileAtomically(jsonPath, adversarialJson(report));
        std::printf("results written to %s\n", jsonPath.c_str());
    }
    return 0;
}

} // namespace jiio::cli
