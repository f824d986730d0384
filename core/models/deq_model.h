#pragma once
#include "models/model_config.h"
#include "torch_include.h"

#include <mutex>
#include <vector>

namespace jiio {

// Shapes of the DEQ state and of the optimised input for one image size. The
// solvers see both as flat [batch, n] tensors; the model reshapes internally.
// Each scale of z (and a restoration latent grid) is stored channels-last,
// (H, W, C) per sample, so the convolutions work on oneDNN's native layout
// without reordering every feature map on each call.
struct StateLayout {
    int64_t height = 0;
    int64_t width = 0;
    std::vector<std::vector<int64_t>> zShapes; // per scale {C, H, W}, without the batch dim
    std::vector<int64_t> latentShape;          // {C, H, W} or {C}, without the batch dim
    int64_t zSize = 0;
    int64_t latentSize = 0;
    // The conditioning image of a conditioned model, pooled to each scale
    // (channels-last [B, conditioningChannels, H_s, W_s]); for a classifier,
    // the clean image its perturbation x is added to (one entry, full
    // resolution); empty for others.
    std::vector<torch::Tensor> conditioning;
};

// A 3x3 (or 1x1) convolution with optional weight normalisation
// (w = g * v / |v| per output channel), which keeps the cell's Lipschitz
// constant under control during training. Under FrozenParameters the
// effective weight is computed once and reused until a parameter changes.
class ConvImpl : public torch::nn::Module {
public:
    ConvImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, bool weightNorm, double gain);
    torch::Tensor forward(const torch::Tensor& input);

private:
    // The weight and bias as constants, and what they were computed from.
    struct Constants {
        torch::Tensor weight, bias;
        c10::MemoryFormat format = c10::MemoryFormat::Contiguous;
        int64_t vVersion = -1, gVersion = -1;
        const void* vData = nullptr;
        const void* gData = nullptr;
        const void* biasData = nullptr;
    };
    torch::Tensor weight();
    Constants constants(c10::MemoryFormat format);
    int64_t stride_;
    int64_t padding_;
    bool weightNorm_;
    torch::Tensor v_, g_, bias_;
    std::mutex constantsMutex_; // solves on several threads may share a model
    Constants constants_;
};
TORCH_MODULE(Conv);

// The multiscale DEQ: cell f(z, x), readout h(z) and the map from the latent
// input x to the per-scale injection.
class DeqModelImpl : public torch::nn::Module {
public:
    explicit DeqModelImpl(const ModelConfig& config);

    const ModelConfig& config() const { return config_; }
    // Provenance (how the model was made) may change; the architecture not.
    void setProvenance(const std::string& key, const std::string& value) { config_.provenance[key] = value; }
    void eraseProvenance(const std::string& key) { config_.provenance.erase(key); }
    // So is the inner budget: fine-tuning a model for another budget changes it.
    void setJiioIterations(int iterations);
    // The shapes for an image size. A conditioned model (config().imageConditioning)
    // also needs its conditioning image, [B, conditioningChannels(), H, W]:
    // whatever the caller wants the cell to see beside x, the first
    // imageChannels channels being the base image that the readout corrects.
    // The model does not interpret it further; a task prepares it.
    // A classifier needs the clean images, [B, imageChannels, S, S] in [0, 1]:
    // the cell sees image + x.
    StateLayout layout(int64_t height, int64_t width, const torch::Tensor& conditioning = {}) const;
    // Channels of the conditioning image; 0 for a model that takes none.
    int64_t conditioningChannels() const;

    // Per-scale input injection for a flat latent batch [B, latentSize].
    std::vector<torch::Tensor> inject(const torch::Tensor& latent, const StateLayout& layout);
    // One application of the cell: z [B, zSize] -> [B, zSize].
    torch::Tensor cell(const torch::Tensor& z, const std::vector<torch::Tensor>& injection,
                       const StateLayout& layout);
    // f(z, x) in one call.
    torch::Tensor f(const torch::Tensor& z, const torch::Tensor& latent, const StateLayout& layout);
    // Readout h(z, x): [B, zSize] -> images [B, C, H, W] in the normalised
    // range [-1, 1]; for a conditioned model, the base image plus a correction;
    // for a model whose input is the image, x plus a correction; for a
    // classifier, class logits [B, classes] (a few-shot model with class
    // embeddings scores its projected features against the embeddings in x).
    // Other models read z alone.
    torch::Tensor readout(const torch::Tensor& z, const torch::Tensor& latent, const StateLayout& layout);

    // A classifying model's features of z: each scale pooled to a fixed
    // grid, flattened, [B, features]; what its linear head reads.
    torch::Tensor pooledFeatures(const torch::Tensor& z, const StateLayout& layout) const;

    int64_t parameterCount() const;
    // A few-shot model's v0: the task vector adaptation starts from, [taskDimensions].
    const torch::Tensor& taskInit() const { return taskInit_; }

private:
    std::vector<torch::Tensor> unpack(const torch::Tensor& z, const StateLayout& layout) const;
    torch::Tensor baseImage(const StateLayout& layout) const;
    torch::Tensor classLogits(const torch::Tensor& features);
    torch::Tensor embeddingLogits(const torch::Tensor& features, const torch::Tensor& task);
    static torch::Tensor poolScales(const std::vector<torch::Tensor>& parts);
    torch::Tensor latentGrid(const torch::Tensor& latent, const StateLayout& layout);
    std::vector<torch::Tensor> modulatedInjection(const torch::Tensor& task, const StateLayout& layout);
    int64_t channelsAt(int scale) const { return int64_t(config_.width) << scale; }

    ModelConfig config_;
    torch::nn::Linear codeToGrid_{nullptr}; // Generative models only
    std::vector<Conv> injectConv_;
    std::vector<Conv> conditionConv_; // conditioned models only
    std::vector<Conv> conv1_, conv2_;
    // fuse_[s][t]: resampling from scale t into scale s (empty for t == s)
    std::vector<std::vector<torch::nn::Sequential>> fuse_;
    std::vector<Conv> readoutLift_; // 1x1 from coarse scales into scale 0
    Conv readoutConv_{nullptr}, readoutOut_{nullptr};
    torch::nn::GroupNorm readoutNorm_{nullptr};
    torch::nn::Linear classifierHead_{nullptr}; // pooled scales -> logits (classifiers)
    std::vector<torch::nn::Linear> film_;       // task vector -> (scale, shift) per scale (few-shot)
    torch::nn::Linear classProjection_{nullptr}; // pooled scales -> class-embedding space (few-shot)
    torch::Tensor taskInit_;                    // v0 (few-shot)
};
TORCH_MODULE(DeqModel);

} // namespace jiio
