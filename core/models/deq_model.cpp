#include "models/deq_model.h"

#include "models/bilinear_resize.h"
#include "models/frozen_parameters.h"
#include "models/group_norm_elu.h"
#include "solve_profile.h"

#include <cmath>

namespace F = torch::nn::functional;

namespace jiio {

namespace {

// Activations are ELU, not ReLU: ELU has a continuous derivative, so the
// adjoint map (which uses the Jacobian at z) is continuous in z and the joint
// JIIO iteration can converge tightly instead of chattering across kinks.
// They run in place on the fresh tensor before them: autograd then takes
// ELU's derivative from its output (1 or output + 1) instead of evaluating
// exp again, a quarter of the backward's cost.

// Gain applied to the cell's initial weights: a smaller start keeps the random
// cell contractive so fixed-point solves converge from the first step.
constexpr double kCellGain = 1.0;

const char* const kNeedsConditioning = "this model is conditioned on an image: pass it to layout()";

// A classifier pools each scale of z* to this side before its linear head:
// coarse positions survive, which global pooling would throw away.
constexpr int64_t kClassifierPoolSide = 7;

// A flat [B, H*W*C] block as an NCHW-shaped view with channels-last strides,
// and back (without a copy when the tensor is channels-last already).
torch::Tensor channelsLastView(const torch::Tensor& flat, int64_t channels, int64_t height, int64_t width)
{
    return flat.view({flat.size(0), height, width, channels}).permute({0, 3, 1, 2});
}

torch::Tensor flattenChannelsLast(const torch::Tensor& map)
{
    return map.permute({0, 2, 3, 1}).reshape({map.size(0), -1});
}

} // namespace

ConvImpl::ConvImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, bool weightNorm, double gain)
    : stride_(stride), padding_(kernel / 2), weightNorm_(weightNorm)
{
    torch::Tensor init = torch::empty({out, in, kernel, kernel});
    torch::nn::init::kaiming_uniform_(init, std::sqrt(5.0));
    init.mul_(gain);
    // PyTorch's default bias init.
    const double bound = 1.0 / std::sqrt(double(in * kernel * kernel));
    bias_ = register_parameter("bias", torch::empty({out}).uniform_(-bound, bound));
    if (weightNorm_) {
        // g starts at |v| so the initial weight equals the plain init.
        g_ = register_parameter("g", init.flatten(1).norm(2, 1));
        v_ = register_parameter("v", init);
    } else {
        v_ = register_parameter("weight", init);
    }
}

torch::Tensor ConvImpl::weight()
{
    if (!weightNorm_)
        return v_;
    auto norm = v_.flatten(1).norm(2, 1).clamp_min(1e-12);
    return v_ * (g_ / norm).view({-1, 1, 1, 1});
}

ConvImpl::Constants ConvImpl::constants(c10::MemoryFormat format)
{
    std::lock_guard<std::mutex> lock(constantsMutex_);
    auto& c = constants_;
    const int64_t gVersion = weightNorm_ ? g_._version() : -1;
    const void* gData = weightNorm_ ? g_.data_ptr() : nullptr;
    // Optimiser steps and checkpoint loads change parameters in place (a new
    // version); moving a model to another device gives them new storage.
    const bool stale = !c.weight.defined() || c.format != format || c.vVersion != v_._version()
        || c.gVersion != gVersion || c.vData != v_.data_ptr() || c.gData != gData
        || c.biasData != bias_.data_ptr();
    if (stale) {
        torch::NoGradGuard noGrad;
        c.weight = weight().contiguous(format);
        c.bias = bias_.detach();
        c.format = format;
        c.vVersion = v_._version();
        c.gVersion = gVersion;
        c.vData = v_.data_ptr();
        c.gData = gData;
        c.biasData = bias_.data_ptr();
    }
    return c;
}

