// `jiio corrupt`: makes a restoration problem from a clean image.
#include "cli_options.h"
#include "commands.h"

#include "core/io/image_io.h"
#include "core/tasks/restoration/corruption.h"
#include "core/tasks/restoration/restoration_objective.h"

#include <cstdio>

namespace jiio::cli {

int runCorrupt(const QStringList& arguments)
{
    QCommandLineParser parser;
    parser.addOptions({
        {"task", "denoise (add Gaussian noise) or inpaint (cut holes).", "task"},
        {"input", "The clean image.", "file"},
        {"output", "The corrupted image.", "file"},
        {"sigma", "Denoising: noise standard deviation on the 0-255 scale.", "S"},
        {"mask-out", "Inpainting: where to write the mask (non-zero = missing).", "file"},
        {"mask-kind", "Inpainting: blocks (default), strokes or pixels.", "kind", "blocks"},
        {"amount", "Block side in pixels, stroke count, or missing fraction (default 32, 12, 0.5).", "A"},
        {"seed", "Random seed (default 0).", "S", "0"},
    });
    if (!parseOrHelp(parser, arguments, "Make a test problem from a clean image."))
        return 0;
    const Task task = taskFromString(toStd(requireValue(parser, "task")));
    const std::string input = toStd(requireValue(parser, "input"));
    const std::string output = toStd(requireValue(parser, "output"));
    const uint64_t seed = uint64_t(intValue(parser, "seed", 0, 0, 2147483647));
    ImageData image = readImage(input);
    if (task == Task::Denoise) {
        const double sigma = doubleValue(parser, "sigma", -1, 0.0, 255.0);
        if (sigma < 0)
            throw UsageError("denoising needs --sigma");
        image.color = addGaussianNoise(image.color, sigma, seed);
        writeImage(output, image);
    } else if (task == Task::Inpaint) {
        const std::string maskPath = toStd(requireValue(parser, "mask-out"));
        const MaskKind kind = maskKindFromString(toStd(parser.value("mask-kind")));
        const double fallback = kind == MaskKind::Blocks ? 32 : kind == MaskKind::Strokes ? 12 : 0.5;
        const cv::Mat mask = makeMask(image.height(), image.width(), kind,
                                      doubleValue(parser, "amount", fallback, 0.0, 1e6), seed);
        image.color.setTo(cv::Scalar::all(0), mask);
        ImageData maskImage;
        mask.convertTo(maskImage.color, CV_32F, 1.0 / 255.0);
        writeImage(maskPath, maskImage);
        writeImage(output, image);
        std::printf("mask written to %s\n", maskPath.c_str());
    } else {
        throw UsageError("corrupt supports denoise and inpaint");
    }
    std::printf("corrupted image written to %s\n", output.c_str());
    return 0;
}

} // namespace jiio::cli
