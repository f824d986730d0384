// `jiio attack`: an adversarial perturbation of one image against a DEQ
// classifier, by JIIO or by PGD through the equilibrium.
#include "cli_options.h"
#include "commands.h"
#include "stoppable_trace.h"

#include "core/io/fashion_mnist.h"
#include "core/io/image_io.h"
#include "core/models/checkpoint.h"
#include "core/models/model_device.h"
#include "core/tasks/adversarial/attack.h"

#include <opencv2/imgproc.hpp>

#include <cstdio>

namespace jiio::cli {

namespace {

std::string className(int index, int classes)
{
    const auto& names = fashionMnistClassNames();
    return classes == int(names.size()) ? names[size_t(index)] : "class " + std::to_string(index);
}

void printClass(const char* what, const torch::Tensor& logits)
{
    const auto probabilities = torch::softmax(logits, 1)[0];
    const int best = int(probabilities.argmax().item<int64_t>());
    std::printf("%-12s %d %-12s p = %.3f   (", what, best, className(best, int(logits.size(1))).c_str(),
                probabilities[best].item<double>());
    const auto top = probabilities.topk(3);
    for (int k = 0; k < 3; ++k) {
        const int index = int(std::get<1>(top)[k].item<int64_t>());
        std::printf("%s%s %.3f", k ? ", " : "", className(index, int(logits.size(1))).c_str(),
                    std::get<0>(top)[k].item<double>());
    }
    std::printf(")\n");
}

// The image as the classifier's input [1, C, S, S] in [0, 1], on 8-bit levels.
torch::Tensor classifierInput(const ImageData& input, const ModelConfig& config)
{
    cv::Mat image = input.color;
    if (image.channels() != config.imageChannels)
        cv::cvtColor(image, image, config.imageChannels == 1 ? cv::COLOR_RGB2GRAY : cv::COLOR_GRAY2RGB);
    if (image.rows != config.imageSize || image.cols != config.imageSize) {
        std::fprintf(stderr, "note: the %dx%d image is resized to the classifier's %dx%d\n", image.cols, image.rows,
                     config.imageSize, config.imageSize);
        cv::resize(image, image, cv::Size(config.imageSize, config.imageSize), 0, 0, cv::INTER_AREA);
    }
    image = fromBytes(toBytes(image)); // what the written image can hold
    auto tensor = torch::from_blob(image.data, {1, image.rows, image.cols, image.channels()}, torch::kFloat32);
    // A copy: for one channel the permuted view is already contiguous and
    // would still point into `image`, which ends with this function.
    return tensor.permute({0, 3, 1, 2}).clone(at::MemoryFormat::Contiguous);
}

// Rounds the attacked image to 8 bits toward the clean one, so the file stays
// inside the ball and the pixel range: the written image is the attack.
torch::Tensor toByteLevelsTowardClean(const torch::Tensor& adversarial, const torch::Tensor& clean)
{
    return clean + ((adversarial - clean) * 255.0).trunc() / 255.0;
}

} // namespace

int runAttack(const QStringList& arguments)
{
    QCommandLineParser parser;
    AttackOptions defaults;
    parser.addOptions({
        {"model", "A classifier checkpoint (jiio init --kind classifier, jiio train --task classify).", "file"},
        {"input", "The image to attack (resized to the classifier's size when it differs).", "file"},
        {"label", "Its true class (default: the class the model gives the clean image).", "K"},
        {"norm", "Ball of the perturbation: linf (default) or l2.", "norm", "linf"},
        {"eps", "Radius of the ball in pixel units of [0, 1] (default 0.1).", "E"},
        {"solver", "jiio-picard (default), jiio-anderson or pgd.", "solver", "jiio-picard"},
        {"iters", "JIIO iterations or PGD steps (default 20).", "N"},
        {"step", "Step size per iteration in the ball's norm (default 2.5 eps / iterations; for JIIO at least eps / 10).",
         "S"},
        {"random-start", "Start from a random point of the ball instead of the clean image."},
        {"output", "Where to write the attacked image.", "file"},
        {"trace", "Write the per-iteration trace as CSV.", "file.csv"},
    });
    addRuntimeOptions(parser);
    addDeviceOption(parser);
    if (!parseOrHelp(parser, arguments, "Find an adversarial perturbation of an image against a DEQ classifier."))
        return 0;
    applyRuntimeOptions(parser);
    deviceFrom(parser); // a device this build or machine lacks is refused before anything is read
    const std::string modelPath = toStd(requireValue(parser, "model"));
    const std::string inputPath = toStd(requireValue(parser, "input"));
    const std::string outputPath = toStd(requireValue(parser, "output"));
    AttackOptions options;
    options.norm = attackNormFromString(toStd(parser.value("norm")));
    options.eps = doubleValue(parser, "eps", defaults.eps, 1e-6, 1000.0);
    options.solver = attackSolverFromString(toStd(parser.value("solver")));
    options.iterations = intValue(parser, "iters", defaults.iterations, 1, 100000);
    options.stepSize = doubleValue(parser, "step", 0.0, 0.0, 1000.0);
    options.randomStart = parser.isSet("random-start");

    auto loaded = loadModel(modelPath);
    if (loaded.config.kind != ModelKind::Classifier)
        throw Error("'" + modelPath + "' is a " + toString(loaded.config.kind) + " model; attacks need a classifier");
    placeModelOnDevice(parser, loaded.model);
    const auto clean = classifierInput(readImage(inputPath), loaded.config).to(modelDevice(loaded.model));
    const auto layout = classifierLayout(loaded.model, clean);
    const auto cleanResult =
        classifyAt(loaded.model, layout, torch::zeros({1, layout.latentSize}, clean.options()), options.inner);
    const int64_t label = parser.isSet("label") ? intValue(parser, "label", 0, 0, loaded.config.classes - 1)
                                                : cleanResult.logits.argmax(1).item<int64_t>();
    const auto labels = torch::full({1}, label, clean.options().dtype(torch::kInt64));

    installStopSignalHandlers(); // Ctrl-C: the perturbation so far is still written
    std::fprintf(stderr, "attacking %s: %s, %d iteration(s)...\n", inputPath.c_str(), toString(options.solver).c_str(),
                 options.iterations);
    StoppableTrace trace;
    const auto result = attackClassifier(loaded.model, clean, labels, options, trace);
    const auto written = toByteLevelsTowardClean(result.adversarial, clean);
    const auto writtenResult =
        classifyAt(loaded.model, layout, (written - clean).permute({0, 2, 3, 1}).reshape({1, -1}), options.inner);

    ImageData output;
    const auto plane = written[0].permute({1, 2, 0}).to(torch::kCPU).contiguous();
    output.color = cv::Mat(int(plane.size(0)), int(plane.size(1)), CV_32FC(int(plane.size(2))), plane.data_ptr())
                       .clone();
    writeImage(outputPath, output);
    if (parser.isSet("trace"))
        trace.saveCsv(toStd(parser.value("trace")));

    const auto delta = written - clean;
    std::printf("true class   %lld %s\n", (long long)label, className(int(label), loaded.config.classes).c_str());
    printClass("clean", cleanResult.logits);
    printClass("adversarial", writtenResult.logits);
    std::printf("%s attack, %s eps %g: |delta|_inf %.4f, |delta|_2 %.4f; %d iterations, %lld f-evaluations, "
                "%.3f s\n",
                toString(options.solver).c_str(), toString(options.norm).c_str(), options.eps,
                delta.abs().max().item<double>(), delta.norm().item<double>(), result.solve.iterations,
                (long long)result.solve.functionEvaluations, result.solve.elapsedSeconds);
    std::printf("%s\nadversarial image written to %s\n",
                writtenResult.logits.argmax(1).item<int64_t>() == label ? "the class did not change"
                                                                         : "the class changed",
                outputPath.c_str());
    if (const int signal = stopSignalReceived()) {
        std::fprintf(stderr, "jiio attack: stopped after %d iteration(s); the perturbation so far is written\n",
                     result.solve.iterations);
        return exitStatusForSignal(signal);
    }
    return 0;
}

} // namespace jiio::cli