torch::Tensor ConvImpl::forward(const torch::Tensor& input)
{
    const auto format = input.suggest_memory_format();
    torch::Tensor output;
    if (FrozenParameters::active()) {
        const auto frozen = constants(format);
        output = torch::conv2d(input, frozen.weight, frozen.bias, stride_, padding_);
    } else {
        output = torch::conv2d(input, weight().contiguous(format), bias_, stride_, padding_);
    }
    if (SolveProfile::active()) // a multiply and an add per weight and output pixel
        SolveProfile::addFlops(2.0 * double(output.numel()) * double(v_.size(1) * v_.size(2) * v_.size(3)));
    return output;
}

DeqModelImpl::DeqModelImpl(const ModelConfig& config) : config_(config)
{
    config_.validate();
    const int scales = config_.scales;
    const bool wn = config_.weightNorm;
    const bool fewShot = config_.kind == ModelKind::FewShot;
    // A few-shot model injects its image; the task vector modulates that.
    const int64_t gridChannels = fewShot ? config_.imageChannels : config_.latentChannels;

    if (config_.kind == ModelKind::Generative) {
        const int64_t side = config_.imageSize / config_.latentStride;
        codeToGrid_ = register_module(
            "code_to_grid", torch::nn::Linear(config_.latentChannels, gridChannels * side * side));
    }
    fuse_.resize(scales);
    for (int s = 0; s < scales; ++s) {
        const int64_t c = channelsAt(s);
        const std::string tag = std::to_string(s);
        injectConv_.push_back(register_module("inject" + tag, Conv(gridChannels, c, 3, 1, wn, 1.0)));
        if (config_.imageConditioning) // "observe": the parameter name shipped files use
            conditionConv_.push_back(register_module("observe" + tag, Conv(conditioningChannels(), c, 3, 1, wn, 1.0)));
        if (config_.priorConditioning) {
            // The maps start with almost no say (small weights, no bias), so a
            // prior warm-started from an unconditioned one begins where it was.
            auto conv = Conv(conditioningChannels(), c, 3, 1, wn, 1e-2);
            torch::NoGradGuard noGrad;
            conv->named_parameters()["bias"].zero_();
            conditionConv_.push_back(register_module("condition" + tag, conv));
        }
        if (fewShot) {
            // FiLM: (scale, shift) per channel from the task vector. The bias
            // starts at zero so every task vector near zero leaves the
            // injection as it is, the weight at PyTorch's default so that
            // adapting v has a gradient from the first step.
            auto film = torch::nn::Linear(config_.latentChannels, 2 * c);
            torch::nn::init::zeros_(film->bias);
            film_.push_back(register_module("film" + tag, film));
        }
        conv1_.push_back(register_module("conv1_" + tag, Conv(c, c, 3, 1, wn, kCellGain)));
        conv2_.push_back(register_module("conv2_" + tag, Conv(c, c, 3, 1, wn, kCellGain)));
    }
    for (int s = 0; s < scales; ++s) {
        fuse_[s].resize(scales);
        for (int t = 0; t < scales; ++t) {
            if (t == s)
                continue;
            torch::nn::Sequential path;
            if (t < s) { // downsample t -> s with stride-2 convolutions
                for (int step = t; step < s; ++step) {
                    const int64_t out = step + 1 == s ? channelsAt(s) : channelsAt(t);
                    path->push_back(Conv(channelsAt(t), out, 3, 2, wn, kCellGain));
                    if (step + 1 < s)
                        path->push_back(torch::nn::ELU(torch::nn::ELUOptions().inplace(true)));
                }
            } else { // upsample t -> s: channel map here, resize in cell()
                path->push_back(Conv(channelsAt(t), channelsAt(s), 1, 1, wn, kCellGain));
            }
            fuse_[s][t] = register_module("fuse" + std::to_string(t) + "to" + std::to_string(s), path);
        }
    }
    if (fewShot) // v0, the task vector adaptation starts from (meta-learned)
        taskInit_ = register_parameter("task_init", torch::zeros({config_.taskVectorSize()}));
    if (readsOutClasses(config_.kind)) {
        int64_t features = 0;
        for (int s = 0; s < scales; ++s)
            features += channelsAt(s) * kClassifierPoolSide * kClassifierPoolSide;
        if (config_.classEmbedding > 0)
            classProjection_ =
                register_module("class_projection", torch::nn::Linear(features, config_.classEmbedding));
        else
            classifierHead_ = register_module("classifier_head", torch::nn::Linear(features, config_.classes));
        return;
    }
    for (int s = 1; s < scales; ++s)
        readoutLift_.push_back(register_module("readout_lift" + std::to_string(s),
                                               Conv(channelsAt(s), channelsAt(0), 1, 1, wn, 1.0)));
    readoutConv_ = register_module("readout_conv", Conv(channelsAt(0), channelsAt(0), 3, 1, wn, 1.0));
    readoutNorm_ = register_module("readout_norm", torch::nn::GroupNorm(config_.groups, channelsAt(0)));
    // A correction starts small, so an untrained model returns about what it sees.
    const double readoutGain = config_.imageConditioning || config_.imageInput ? 0.1 : 1.0;
    readoutOut_ = register_module("readout_out", Conv(channelsAt(0), config_.imageChannels, 3, 1, wn, readoutGain));
}

