#include "models/model_config.h"

#include "error.h"
#include "numbers.h"

#include <limits>
#include <numeric>
#include <sstream>

namespace jiio {

namespace {

const char* const kFormatTag = "jiio-model-1";
const char* const kProvenancePrefix = "provenance.";

int toInt(const std::string& key, const std::string& value)
{
    const auto result = parseInteger(value);
    if (!result || *result < std::numeric_limits<int>::min() || *result > std::numeric_limits<int>::max())
        throw Error("model configuration: '" + key + "' is not an integer");
    return int(*result);
}

double toDouble(const std::string& key, const std::string& value)
{
    const auto result = parseDouble(value);
    if (!result)
        throw Error("model configuration: '" + key + "' is not a number");
    return *result;
}

} // namespace

std::string toString(ModelKind kind)
{
    switch (kind) {
    case ModelKind::Restoration:
        return "restoration";
    case ModelKind::Generative:
        return "generative";
    case ModelKind::Classifier:
        return "classifier";
    case ModelKind::FewShot:
        return "fewshot";
    }
    return "unknown";
}

ModelKind modelKindFromString(const std::string& text)
{
    if (text == "restoration")
        return ModelKind::Restoration;
    if (text == "generative")
        return ModelKind::Generative;
    if (text == "classifier")
        return ModelKind::Classifier;
    if (text == "fewshot")
        return ModelKind::FewShot;
    throw Error("model configuration: unknown model kind '" + text + "'");
}

ModelConfig ModelConfig::newImagePriorModel(int channels)
{
    ModelConfig config;
    config.kind = ModelKind::Restoration;
    config.imageInput = true;
    config.imageChannels = channels;
    config.latentChannels = channels;
    config.latentStride = 1;
    config.scales = 3;
    config.priorWeight = 1.0;
    config.jiioIterations = 20;
    config.priorConditioning = true;
    return config;
}

ModelConfig ModelConfig::newClassifierModel(int channels, int imageSize, int classes)
{
    ModelConfig config;
    config.kind = ModelKind::Classifier;
    config.imageChannels = channels;
    config.latentChannels = channels;
    config.latentStride = 1;
    config.imageSize = imageSize;
    config.classes = classes;
    config.width = 16;
    config.scales = 2;
    config.priorWeight = 0; // an attack's budget is its ball, not a penalty
    config.jiioIterations = 20;
    return config;
}

ModelConfig ModelConfig::newFewShotModel(int channels, int imageSize, int ways, int taskDimensions,
                                         int classEmbedding)
{
    ModelConfig config;
    config.kind = ModelKind::FewShot;
    config.imageChannels = channels;
    config.latentChannels = taskDimensions;
    config.latentStride = 1;
    config.imageSize = imageSize;
    config.classes = ways;
    config.classEmbedding = classEmbedding;
    config.width = 16;
    config.scales = 2;
    // lambda of the proximal term (lambda/2)|v - v0|^2 against the support's
    // mean cross-entropy: strong enough to keep v* near v0 (a well-posed
    // inner problem, a contractive JIIO map), weak enough to let it move.
    config.priorWeight = 0.1;
    config.jiioIterations = 20;
    return config;
}

int ModelConfig::alignment() const
{
    const int pyramid = 1 << (scales - 1);
    return kind == ModelKind::Restoration ? std::lcm(pyramid, latentStride) : pyramid;
}

ModelConfig ModelConfig::newModel(ModelKind kind)
{
    if (kind == ModelKind::Classifier) // Fashion-MNIST's
        return newClassifierModel(1, 28, 10);
    if (kind == ModelKind::FewShot) // 28x28 gray, up to 5 ways
        return newFewShotModel(1, 28, 5, 32);
    ModelConfig config;
    config.kind = kind;
    config.imageConditioning = kind == ModelKind::Restoration;
    // The shipped restoration model's design (models/restore-rgb.md): seeing
    // the observation, 15 iterations restore as well as 25, and a third scale
    // at quarter resolution widens what the cell sees for a third more time.
    if (config.imageConditioning) {
        config.jiioIterations = 15;
        config.scales = 3;
    }
    return config;
}

int ModelConfig::groupsFor(int width)
{
    const int preferred = ModelConfig{}.groups;
    return width % preferred == 0 ? preferred : 1;
}

void ModelConfig::validate() const
{
    auto require = [](bool ok, const std::string& what) {
        if (!ok)
            throw Error("model configuration: " + what);
    };
    require(imageChannels == 1 || imageChannels == 3, "image channels must be 1 or 3");
    require(width >= 2 && width <= 1024, "width must be in [2, 1024]");
    require(scales >= 1 && scales <= 4, "scales must be in [1, 4]");
    require(latentChannels >= 1 && latentChannels <= 1024, "latent channels must be in [1, 1024]");
    require(latentStride >= 1 && latentStride <= 64, "latent stride must be in [1, 64]");
    require(groups >= 1 && width % groups == 0, "width must be a multiple of the group count");
    // A checkpoint's configuration decides what is allocated before any
    // weight is read: bound what a hostile or damaged file can ask for.
    require((int64_t(width) << (scales - 1)) <= 2048, "the coarsest scale may have at most 2048 channels");
    require(tileSize >= 16 && tileSize <= 4096 && tileSize % alignment() == 0,
            "tile size must be in [16, 4096] and a multiple of " + std::to_string(alignment()));
    require(tileOverlap >= 0 && 2 * tileOverlap < tileSize, "tile overlap must be under half the tile size");
    require(imageSize >= 4 && imageSize <= 1024 && imageSize % alignment() == 0,
            "image size must be in [4, 1024] and a multiple of the alignment");
    require(jiioIterations >= 1 && jiioIterations <= 100000, "JIIO iterations must be in [1, 100000]");
    require(priorWeight >= 0, "prior weight must be non-negative");
    require(!imageConditioning || kind == ModelKind::Restoration,
            "only restoration models can be conditioned on an image");
    require(!imageInput || kind == ModelKind::Restoration, "only restoration models can take the image as input");
    require(!imageInput || !imageConditioning,
            "a model whose input is the image sees the observation through the objective, not as conditioning");
    require(!priorConditioning || imageInput, "only a model whose input is the image has a conditioned prior");
    require(!imageInput || (latentChannels == imageChannels && latentStride == 1),
            "a model whose input is the image needs latent channels = image channels and latent stride 1");
    require(kind != ModelKind::Classifier || (latentChannels == imageChannels && latentStride == 1),
            "a classifier's input is a perturbation of the image: latent channels = image channels, stride 1");
    require(kind != ModelKind::FewShot || latentStride == 1, "a few-shot model's input is a task vector: stride 1");
    require(classEmbedding >= 0 && classEmbedding <= 1024, "class embedding size must be in [0, 1024]");
    require(classEmbedding == 0 || kind == ModelKind::FewShot, "only few-shot models have class embeddings");
    require(classes >= 2 && classes <= 1000, "classes must be in [2, 1000]");
}

std::string ModelConfig::toText() const
{
    auto out = classicStream();
    out.precision(17);
    out << "format = " << kFormatTag << "\n"
        << "kind = " << toString(kind) << "\n"
        << "image_channels = " << imageChannels << "\n"
        << "width = " << width << "\n"
        << "scales = " << scales << "\n"
        << "latent_channels = " << latentChannels << "\n"
        << "latent_stride = " << latentStride << "\n"
        << "image_size = " << imageSize << "\n"
        << "groups = " << groups << "\n"
        << "weight_norm = " << (weightNorm ? 1 : 0) << "\n"
        << "tile_size = " << tileSize << "\n"
        << "tile_overlap = " << tileOverlap << "\n"
        << "jiio_iterations = " << jiioIterations << "\n"
        << "prior_weight = " << priorWeight << "\n"
        << "observation_injection = " << (imageConditioning ? 1 : 0) << "\n"
        << "image_input = " << (imageInput ? 1 : 0) << "\n";
    if (priorConditioning)
        out << "prior_conditioning = 1\n";
    if (readsOutClasses(kind))
        out << "classes = " << classes << "\n";
    if (classEmbedding > 0)
        out << "class_embedding = " << classEmbedding << "\n";
    for (const auto& [key, value] : provenance)
        out << kProvenancePrefix << key << " = " << value << "\n";
    return out.str();
}

ModelConfig ModelConfig::fromText(const std::string& text)
{
    ModelConfig config;
    std::istringstream in(text);
    std::string line;
    bool sawFormat = false;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#')
            continue;
        const auto eq = line.find(" = ");
        if (eq == std::string::npos)
            throw Error("model configuration: malformed line '" + line + "'");
        const std::string key = line.substr(0, eq);
        const std::string value = line.substr(eq + 3);
        if (key == "format") {
            if (value != kFormatTag)
                throw Error("model configuration: unsupported format '" + value + "'");
            sawFormat = true;
        } else if (key == "kind") {
            config.kind = modelKindFromString(value);
        } else if (key == "image_channels") {
            config.imageChannels = toInt(key, value);
        } else if (key == "width") {
            config.width = toInt(key, value);
        } else if (key == "scales") {
            config.scales = toInt(key, value);
        } else if (key == "latent_channels") {
            config.latentChannels = toInt(key, value);
        } else if (key == "latent_stride") {
            config.latentStride = toInt(key, value);
        } else if (key == "image_size") {
            config.imageSize = toInt(key, value);
        } else if (key == "groups") {
            config.groups = toInt(key, value);
        } else if (key == "weight_norm") {
            config.weightNorm = toInt(key, value) != 0;
        } else if (key == "tile_size") {
            config.tileSize = toInt(key, value);
        } else if (key == "tile_overlap") {
            config.tileOverlap = toInt(key, value);
        } else if (key == "jiio_iterations") {
            config.jiioIterations = toInt(key, value);
        } else if (key == "prior_weight") {
            config.priorWeight = toDouble(key, value);
        } else if (key == "observation_injection") {
            config.imageConditioning = toInt(key, value) != 0;
        } else if (key == "image_input") {
            config.imageInput = toInt(key, value) != 0;
        } else if (key == "prior_conditioning") {
            config.priorConditioning = toInt(key, value) != 0;
        } else if (key == "classes") {
            config.classes = toInt(key, value);
        } else if (key == "class_embedding") {
            config.classEmbedding = toInt(key, value);
        } else if (key.rfind(kProvenancePrefix, 0) == 0) {
            config.provenance[key.substr(std::string(kProvenancePrefix).size())] = value;
        } else {
            throw Error("model configuration: unknown key '" + key + "'");
        }
    }
    if (!sawFormat)
        throw Error("model configuration: missing format tag");
    config.validate();
    return config;
}

} // namespace jiio
