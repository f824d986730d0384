// `jiio eval`: a model against OpenCV's classical restoration on held-out
// images.
#include "cli_options.h"
#include "commands.h"
#include "eval_adversarial.h"
#include "eval_meta.h"

#include "core/evaluation/evaluation.h"
#include "core/io/atomic_file.h"
#include "core/io/image_io.h"
#include "core/models/checkpoint.h"
#include "core/models/model_locator.h"
#include "core/stop_signals.h"
#include "core/training/training_data.h"

#include <opencv2/imgproc.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>

namespace jiio::cli {

int runEval(const QStringList& arguments)
{
    QCommandLineParser parser;
    parser.addOptions({
        {"model", "Checkpoint (default: the shipped restoration model for --channels).", "file"},
        {"channels", "1 or 3 (default 3) when --model is not given.", "C"},
        {"data",
         "Folder (or image file) whose held-out (validation) images are used; repeatable, pooled and split as "
         "'jiio train --data' "
         "does (default: OpenCV's samples; for a generative model the Fashion-MNIST folder, whose test images are "
         "used).",
         "folder"},
        {"image", "Evaluate on this image instead (repeatable).", "file"},
        {"count", "Generative models: Fashion-MNIST test images to use (default 100).", "N"},
        {"crop", "Centre crop side length (default 256).", "N"},
        {"task",
         "restore (default: restoration and generative models), adversarial (a classifier's clean and robust "
         "accuracy on Fashion-MNIST's test split; --count images, default 1000) or meta (a few-shot model on "
         "unseen classes and on OpenCV's digits; --iters sets JIIO's inner budget, --naive-steps the naive loop's).",
         "task", "restore"},
        {"json", "Also write the results as JSON (every task).", "file"},
    });
    const QStringList adversarialOnly = addAdversarialEvalOptions(parser);
    const QStringList metaOnly = addMetaEvalOptions(parser);
    addSolverOptions(parser);
    addRuntimeOptions(parser);
    addDeviceOption(parser);
    if (!parseOrHelp(parser, arguments, "Compare a model with classical restoration (PSNR, SSIM, time)."))
        return 0;
    applyRuntimeOptions(parser);
    deviceFrom(parser); // a device this build or machine lacks is refused before any model or data is read
    const QString task = parser.value("task");
    if (task == "adversarial")
        return runAdversarialEval(parser);
    if (task == "meta")
        return runMetaEval(parser);
    if (task != "restore")
        throw UsageError("--task must be restore, adversarial or meta");
    for (const auto& [options, owner] : {std::pair{&adversarialOnly, "adversarial"}, std::pair{&metaOnly, "meta"}})
        for (const QString& option : *options)
            if (parser.isSet(option))
                throw UsageError("--" + toStd(option) + " belongs to --task " + owner);
    const std::string modelPath = parser.isSet("model")
        ? toStd(parser.value("model"))
        : locateDefaultRestorationModel(intValue(parser, "channels", 3, 1, 3));
    LoadedModel loaded = loadModel(modelPath);
    placeModelOnDevice(parser, loaded.model);
    const int channels = loaded.config.imageChannels;
    const std::string jsonPath = toStd(parser.value("json"));
    if (!jsonPath.empty())
        checkWritableLocation(jsonPath);
    const int crop = intValue(parser, "crop", 256, 16, 8192);

    std::vector<cv::Mat> images;
    for (const auto& path : parser.values("image"))
        images.push_back(readImage(toStd(path)).color);
    const bool generative = loaded.config.kind == ModelKind::Generative;
    if (images.empty() && generative) {
        const std::string folder = parser.isSet("data") ? toStd(parser.value("data")) : defaultFashionMnistFolder();
        images = fashionMnistTestImages(folder, intValue(parser, "count", 100, 1, 10000));
    } else if (images.empty()) {
        std::vector<std::string> folders;
        for (const auto& folder : parser.values("data"))
            folders.push_back(toStd(folder));
        if (folders.empty())
            folders.push_back(defaultImageFolder());
        images = splitImageFolders(folders, 64, [](const std::string&) {}).validationImages;
    }
    for (auto& color : images)
        if (color.channels() != channels)
            cv::cvtColor(color, color, channels == 1 ? cv::COLOR_RGB2GRAY : cv::COLOR_GRAY2RGB);
    const auto settings = solveSettingsFrom(parser, loaded.config);
    // Ctrl-C ends the evaluation with the images scored so far, table and JSON included.
    installStopSignalHandlers();
    EvaluationControl control;
    control.stopRequested = [] { return stopSignalReceived() != 0; };
    const auto started = std::chrono::steady_clock::now();
    control.onImageScored = [&](int scored, int total) {
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        std::fprintf(stderr, "scored image %d of %d (%.1f s)\n", scored, total, seconds);
    };
    const auto report = evaluateModel(loaded.model, std::filesystem::path(modelPath).filename().string(), images,
                                      settings, crop, uint64_t(intValue(parser, "seed", 0, 0, 2147483647)), control);
    std::fputs(evaluationTable(report).c_str(), stdout);
    if (!jsonPath.empty()) {
        writeFileAtomically(jsonPath, evaluationJson(report));
        std::printf("results written to %s\n", jsonPath.c_str());
    }
    const int signal = stopSignalReceived();
    if (signal != 0)
        std::fprintf(stderr, "jiio eval: stopped after %d of %d images\n", report.images, report.imagesRequested);
    return signal != 0 ? exitStatusForSignal(signal) : 0;
}

} // namespace jiio::cli