void DeqModelImpl::setJiioIterations(int iterations)
{
    TORCH_CHECK(iterations >= 1, "JIIO iterations must be positive");
    config_.jiioIterations = iterations;
}

int64_t DeqModelImpl::conditioningChannels() const
{
    if (readsOutClasses(config_.kind))
        return config_.imageChannels;
    if (config_.priorConditioning)
        return 2; // known-pixel mask, noise level
    return config_.imageConditioning ? config_.imageChannels + 2 : 0;
}

StateLayout DeqModelImpl::layout(int64_t height, int64_t width, const torch::Tensor& conditioning) const
{
    const int align = config_.alignment();
    TORCH_CHECK(height % align == 0 && width % align == 0, "image size ", height, "x", width,
                " is not a multiple of ", align);
    StateLayout result;
    result.height = height;
    result.width = width;
    for (int s = 0; s < config_.scales; ++s) {
        result.zShapes.push_back({channelsAt(s), height >> s, width >> s});
        result.zSize += channelsAt(s) * (height >> s) * (width >> s);
    }
    if (config_.kind == ModelKind::FewShot)
        result.latentShape = {config_.taskVectorSize()};
    else if (config_.kind == ModelKind::Generative)
        result.latentShape = {config_.latentChannels};
    else
        result.latentShape = {config_.latentChannels, height / config_.latentStride, width / config_.latentStride};
    result.latentSize = 1;
    for (auto d : result.latentShape)
        result.latentSize *= d;
    const bool classifier = readsOutClasses(config_.kind);
    if (conditioningChannels() == 0 || !conditioning.defined())
        return result;
    TORCH_CHECK(conditioning.dim() == 4 && conditioning.size(1) == conditioningChannels()
                    && conditioning.size(2) == height && conditioning.size(3) == width,
                "the conditioning image must be [B, ", conditioningChannels(), ", ", height, ", ", width, "], not ",
                conditioning.sizes());
    // Pooled once per layout, not at every evaluation of f.
    const auto features = conditioning.contiguous(at::MemoryFormat::ChannelsLast);
    if (classifier) { // the image: a perturbation x is added to it, or a task vector x modulates it
        result.conditioning.push_back(features);
        return result;
    }
    for (int s = 0; s < config_.scales; ++s)
        result.conditioning.push_back(s == 0 ? features : F::avg_pool2d(features, F::AvgPool2dFuncOptions(1 << s)));
    return result;
}

torch::Tensor DeqModelImpl::baseImage(const StateLayout& layout) const
{
    TORCH_CHECK(!layout.conditioning.empty(), kNeedsConditioning);
    return layout.conditioning.front().narrow(1, 0, config_.imageChannels); // a view: no copy per iteration
}

