// `jiio init`: a new, untrained model (a starting point for training, and a
// small model for tests).
#include "cli_options.h"
#include "commands.h"

#include "core/io/atomic_file.h"
#include "core/models/checkpoint.h"

#include <cstdio>

namespace jiio::cli {

int runInit(const QStringList& arguments)
{
    QCommandLineParser parser;
    ModelConfig defaults;
    parser.addOptions({
        {"output", "Where to write the checkpoint.", "file"},
        {"kind",
         "restoration (default), generative, classifier (Fashion-MNIST's 28x28 gray, 10 classes) or fewshot (28x28 "
         "gray, up to 5 ways, a 32-dimensional task vector; --latent-channels sets its size, --prior its proximal "
         "weight lambda).",
         "kind", "restoration"},
        {"channels", "Image channels: 1 (gray) or 3 (RGB, default).", "C"},
        {"width", "Hidden channels at full resolution.", "W"},
        {"scales", "Resolutions in the cell (3 for a restoration model that sees the observation, otherwise 2).",
         "S"},
        {"latent-channels", "Channels of the optimised input.", "C"},
        {"latent-stride", "Pixels per latent cell.", "P"},
        {"image-size", "Generative models: image side length.", "N"},
        {"tile", "Tile size for large images.", "N"},
        {"overlap", "Tile overlap.", "N"},
        {"jiio-iters",
         "Default JIIO iteration budget (15 for a restoration model that sees the observation, otherwise 30).",
         "N"},
        {"prior", "Weight of the prior |x|^2 / 2.", "P"},
        {"no-weight-norm", "Plain convolutions instead of weight-normalised ones."},
        {"no-observation-injection",
         "Restoration models: the cell sees only the optimised input, not the observation (known pixels, mask, "
         "noise level) as well."},
        {"image-prior",
         "Restoration models: the optimised input is the image itself and the model a learned denoiser D, "
         "restoring by minimising data fidelity plus |x - D(x)|^2 (implies latent channels = channels, stride 1, "
         "prior weight 1, 20 iterations)."},
        {"weights-from",
         "Start from this model's weights wherever a parameter has the same name and shape (to grow a trained "
         "design, such as an image prior given the mask and noise-level maps); the rest start fresh.",
         "file"},
        {"seed", "Random seed (default 0).", "S", "0"},
    });
    if (!parseOrHelp(parser, arguments, "Write a new, untrained model checkpoint."))
        return 0;
    ModelConfig config = ModelConfig::newModel(modelKindFromString(toStd(parser.value("kind"))));
    if (parser.isSet("no-observation-injection")) {
        // The latent-only design: restoring through x alone takes the longer solve.
        config.imageConditioning = false;
        config.scales = defaults.scales;
        config.jiioIterations = defaults.jiioIterations;
    }
    config.imageChannels = intValue(parser, "channels", readsOutClasses(config.kind) ? 1 : 3, 1, 3);
    if (config.kind == ModelKind::FewShot) {
        config = ModelConfig::newFewShotModel(config.imageChannels, intValue(parser, "image-size", 28, 4, 1024),
                                              config.classes, config.latentChannels);
        defaults = config;
        if (parser.isSet("image-prior") || parser.isSet("no-observation-injection"))
            throw UsageError("--image-prior and --no-observation-injection are restoration options");
    }
    if (config.kind == ModelKind::Classifier) {
        // The classifier's own defaults (width 16, two scales, 28x28 images, no prior).
        config = ModelConfig::newClassifierModel(config.imageChannels, intValue(parser, "image-size", 28, 4, 1024),
                                                 config.classes);
        defaults = config;
        if (parser.isSet("image-prior") || parser.isSet("no-observation-injection"))
            throw UsageError("--image-prior and --no-observation-injection are restoration options");
    }
    if (parser.isSet("image-prior")) {
        if (config.kind != ModelKind::Restoration || parser.isSet("no-observation-injection"))
            throw UsageError("--image-prior makes a restoration model and needs no other design option");
        config = ModelConfig::newImagePriorModel(config.imageChannels);
        defaults.latentChannels = config.imageChannels;
        defaults.latentStride = 1;
        defaults.priorWeight = config.priorWeight;
    }
    config.width = intValue(parser, "width", defaults.width, 2, 1024);
    config.scales = intValue(parser, "scales", config.scales, 1, 4);
    config.latentChannels = intValue(parser, "latent-channels", defaults.latentChannels, 1, 1024);
    config.latentStride = intValue(parser, "latent-stride", defaults.latentStride, 1, 64);
    config.imageSize = intValue(parser, "image-size", defaults.imageSize, 4, 4096);
    config.tileSize = intValue(parser, "tile", defaults.tileSize, 16, 4096);
    config.tileOverlap = intValue(parser, "overlap", defaults.tileOverlap, 0, 2048);
    config.jiioIterations = intValue(parser, "jiio-iters", config.jiioIterations, 1, 100000);
    config.priorWeight = doubleValue(parser, "prior", defaults.priorWeight, 0.0, 1e6);
    config.weightNorm = !parser.isSet("no-weight-norm");
    config.groups = ModelConfig::groupsFor(config.width);
    config.provenance["created_by"] = "jiio init";
    config.validate();

    const std::string output = toStd(requireValue(parser, "output"));
    checkWritableLocation(output);
    torch::manual_seed(uint64_t(intValue(parser, "seed", 0, 0, 2147483647)));
    DeqModel model(config);
    if (parser.isSet("weights-from")) {
        const std::string sourcePath = toStd(parser.value("weights-from"));
        const LoadedModel source = loadModel(sourcePath);
        // Same-shaped tensors of another kind of model mean something else.
        if (source.config.kind != config.kind || source.config.imageChannels != config.imageChannels)
            throw Error(sourcePath + " is a " + std::to_string(source.config.imageChannels) + "-channel "
                        + toString(source.config.kind) + " model; --weights-from needs one of the new model's kind ("
                        + toString(config.kind) + ", " + std::to_string(config.imageChannels) + " channel(s))");
        const int copied = copyMatchingParameters(model, source.model);
        const int total = int(model->parameters().size());
        if (copied == 0)
            throw Error(sourcePath + " shares no parameter of the same name and shape with the new model");
        model->setProvenance("weights_from", sourcePath);
        std::printf("took %d of %d parameter tensors from %s\n", copied, total, sourcePath.c_str());
    }
    saveModel(output, model);
    std::printf("wrote %s %s model (%lld parameters) to %s\n", parser.isSet("weights-from") ? "warm-started" : "untrained",
                toString(config.kind).c_str(), (long long)model->parameterCount(), output.c_str());
    return 0;
}

} // namespace jiio::cli
