#include "models/bilinear_resize.h"

#include "vector_clones.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <vector>

namespace F = torch::nn::functional;

namespace jiio {

namespace {

// Channels the kernels take (their per-pixel sums live on the stack).
constexpr int64_t kMaxChannels = 256;

// Where each output row (or column) reads: source indices first and second
// with weights, as LibTorch computes them for align_corners false (the source
// coordinate (o + 1/2) in / out - 1/2, clamped at 0; here in the tensor's
// type, in LibTorch in double: the weights agree to a rounding step).
template <typename T>
struct Taps {
    std::vector<int64_t> first, second;
    std::vector<T> firstWeight, secondWeight;

    Taps(int64_t in, int64_t out)
    {
        const T scale = T(in) / T(out);
        for (int64_t o = 0; o < out; ++o) {
            T source = scale * (T(o) + T(0.5)) - T(0.5);
            if (source < 0)
                source = 0;
            const int64_t lower = std::min(int64_t(source), in - 1);
            const T fraction = source - T(lower);
            first.push_back(lower);
            second.push_back(lower < in - 1 ? lower + 1 : lower);
            firstWeight.push_back(T(1) - fraction);
            secondWeight.push_back(fraction);
        }
    }
};

// The transpose of Taps: for each source index, the outputs that read it and
// with what weight (compressed rows: entries offsets[i] .. offsets[i + 1]).
template <typename T>
struct Feeds {
    std::vector<int64_t> offsets, outputs;
    std::vector<T> weights;