std::vector<torch::Tensor> DeqModelImpl::unpack(const torch::Tensor& z, const StateLayout& layout) const
{
    // One split rather than a narrow per scale: its backward assembles the
    // gradient of z in one pass instead of zero-filling a full-size gradient
    // per scale and adding them up.
    std::vector<int64_t> sizes;
    for (const auto& shape : layout.zShapes)
        sizes.push_back(shape[0] * shape[1] * shape[2]);
    auto parts = z.split_with_sizes(sizes, 1);
    for (size_t s = 0; s < parts.size(); ++s) {
        const auto& shape = layout.zShapes[s];
        parts[s] = channelsLastView(parts[s], shape[0], shape[1], shape[2]);
    }
    return parts;
}

torch::Tensor DeqModelImpl::latentGrid(const torch::Tensor& latent, const StateLayout& layout)
{
    const int64_t batch = latent.size(0);
    if (config_.kind == ModelKind::Generative) {
        // The trained linear map defines an NCHW grid.
        const int64_t side = config_.imageSize / config_.latentStride;
        return F::linear(latent, parameterValue(codeToGrid_->weight), parameterValue(codeToGrid_->bias))
            .view({batch, config_.latentChannels, side, side})
            .contiguous(at::MemoryFormat::ChannelsLast);
    }
    auto grid = channelsLastView(latent, layout.latentShape[0], layout.latentShape[1], layout.latentShape[2]);
    if (config_.kind == ModelKind::Classifier) {
        TORCH_CHECK(!layout.conditioning.empty(), "a classifier needs its clean images: pass them to layout()");
        return layout.conditioning.front() + grid;
    }
    return grid;
}

std::vector<torch::Tensor> DeqModelImpl::inject(const torch::Tensor& latent, const StateLayout& layout)
{
    if (config_.kind == ModelKind::FewShot)
        return modulatedInjection(latent, layout);
    const torch::Tensor grid = latentGrid(latent, layout);
    std::vector<torch::Tensor> injection;
    for (int s = 0; s < config_.scales; ++s)
        injection.push_back(injectConv_[s]->forward(resizeBilinear(grid, layout.zShapes[s][1], layout.zShapes[s][2])));
    if (!conditionConv_.empty()) {
        TORCH_CHECK(layout.conditioning.size() == injection.size(), kNeedsConditioning);
        for (int s = 0; s < config_.scales; ++s)
            injection[s] = injection[s] + conditionConv_[s]->forward(layout.conditioning[s]);
    }
    return injection;
}

std::vector<torch::Tensor> DeqModelImpl::modulatedInjection(const torch::Tensor& task, const StateLayout& layout)
{
    TORCH_CHECK(!layout.conditioning.empty(), "a few-shot model needs its images: pass them to layout()");
    const auto& image = layout.conditioning.front();
    TORCH_CHECK(task.size(0) == image.size(0), "one task vector per image: ", task.size(0), " for ", image.size(0));
    std::vector<torch::Tensor> injection;
    const auto context = task.narrow(1, 0, config_.latentChannels);
    for (int s = 0; s < config_.scales; ++s) {
        const int64_t c = channelsAt(s);
        const auto film = F::linear(context, parameterValue(film_[s]->weight), parameterValue(film_[s]->bias))
                              .view({task.size(0), 2 * c, 1, 1});
        const auto base = injectConv_[s]->forward(resizeBilinear(image, layout.zShapes[s][1], layout.zShapes[s][2]));
        injection.push_back(base * (1 + film.narrow(1, 0, c)) + film.narrow(1, c, c));
    }
    return injection;
}

torch::Tensor DeqModelImpl::cell(const torch::Tensor& z, const std::vector<torch::Tensor>& injection,
                                 const StateLayout& layout)
{
    const auto parts = unpack(z, layout);
    std::vector<torch::Tensor> branch;
    for (int s = 0; s < config_.scales; ++s) {
        // No normalisation on the path from z: a norm makes the cell
        // invariant to the scale of z, so its Jacobian no longer shrinks with
        // the weights. The (weight-normalised) convolutions alone set how
        // strongly z feeds back, which keeps the cell contractive.
        auto hidden = conv1_[s]->forward(parts[s]);
        branch.push_back(conv2_[s]->forward(torch::elu_(hidden)));
    }
    std::vector<torch::Tensor> out;
    for (int s = 0; s < config_.scales; ++s) {
        torch::Tensor fused = branch[s] + injection[s];
        for (int t = 0; t < config_.scales; ++t) {
            if (t == s)
                continue;
            const auto moved = fuse_[s][t]->forward(branch[t]);
            fused = resizeBilinear(moved, layout.zShapes[s][1], layout.zShapes[s][2], fused);
        }
        out.push_back(flattenChannelsLast(torch::elu_(fused)));
    }
    return torch::cat(out, 1);
}

