// `jiio eval --task meta`: few-shot accuracy of a meta-trained DEQ on classes
// it never saw (Fashion-MNIST's last four) and on another domain (OpenCV's
// digits), JIIO's adaptation against the naive loop, no adaptation and
// nearest centroids, and the inner loops timed.
#include "cli_options.h"
#include "eval_meta.h"

#include "core/evaluation/meta_evaluation.h"
#include "core/io/atomic_file.h"
#include "core/models/checkpoint.h"
#include "core/models/model_locator.h"

#include <cstdio>
#include <filesystem>

namespace jiio::cli {

QStringList addMetaEvalOptions(QCommandLineParser& parser)
{
    return addTaskOptions(parser, {
        {"episodes", "Meta: test episodes per setting (default 600).", "N"},
        {"shots", "Meta: support images per class (default: 1 and 5, each a setting).", "K"},
        {"digits", "Meta: OpenCV's digits.png for the cross-domain episodes (default: opencv-doc's).", "file"},
        {"domain", "Meta: 'in' (Fashion-MNIST's unseen classes), 'cross' (OpenCV's digits) or 'both' (default).",
         "which"},
        {"naive-steps", "Meta: the naive loop's steps (default: the model's budget, 20, as --iters for JIIO).",
         "N"},
        {"lambda", "Meta: the inner problem's proximal weight (default: the model's, the one it was meta-trained "
                   "with).",
         "L"},
    });
}

int runMetaEval(const QCommandLineParser& parser)
{
    const std::string modelPath = parser.isSet("model") ? toStd(parser.value("model"))
                                                        : locateShippedModel(kFewShotModelName);
    LoadedModel loaded = loadModel(modelPath);
    if (loaded.config.kind != ModelKind::FewShot)
        throw UsageError("'" + modelPath + "' is a " + toString(loaded.config.kind)
                         + " model; --task meta evaluates few-shot models (jiio init --kind fewshot)");
    placeModelOnDevice(parser, loaded.model);
    const std::string jsonPath = toStd(parser.value("json"));
    if (!jsonPath.empty())
        checkWritableLocation(jsonPath);

    MetaEvalOptions options;
    options.episodes = intValue(parser, "episodes", options.episodes, 1, 1000000);
    options.timingEpisodes = std::min(options.timingEpisodes, options.episodes);
    options.naiveSteps = intValue(parser, "naive-steps", loaded.config.jiioIterations, 1, 100000);
    options.adaptation.iterations = intValue(parser, "iters", loaded.config.jiioIterations, 1, 100000);
    if (parser.isSet("lambda"))
        options.adaptation.lambda = doubleValue(parser, "lambda", 0.1, 0.0, 1e6);
    options.seed = uint64_t(intValue(parser, "seed", 0, 0, 2147483647));
    options.progress = [](const std::string& stage) { std::fprintf(stderr, "  %s\n", stage.c_str()); };
    const QString domain = parser.isSet("domain") ? parser.value("domain") : QString("both");
    if (domain != "in" && domain != "cross" && domain != "both")
        throw UsageError("--domain takes 'in', 'cross' or 'both', not '" + toStd(domain) + "'");
    options.inDomain = domain != "cross";
    options.crossDomain = domain != "in";
    std::vector<int> shots{1, 5};
    if (parser.isSet("shots"))
        shots = {intValue(parser, "shots", 5, 1, 1000)};

    const std::string folder = parser.isSet("data") ? toStd(parser.value("data")) : defaultFashionMnistFolder();
    const auto split = fashionMetaSplit(folder);
    const auto digits = loadOpenCvDigits(parser.isSet("digits") ? toStd(parser.value("digits")) : defaultDigitsPath());
    const std::string name = std::filesystem::path(modelPath).filename().string();
    std::fprintf(stderr, "evaluating %s on %d episodes per setting (%d queries per class)...\n", name.c_str(),
                 options.episodes, options.queries);
    const auto report = evaluateFewShot(loaded.model, name, split.test, digits, options, shots);
    std::fputs(metaTable(report).c_str(), stdout);
    if (!jsonPath.empty()) {
        writeFileAtomically(jsonPath, metaJson(report));
        std::printf("results written to %s\n", jsonPath.c_str());
    }
    return 0;
}

} // namespace jiio::cli