    Feeds(const Taps<T>& taps, int64_t in)
    {
        std::vector<std::vector<std::pair<int64_t, T>>> lists(in);
        for (size_t o = 0; o < taps.first.size(); ++o) {
            lists[taps.first[o]].push_back({int64_t(o), taps.firstWeight[o]});
            lists[taps.second[o]].push_back({int64_t(o), taps.secondWeight[o]});
        }
        offsets.push_back(0);
        for (const auto& list : lists) {
            for (const auto& [output, weight] : list) {
                outputs.push_back(output);
                weights.push_back(weight);
            }
            offsets.push_back(int64_t(outputs.size()));
        }
    }
};

// One output pixel: base + the bilinear mix of four source pixels, channel by
// channel (the same order of operations as LibTorch's channels-last kernel).
template <typename T>
JIIO_VECTOR_CLONES void mixPixel(const T* topLeft, const T* topRight, const T* bottomLeft, const T* bottomRight,
                                 T left, T right, T top, T bottom, const T* base, T* out, int64_t channels)
{
    if (base) {
#pragma omp simd
        for (int64_t k = 0; k < channels; ++k)
            out[k] = base[k]
                + (top * (left * topLeft[k] + right * topRight[k])
                   + bottom * (left * bottomLeft[k] + right * bottomRight[k]));
        return;
    }
#pragma omp simd
    for (int64_t k = 0; k < channels; ++k)
        out[k] = top * (left * topLeft[k] + right * topRight[k]) + bottom * (left * bottomLeft[k] + right * bottomRight[k]);
}

// One source pixel's gradient: the weighted sum of the output gradients that
// read it.
template <typename T>
JIIO_VECTOR_CLONES void gatherPixel(const T* gradient, int64_t rowStride, int64_t channels, const int64_t* rows,
                                    const T* rowWeights, int64_t rowCount, const int64_t* columns,
                                    const T* columnWeights, int64_t columnCount, T* out)
{
    T sum[kMaxChannels] = {};
    for (int64_t r = 0; r < rowCount; ++r) {
        const T* row = gradient + rows[r] * rowStride;
        for (int64_t c = 0; c < columnCount; ++c) {
            const T weight = rowWeights[r] * columnWeights[c];
            const T* pixel = row + columns[c] * channels;
#pragma omp simd
            for (int64_t k = 0; k < channels; ++k)
                sum[k] += weight * pixel[k];
        }
    }
#pragma omp simd
    for (int64_t k = 0; k < channels; ++k)
        out[k] = sum[k];
}

bool usesOwnKernel(const torch::Tensor& image, const torch::Tensor& base)
{
    auto fits = [&](const torch::Tensor& t) {
        return t.device().is_cpu() && t.dim() == 4 && t.size(1) <= kMaxChannels
            && t.is_contiguous(at::MemoryFormat::ChannelsLast) && t.scalar_type() == image.scalar_type();
    };
    return (image.scalar_type() == torch::kFloat || image.scalar_type() == torch::kDouble) && fits(image)
        && (!base.defined() || fits(base));
}

torch::Tensor resizeForward(const torch::Tensor& image, int64_t height, int64_t width, const torch::Tensor& base)
{
    const int64_t batch = image.size(0), channels = image.size(1), inHeight = image.size(2), inWidth = image.size(3);
    auto output = torch::empty({batch, channels, height, width},
                               image.options().memory_format(at::MemoryFormat::ChannelsLast));
    AT_DISPATCH_FLOATING_TYPES(image.scalar_type(), "resizeBilinear", [&] {
        const Taps<scalar_t> rows(inHeight, height), columns(inWidth, width);
        const scalar_t* in = image.data_ptr<scalar_t>();
        const scalar_t* add = base.defined() ? base.data_ptr<scalar_t>() : nullptr;
        scalar_t* out = output.data_ptr<scalar_t>();
        at::parallel_for(0, batch * height, 1, [&](int64_t begin, int64_t end) {
            for (int64_t task = begin; task < end; ++task) {
                const int64_t sample = task / height, y = task % height;
                const scalar_t* top = in + (sample * inHeight + rows.first[y]) * inWidth * channels;
                const scalar_t* bottom = in + (sample * inHeight + rows.second[y]) * inWidth * channels;
                const int64_t rowOffset = task * width * channels;
                for (int64_t x = 0; x < width; ++x) {
                    const int64_t left = columns.first[x] * channels, right = columns.second[x] * channels;
                    const int64_t o = rowOffset + x * channels;
                    mixPixel(top + left, top + right, bottom + left, bottom + right, columns.firstWeight[x],
                             columns.secondWeight[x], rows.firstWeight[y], rows.secondWeight[y],
                             add ? add + o : nullptr, out + o, channels);
                }
            }
        });
    });
    return output;
}

torch::Tensor resizeBackward(const torch::Tensor& gradOutput, int64_t inHeight, int64_t inWidth)
{
    const auto gradient = gradOutput.contiguous(at::MemoryFormat::ChannelsLast);
    const int64_t batch = gradient.size(0), channels = gradient.size(1), height = gradient.size(2),
                  width = gradient.size(3);
    auto gradImage = torch::empty({batch, channels, inHeight, inWidth},
                                  gradient.options().memory_format(at::MemoryFormat::ChannelsLast));
    AT_DISPATCH_FLOATING_TYPES(gradient.scalar_type(), "resizeBilinearBackward", [&] {
        const Feeds<scalar_t> rows(Taps<scalar_t>(inHeight, height), inHeight);
        const Feeds<scalar_t> columns(Taps<scalar_t>(inWidth, width), inWidth);
        const scalar_t* g = gradient.data_ptr<scalar_t>();
        scalar_t* out = gradImage.data_ptr<scalar_t>();
        const int64_t rowStride = width * channels;
        at::parallel_for(0, batch * inHeight, 1, [&](int64_t begin, int64_t end) {
            for (int64_t task = begin; task < end; ++task) {
                const int64_t sample = task / inHeight, y = task % inHeight;
                const scalar_t* plane = g + sample * height * rowStride;
                const int64_t r0 = rows.offsets[y], rowCount = rows.offsets[y + 1] - r0;
                for (int64_t x = 0; x < inWidth; ++x) {
                    const int64_t c0 = columns.offsets[x], columnCount = columns.offsets[x + 1] - c0;
                    gatherPixel(plane, rowStride, channels, &rows.outputs[r0], &rows.weights[r0], rowCount,
                                &columns.outputs[c0], &columns.weights[c0], columnCount,
                                out + (task * inWidth + x) * channels);
                }
            }
        });
    });
    return gradImage;
}

// The resize and its adjoint are linear maps, each the other's derivative:
// a gradient taken with create_graph (the Jacobian penalties of training
// differentiate through f's backward) is differentiable again.
class ResizeAdjoint : public torch::autograd::Function<ResizeAdjoint> {
public:
    static torch::Tensor forward(torch::autograd::AutogradContext* context, const torch::Tensor& gradient,
                                 int64_t inHeight, int64_t inWidth);
    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* context,
                                                   torch::autograd::variable_list gradients);
};

// Autograd takes no undefined inputs: the resize with and without a base
// are two functions.
class ResizeBilinear : public torch::autograd::Function<ResizeBilinear> {
public:
    static torch::Tensor forward(torch::autograd::AutogradContext* context, const torch::Tensor& image,
                                 int64_t height, int64_t width)
    {
        context->saved_data["in_height"] = image.size(2);
        context->saved_data["in_width"] = image.size(3);
        return resizeForward(image, height, width, torch::Tensor());
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* context,
                                                   torch::autograd::variable_list gradients)
    {
        return {ResizeAdjoint::apply(gradients[0], context->saved_data["in_height"].toInt(),
                                     context->saved_data["in_width"].toInt()),
                torch::Tensor(), torch::Tensor()};
    }
};

class ResizeAdd : public torch::autograd::Function<ResizeAdd> {
public:
    static torch::Tensor forward(torch::autograd::AutogradContext* context, const torch::Tensor& image,
                                 int64_t height, int64_t width, const torch::Tensor& base)
    {
        context->saved_data["in_height"] = image.size(2);
        context->saved_data["in_width"] = image.size(3);
        return resizeForward(image, height, width, base);
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* context,
                                                   torch::autograd::variable_list gradients)
    {
        return {ResizeAdjoint::apply(gradients[0], context->saved_data["in_height"].toInt(),
                                     context->saved_data["in_width"].toInt()),
                torch::Tensor(), torch::Tensor(), gradients[0]};
    }
};

torch::Tensor ResizeAdjoint::forward(torch::autograd::AutogradContext* context, const torch::Tensor& gradient,
                                     int64_t inHeight, int64_t inWidth)
{
    context->saved_data["height"] = gradient.size(2);
    context->saved_data["width"] = gradient.size(3);
    return resizeBackward(gradient, inHeight, inWidth);
}

torch::autograd::variable_list ResizeAdjoint::backward(torch::autograd::AutogradContext* context,
                                                       torch::autograd::variable_list gradients)
{
    return {ResizeBilinear::apply(gradients[0].contiguous(at::MemoryFormat::ChannelsLast),
                                  context->saved_data["height"].toInt(), context->saved_data["width"].toInt()),
            torch::Tensor(), torch::Tensor()};
}

} // namespace

torch::Tensor resizeBilinear(const torch::Tensor& image, int64_t height, int64_t width, const torch::Tensor& base)
{
    TORCH_CHECK(image.dim() == 4, "bilinear resize: a [B, C, H, W] image, not ", image.sizes());
    TORCH_CHECK(!base.defined()
                    || (base.dim() == 4 && base.size(0) == image.size(0) && base.size(1) == image.size(1)
                        && base.size(2) == height && base.size(3) == width),
                "bilinear resize: the base must be [", image.size(0), ", ", image.size(1), ", ", height, ", ", width,
                "], not ", base.sizes());
    if (image.size(2) == height && image.size(3) == width)
        return base.defined() ? base + image : image;
    if (!usesOwnKernel(image, base)) {
        auto resized = F::interpolate(image, F::InterpolateFuncOptions()
                                                 .size(std::vector<int64_t>{height, width})
                                                 .mode(torch::kBilinear)
                                                 .align_corners(false));
        return base.defined() ? base + resized : resized;
    }
    return base.defined() ? ResizeAdd::apply(image, height, width, base) : ResizeBilinear::apply(image, height, width);
}

} // namespace jiio
