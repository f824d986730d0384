// `jiio restore` and `jiio solve`: one image, one method, optional trace.
#include "cli_options.h"
#include "commands.h"

#include "core/io/atomic_file.h"
#include "core/io/image_io.h"
#include "core/io/metrics.h"
#include "core/models/checkpoint.h"
#include "core/models/model_locator.h"
#include "core/numbers.h"
#include "core/solvers/trace.h"
#include "core/tasks/restoration/restore.h"

#include <QFileInfo>

#include <cstdio>
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

int run(const QStringList& arguments, Mode mode)
{
    QCommandLineParser parser;
    parser.addOptions({
        {"task", "denoise, inpaint, or reconstruct (fit a generative model's latent code).", "task"},
        {"input", "The image to restore (PNG, JPEG, TIFF, BMP, WebP; 8/16-bit; gray, RGB or RGBA).", "file"},
        {"output", "Where to write the result (same channels and depth as the input).", "file"},
        {"mask", "Inpainting: single-channel image, non-zero marks a missing pixel.", "file"},
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
    const QString description = mode == Mode::Restore
        ? "Restore an image: denoise it or fill its masked pixels."
        : "Run one method on one problem and write the per-iteration trace.";
    if (!parseOrHelp(parser, arguments, description))
        return 0;

    RestoreRequest request;
    request.task = taskFromString(toStd(requireValue(parser, "task")));
    const std::string inputPath = toStd(requireValue(parser, "input"));
    const std::string outputPath = mode == Mode::Restore ? toStd(requireValue(parser, "output"))
                                                         : toStd(parser.value("output"));
    const std::string tracePath = mode == Mode::Solve ? toStd(requireValue(parser, "trace")) : toStd(parser.value("trace"));
    if (request.task == Task::Inpaint && !parser.isSet("mask"))
        throw UsageError("inpainting needs --mask");
    if (request.task == Task::Denoise && !parser.isSet("sigma"))
        throw UsageError("denoising needs --sigma");
    if (request.task == Task::Denoise && parser.isSet("mask"))
        throw UsageError("--mask is for inpainting");
    request.sigma = doubleValue(parser, "sigma", 0.0, 0.0, 255.0);
    request.tileBatch = intValue(parser, "tile-batch", request.tileBatch, 1, 1024);
    applyRuntimeOptions(parser);

    const ImageData input = readImage(inputPath);
    if (request.task == Task::Inpaint)
        request.missingMask = readMask(toStd(parser.value("mask")));
    ImageData reference;
    if (parser.isSet("reference")) {
        reference = readImage(toStd(parser.value("reference")));
        if (reference.color.size() != input.color.size() || reference.colorChannels() != input.colorChannels())
            throw Error("the reference image differs from the input in size or channels");
    }
    if (!outputPath.empty())
        checkOutputFormat(outputPath, input);

    const std::string modelPath = parser.isSet("model") ? toStd(parser.value("model"))
        : request.task == Task::Reconstruct ? locateDefaultGenerativeModel()
                                            : locateDefaultRestorationModel(input.colorChannels());
    LoadedModel loaded = loadModel(modelPath);
    request.solver = solveSettingsFrom(parser, loaded.config);
    validateRestore(loaded.config, input, request);

    TraceRecorder trace;
    const auto outcome = restoreImage(loaded.model, input, request, trace);
    if (!outputPath.empty())
        writeImage(outputPath, outcome.image);
    if (!tracePath.empty()) {
        trace.saveCsv(tracePath);
        writeFileAtomically(tracePath + ".settings", settingsText(parser, request, modelPath));
    }
    if (!parser.isSet("quiet")) {
        std::printf("%s: %s with %s, %d iteration(s) over %d segment(s), %.2f s, objective %.6g (%s)\n",
                    inputPath.c_str(), toString(request.task).c_str(), toString(request.solver.method).c_str(),
                    outcome.iterations, outcome.segments, outcome.seconds, outcome.objective,
                    stopReasonName(outcome.worstReason));
        if (!reference.color.empty())
            std::printf("PSNR %.2f dB, SSIM %.4f against %s\n", psnr(reference.color, outcome.image.color),
                        ssim(reference.color, outcome.image.color), toStd(parser.value("reference")).c_str());
        if (!outputPath.empty())
            std::printf("result written to %s\n", outputPath.c_str());
        if (!tracePath.empty())
            std::printf("trace written to %s\n", tracePath.c_str());
    }
    return 0;
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