torch::Tensor DeqModelImpl::f(const torch::Tensor& z, const torch::Tensor& latent, const StateLayout& layout)
{
    return cell(z, inject(latent, layout), layout);
}

torch::Tensor DeqModelImpl::readout(const torch::Tensor& z, const torch::Tensor& latent, const StateLayout& layout)
{
    const auto parts = unpack(z, layout);
    if (readsOutClasses(config_.kind) && config_.classEmbedding > 0)
        return embeddingLogits(poolScales(parts), latent);
    if (readsOutClasses(config_.kind))
        return classLogits(poolScales(parts));
    torch::Tensor u = parts[0];
    for (int s = 1; s < config_.scales; ++s)
        u = resizeBilinear(readoutLift_[s - 1]->forward(parts[s]), layout.height, layout.width, u);
    const auto y = groupNormElu(readoutConv_->forward(u), config_.groups, parameterValue(readoutNorm_->weight),
                                parameterValue(readoutNorm_->bias), readoutNorm_->options.eps());
    auto image = readoutOut_->forward(y);
    // A conditioned model reads out a correction to its base image (residual
    // learning): keeping what the base image has right costs the cell
    // nothing, and the equilibrium only carries what it lacks.
    if (config_.imageConditioning)
        image = image + baseImage(layout);
    // A model whose input is the image reads out a correction to it: h is a
    // denoiser D(x) = x + r(z*(x)), and r carries what x lacks.
    if (config_.imageInput)
        image = image + latentGrid(latent, layout);
    return image.contiguous();
}

torch::Tensor DeqModelImpl::poolScales(const std::vector<torch::Tensor>& parts)
{
    std::vector<torch::Tensor> pooled;
    for (const auto& part : parts)
        pooled.push_back(F::adaptive_avg_pool2d(part, F::AdaptiveAvgPool2dFuncOptions(kClassifierPoolSide))
                             .contiguous()
                             .flatten(1));
    return torch::cat(pooled, 1);
}

torch::Tensor DeqModelImpl::pooledFeatures(const torch::Tensor& z, const StateLayout& layout) const
{
    TORCH_CHECK(readsOutClasses(config_.kind), "only classifying models have pooled features");
    return poolScales(unpack(z, layout));
}

torch::Tensor DeqModelImpl::embeddingLogits(const torch::Tensor& features, const torch::Tensor& task)
{
    // Unit-length projected features: the cross-entropy's curvature in the
    // embeddings is then at most 1/2 whatever the features' scale, so a fixed
    // step on the task vector stays stable while the network learns.
    const auto projected = F::normalize(F::linear(features, parameterValue(classProjection_->weight),
                                                  parameterValue(classProjection_->bias)),
                                        F::NormalizeFuncOptions().dim(1).eps(1e-6));
    const auto embeddings = task.narrow(1, config_.latentChannels, int64_t(config_.classes) * config_.classEmbedding)
                                .view({task.size(0), config_.classes, config_.classEmbedding});
    return torch::bmm(embeddings, projected.unsqueeze(2)).squeeze(2);
}

torch::Tensor DeqModelImpl::classLogits(const torch::Tensor& features)
{
    return F::linear(features, parameterValue(classifierHead_->weight), parameterValue(classifierHead_->bias));
}

int64_t DeqModelImpl::parameterCount() const
{
    int64_t count = 0;
    for (const auto& p : parameters())
        count += p.numel();
    return count;
}

} // namespace jiio
