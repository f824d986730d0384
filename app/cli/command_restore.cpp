// `jiio restore` and `jiio solve`: one image, one method, optional trace.
#include "cli_options.h"
#include "commands.h"
#include "stoppable_trace.h"

#include "core/io/atomic_file.h"
#include "core/io/image_io.h"
#include "core/io/metrics.h"
#include "core/models/checkpoint.h"
#include "core/models/model_locator.h"
#include "core/numbers.h"
#include "core/solvers/trace.h"
#include "core/stop_signals.h"
#include "core/tasks/restoration/restore.h"

#include <QDir>
#include <QFileInfo>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <sstream>

namespace jiio::cli {

namespace {

enum class Mode { Restore, Solve };

// Fails before any work when the output's format cannot hold the image, so a
// long solve never ends in a write error.
void checkOutputFormat(const std::string& path, const ImageData& like)
{
    const auto extension = QFileInfo(QString::fromStdString(path)).suffix();
    if (extension.isEmpty())
        throw Error("cannot write '" + path + "': the file name needs an extension such as .png");
    if (QFileInfo(QString::fromStdString(path)).isDir())
        throw Error("cannot write '" + path + "': it is a folder");
    ImageData probe;
    probe.color = cv::Mat::zeros(2, 2, like.color.type());
    probe.depth = like.depth;
    if (!like.alpha.empty())
        probe.alpha = cv::Mat::zeros(2, 2, like.alpha.type());
    encodeImage(probe, "." + toStd(extension));
}

std::string settingsText(const QCommandLineParser& parser, const RestoreRequest& request, const std::string& model)
{
    auto out = classicStream();
    out << "model = " << model << "\n"
        << "task = " << toString(request.task) << "\n"
        << "sigma = " << request.sigma << "\n"
        << "solver = " << toString(request.solver.method) << "\n"
        << "iterations = " << request.solver.jiio.maxIterations << "\n"
        << "tolerance = " << request.solver.jiio.tolerance << "\n"
        << "alpha_z = " << request.solver.jiio.alphaZ << "\n"
        << "alpha_mu = " << request.solver.jiio.alphaMu << "\n"
        << "alpha_x = " << request.solver.jiio.alphaX << "\n"
        << "alpha_x_late = " << request.solver.jiio.alphaXLate << "\n"
        << "anderson_memory = " << request.solver.jiio.andersonMemory << "\n"
        << "seed = " << toStd(parser.value("seed")) << "\n"
        << "threads = " << torch::get_num_threads() << "\n";
    return out.str();
}

nlohmann::json finiteOrNull(double value)
{
    return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json();
}

nlohmann::json settingsJson(const RestoreRequest& request)
{
    const auto& jiio = request.solver.jiio;
    return {{"method", toString(request.solver.method)}, {"iterations", jiio.maxIterations},
            {"tolerance", jiio.tolerance},                {"alpha_z", jiio.alphaZ},
            {"alpha_mu", jiio.alphaMu},                   {"alpha_x", jiio.alphaX},
            {"alpha_x_late", jiio.alphaXLate},            {"anderson_memory", jiio.andersonMemory}};
}

// The --input values, a folder standing for the images in it (by name).
QStringList inputImages(const QCommandLineParser& parser)
{
    const QStringList given = parser.values("input");
    if (given.isEmpty())
        throw UsageError("missing required option --input");
    if (given.size() == 1 && QFileInfo(given.front()).isDir()) {
        QStringList images;
        const QDir folder(given.front());
        for (const QString& name : folder.entryList({"*.png", "*.jpg", "*.jpeg", "*.tif", "*.tiff", "*.bmp", "*.webp",
                                                     "*.PNG", "*.JPG", "*.JPEG", "*.TIF", "*.TIFF", "*.BMP", "*.WEBP"},
                                                    QDir::Files, QDir::Name))
            images.push_back(folder.filePath(name));
        if (images.isEmpty())
            throw Error("the folder '" + toStd(given.front()) + "' holds no image (PNG, JPEG, TIFF, BMP, WebP)");
        return images;
    }
    for (const QString& path : given)
        if (QFileInfo(path).isDir())
            throw UsageError("give one folder or image files, not both");
    return given;
}

int run(const QStringList& arguments, Mode mode)
{
    QCommandLineParser parser;
    parser.addOptions({
        {"task", "denoise, inpaint, or reconstruct (fit a generative model's latent code).", "task"},
        {"input",
         "The image to restore (PNG, JPEG, TIFF, BMP, WebP; 8/16-bit; gray, RGB or RGBA). Repeat it, or name a "
         "folder, to restore several images into --output-dir.",
         "file"},
        {"output", "Where to write the result (same channels and depth as the input).", "file"},
        {"output-dir", "Several inputs: the folder their results go to, under their own names.", "folder"},
        {"mask",
         "Inpainting: single-channel image, non-zero marks a missing pixel; with several inputs one for all or one "
         "per input, in order.",
         "file"},
        {"json", "Also write what was done as JSON: model, settings, and per image iterations, time, objective, "
                 "stop reason (and PSNR/SSIM with --reference).",
         "file"},
        {"sigma", "Denoising: noise standard deviation on the 0-255 scale.", "S"},
        {"model",
         "Checkpoint to use (default: the shipped restoration model for the image's channels, or the shipped "
         "generative model for reconstruct).",
         "file"},
        {"trace", "Write the per-iteration trace as CSV (and the run's settings beside it).", "file.csv"},
        {"reference", "Clean image: report PSNR and SSIM of the result against it.", "file"},
        {"tile-batch", "Tiles solved together for large images (default 4).", "N"},
        {"quiet", "Print nothing on success."},
    });
    addSolverOptions(parser);
    addRuntimeOptions(parser);
    addDeviceOption(parser);
    const QString description = mode == Mode::Restore
        ? "Restore an image: denoise it or fill its masked pixels."
        : "Run one method on one problem and write the per-iteration trace.";
    if (!parseOrHelp(parser, arguments, description))
        return 0;

    RestoreRequest request;
    request.task = taskFromString(toStd(requireValue(parser, "task")));
    const QStringList inputs = inputImages(parser);
    const bool several = inputs.size() > 1 || QFileInfo(parser.value("input")).isDir();
    if (several && mode == Mode::Solve)
        throw UsageError("jiio solve takes one --input");
    if (several && parser.isSet("output"))
        throw UsageError("several inputs are written to --output-dir, not --output");
    if (several && (parser.isSet("trace") || parser.isSet("reference")))
        throw UsageError("--trace and --reference are for one input");
    if (!several && parser.isSet("output-dir"))
        throw UsageError("--output-dir is for several inputs (or a folder); one input is written to --output");
    const std::string outputDir = toStd(parser.value("output-dir"));
    if (several && outputDir.empty())
        throw UsageError("several inputs need --output-dir");
    const std::string tracePath = mode == Mode::Solve ? toStd(requireValue(parser, "trace")) : toStd(parser.value("trace"));
    if (request.task == Task::Inpaint && !parser.isSet("mask"))
        throw UsageError("inpainting needs --mask");
    if (request.task == Task::Denoise && !parser.isSet("sigma"))
        throw UsageError("denoising needs --sigma");
    if (request.task == Task::Denoise && parser.isSet("mask"))
        throw UsageError("--mask is for inpainting");
    const QStringList masks = parser.values("mask");
    if (masks.size() > 1 && masks.size() != inputs.size())
        throw UsageError("give one --mask for every input, or one for all");
    request.sigma = doubleValue(parser, "sigma", 0.0, 0.0, 255.0);
    request.tileBatch = intValue(parser, "tile-batch", request.tileBatch, 1, 1024);
    applyRuntimeOptions(parser);
    const std::string jsonPath = toStd(parser.value("json"));
    if (!jsonPath.empty())
        checkWritableLocation(jsonPath);
    if (several)
        std::filesystem::create_directories(outputDir);

    // The model: --model, else the default for the first image's channels
    // (that image, decoded for it, is not decoded again).
    std::optional<ImageData> firstInput;
    std::string modelPath;
    if (parser.isSet("model"))
        modelPath = toStd(parser.value("model"));
    else if (request.task == Task::Reconstruct)
        modelPath = locateDefaultGenerativeModel();
    else {
        firstInput = readImage(toStd(inputs.front()));
        modelPath = locateDefaultRestorationModel(firstInput->colorChannels());
    }
    LoadedModel loaded = loadModel(modelPath);
    placeModelOnDevice(parser, loaded.model);
    request.solver = solveSettingsFrom(parser, loaded.config);

    // Ctrl-C or SIGTERM ends the solve under way early (its best iterate is
    // written, marked "stop requested") and skips the images after it.
    installStopSignalHandlers();
    nlohmann::json results = nlohmann::json::array();
    int failures = 0;
    for (int i = 0; i < inputs.size() && stopSignalReceived() == 0; ++i) {
        const std::string inputPath = toStd(inputs.at(i));
        try {
            const std::string outputPath = several
                ? (std::filesystem::path(outputDir) / std::filesystem::path(inputPath).filename()).string()
                : mode == Mode::Restore ? toStd(requireValue(parser, "output")) : toStd(parser.value("output"));
            const ImageData input = i == 0 && firstInput ? *firstInput : readImage(inputPath);
            if (request.task == Task::Inpaint)
                request.missingMask = readMask(toStd(masks.size() > 1 ? masks.at(i) : masks.front()));
            ImageData reference;
            if (parser.isSet("reference")) {
                reference = readImage(toStd(parser.value("reference")));
                if (reference.color.size() != input.color.size() || reference.colorChannels() != input.colorChannels())
                    throw Error("the reference image differs from the input in size or channels");
            }
            if (!outputPath.empty())
                checkOutputFormat(outputPath, input);
            validateRestore(loaded.config, input, request);

            StoppableTrace trace;
            const auto outcome = restoreImage(loaded.model, input, request, trace);
            if (!outputPath.empty())
                writeImage(outputPath, outcome.image);
            if (!tracePath.empty()) {
                trace.saveCsv(tracePath);
                writeFileAtomically(tracePath + ".settings", settingsText(parser, request, modelPath));
            }
            nlohmann::json result = {
                {"input", inputPath},
                {"output", outputPath.empty() ? nlohmann::json() : nlohmann::json(outputPath)},
                {"iterations", outcome.iterations},
                {"segments", outcome.segments},
                {"seconds", outcome.seconds},
                {"objective", finiteOrNull(outcome.objective)},
                {"stop_reason", stopReasonName(outcome.worstReason)},
            };
            const QString progress = several ? QString("[%1/%2] ").arg(i + 1).arg(inputs.size()) : QString();
            if (!parser.isSet("quiet")) {
                std::printf("%s%s: %s with %s, %d iteration(s) over %d segment(s), %.2f s, objective %.6g (%s)\n",
                            qPrintable(progress), inputPath.c_str(), toString(request.task).c_str(),
                            toString(request.solver.method).c_str(), outcome.iterations, outcome.segments,
                            outcome.seconds, outcome.objective, stopReasonName(outcome.worstReason));
                std::fflush(stdout);
            }
            if (!reference.color.empty()) {
                const double quality = psnr(reference.color, outcome.image.color);
                const double structure = ssim(reference.color, outcome.image.color);
                result["psnr_db"] = finiteOrNull(quality);
                result["ssim"] = finiteOrNull(structure);
                if (!parser.isSet("quiet"))
                    std::printf("PSNR %.2f dB, SSIM %.4f against %s\n", quality, structure,
                                toStd(parser.value("reference")).c_str());
            }
            if (!parser.isSet("quiet") && !several) {
                if (!outputPath.empty())
                    std::printf("result written to %s\n", outputPath.c_str());
                if (!tracePath.empty())
                    std::printf("trace written to %s\n", tracePath.c_str());
            }
            results.push_back(result);
        } catch (const std::exception& e) {
            if (!several)
                throw;
            // One bad file in a folder does not stop the others; the exit status says so.
            ++failures;
            std::fprintf(stderr, "[%d/%lld] %s: error: %s\n", i + 1, (long long)inputs.size(), inputPath.c_str(),
                         oneLine(e.what()).c_str());
            results.push_back({{"input", inputPath}, {"error", oneLine(e.what())}});
        }
    }
    const long long written = (long long)results.size() - failures;
    if (several && !parser.isSet("quiet"))
        std::printf("%lld of %lld results written to %s\n", written, (long long)inputs.size(), outputDir.c_str());
    if (!jsonPath.empty()) {
        nlohmann::json document = {
            {"command", mode == Mode::Restore ? "restore" : "solve"},
            {"model", modelPath},
            {"task", toString(request.task)},
            {"sigma", request.sigma},
            {"solver", settingsJson(request)},
            {"threads", torch::get_num_threads()},
            {"images", results},
        };
        writeFileAtomically(jsonPath, document.dump(2) + "\n");
    }
    if (const int signal = stopSignalReceived()) {
        std::fprintf(stderr, "jiio %s: stopped after %lld of %lld image(s)\n", mode == Mode::Restore ? "restore" : "solve",
                     (long long)results.size(), (long long)inputs.size());
        return exitStatusForSignal(signal);
    }
    return failures == 0 ? 0 : 1;
}

} // namespace

int runRestore(const QStringList& arguments)
{
    return run(arguments, Mode::Restore);
}

int runSolve(const QStringList& arguments)
{
    return run(arguments, Mode::Solve);
}

} // namespace jiio::cli
