#include "models/group_norm_elu.h"

#include "vector_clones.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <type_traits>

namespace F = torch::nn::functional;

namespace jiio {

namespace {

// Pixels per unit of parallel work: a block's partial sums are kept per block
// and added up in a fixed order, so results do not depend on the threads.
constexpr int64_t kPixelsPerBlock = 1024;

// Channels the kernels take (their per-channel sums live on the stack).
constexpr int64_t kMaxChannels = 256;

// A channels-last [B, C, H, W] tensor is [B, pixels, C] in memory.
struct Shape {
    int64_t batch, channels, pixels, groups;
    int64_t groupSize() const { return channels / groups; }
    int64_t blocks() const { return (pixels + kPixelsPerBlock - 1) / kPixelsPerBlock; }
};

Shape shapeOf(const torch::Tensor& x, int64_t groups)
{
    return {x.size(0), x.size(1), x.size(2) * x.size(3), groups};
}

// The kernels below see one sample's rows of pixels: `rows` pixels of
// `channels` values each, and per-channel coefficients of that sample. Fixed
// is the channel count where the kernel is built for it (the channel loop
// then unrolls and the per-channel sums stay in registers), else 0.

// Per channel: sum of d and of d^2 over the rows, d = x - centre. Sums of
// values shifted by one of them do not cancel when the mean is large next to
// the spread, as sums of x and x^2 would.
template <typename T, int Fixed>
JIIO_VECTOR_CLONES void momentSums(const T* x, int64_t rows, int64_t channels, const T* centre, double* sum,
                                   double* squares)
{
    const int64_t c = Fixed > 0 ? Fixed : channels;
    T a[kMaxChannels] = {}, b[kMaxChannels] = {};
    for (int64_t p = 0; p < rows; ++p) {
        const T* row = x + p * c;
#pragma omp simd
        for (int64_t k = 0; k < c; ++k) {
            const T d = row[k] - centre[k];
            a[k] += d;
            b[k] += d * d;
        }
    }
    for (int64_t k = 0; k < c; ++k) {
        sum[k] = double(a[k]);
        squares[k] = double(b[k]);
    }
}

// out = x * scale + shift, per channel.
template <typename T, int Fixed>
JIIO_VECTOR_CLONES void affineRows(const T* x, int64_t rows, int64_t channels, const T* scale, const T* shift, T* out)
{
    const int64_t c = Fixed > 0 ? Fixed : channels;
    for (int64_t p = 0; p < rows; ++p) {
#pragma omp simd
        for (int64_t k = 0; k < c; ++k)
            out[p * c + k] = x[p * c + k] * scale[k] + shift[k];
    }
}

// ELU's derivative from its output: 1 above zero, output + 1 (in (0, 1]) at
// or below, so min(output + 1, 1) everywhere, which vectorises without a branch.
template <typename T>
inline T eluGradient(T gradOutput, T output)
{
    const T slope = output < T(0) ? output + T(1) : T(1);
    return gradOutput * slope;
}

// Per channel: sum of dy * xhat and of dy, where dy is the gradient before
// ELU and xhat = (x - mean) * rstd.
template <typename T, int Fixed>
JIIO_VECTOR_CLONES void gradientSums(const T* x, const T* output, const T* gradOutput, int64_t rows, int64_t channels,
                                     const T* mean, const T* rstd, double* dyXhat, double* dy)
{
    const int64_t c = Fixed > 0 ? Fixed : channels;
    T a[kMaxChannels] = {}, b[kMaxChannels] = {};
    for (int64_t p = 0; p < rows; ++p) {
#pragma omp simd
        for (int64_t k = 0; k < c; ++k) {
            const int64_t i = p * c + k;
            const T g = eluGradient(gradOutput[i], output[i]);
            a[k] += g * (x[i] - mean[k]);
            b[k] += g;
        }
    }
    for (int64_t k = 0; k < c; ++k) {
        dyXhat[k] = double(a[k]) * double(rstd[k]);
        dy[k] = double(b[k]);
    }
}

// dx = rstd * (w dy - mean_g(w dy) - xhat * mean_g(w dy xhat)).
template <typename T, int Fixed>
JIIO_VECTOR_CLONES void inputGradientRows(const T* x, const T* output, const T* gradOutput, int64_t rows,
                                          int64_t channels, const T* mean, const T* rstd, const T* weight,
                                          const T* meanWdy, const T* meanWdyXhat, T* gradInput)
{
    const int64_t c = Fixed > 0 ? Fixed : channels;
    for (int64_t p = 0; p < rows; ++p) {
#pragma omp simd
        for (int64_t k = 0; k < c; ++k) {
            const int64_t i = p * c + k;
            const T g = eluGradient(gradOutput[i], output[i]);
            const T xhat = (x[i] - mean[k]) * rstd[k];
            gradInput[i] = rstd[k] * (weight[k] * g - meanWdy[k] - xhat * meanWdyXhat[k]);
        }
    }
}

// Calls body(std::integral_constant<int, Fixed>()) with the kernels' Fixed
// for this channel count.
template <typename Body>
void withChannelCount(int64_t channels, const Body& body)
{
    switch (channels) {
    case 8:
        return body(std::integral_constant<int, 8>());
    case 16:
        return body(std::integral_constant<int, 16>());
    case 32:
        return body(std::integral_constant<int, 32>());
    case 64:
        return body(std::integral_constant<int, 64>());
    default:
        return body(std::integral_constant<int, 0>());
    }
}

// Runs block(sample, firstPixel, pixelCount, task) over blocks of pixels of
// every sample, in parallel; task numbers the blocks in order.
template <typename Block>
void forEachBlock(const Shape& shape, const Block& block)
{
    const int64_t blocks = shape.blocks();
    at::parallel_for(0, shape.batch * blocks, 1, [&](int64_t begin, int64_t end) {
        for (int64_t task = begin; task < end; ++task) {
            const int64_t sample = task / blocks, first = (task % blocks) * kPixelsPerBlock;
            block(sample, first, std::min(kPixelsPerBlock, shape.pixels - first), task);
        }
    });
}

// Adds the per-block sums of each sample up in block order: [B * C].
std::vector<double> addBlocks(const Shape& shape, const std::vector<double>& partial)
{
    const int64_t blocks = shape.blocks(), c = shape.channels;
    std::vector<double> total(shape.batch * c, 0.0);
    for (int64_t sample = 0; sample < shape.batch; ++sample)
        for (int64_t block = 0; block < blocks; ++block)
            for (int64_t k = 0; k < c; ++k)
                total[sample * c + k] += partial[(sample * blocks + block) * c + k];
    return total;
}

// Each channel's value of a per-group quantity [B * groups], as [B * C].
template <typename T>
std::vector<T> perChannel(const Shape& shape, const double* perGroup)
{
    std::vector<T> values(shape.batch * shape.channels);
    for (size_t row = 0; row < values.size(); ++row) {
        const int64_t sample = int64_t(row) / shape.channels, k = int64_t(row) % shape.channels;
        values[row] = T(perGroup[sample * shape.groups + k / shape.groupSize()]);
    }
    return values;
}

// Sums a per-channel quantity [B * C] over each group's channels: [B * groups].
std::vector<double> perGroup(const Shape& shape, const std::vector<double>& perChannel, const double* weight)
{
    std::vector<double> sums(shape.batch * shape.groups, 0.0);
    for (int64_t row = 0; row < shape.batch * shape.channels; ++row) {
        const int64_t sample = row / shape.channels, k = row % shape.channels;
        sums[sample * shape.groups + k / shape.groupSize()] += (weight ? weight[k] : 1.0) * perChannel[row];
    }
    return sums;
}

bool usesOwnKernel(const torch::Tensor& x)
{
    return x.device().is_cpu() && x.dim() == 4 && x.size(1) <= kMaxChannels
        && x.is_contiguous(at::MemoryFormat::ChannelsLast)
        && (x.scalar_type() == torch::kFloat || x.scalar_type() == torch::kDouble);
}

class GroupNormElu : public torch::autograd::Function<GroupNormElu> {
public:
    static torch::Tensor forward(torch::autograd::AutogradContext* context, const torch::Tensor& x, int64_t groups,
                                 const torch::Tensor& weight, const torch::Tensor& bias, double eps)
    {
        const Shape shape = shapeOf(x, groups);
        const int64_t c = shape.channels;
        auto output = torch::empty_like(x, at::MemoryFormat::ChannelsLast);
        // Per sample and group: the mean and 1 / sqrt(variance + eps), [2, B, groups].
        auto stats = torch::empty({2, shape.batch, groups}, x.options().dtype(torch::kDouble));
        double* mean = stats.data_ptr<double>();
        double* rstd = mean + shape.batch * groups;
        const auto w = weight.detach().to(torch::kDouble).contiguous();
        const auto b = bias.detach().to(torch::kDouble).contiguous();
        const double* wData = w.data_ptr<double>();
        const double* bData = b.data_ptr<double>();
        AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "groupNormElu", [&] {
            const scalar_t* in = x.data_ptr<scalar_t>();
            // Each sample's first pixel centres its sums.
            std::vector<double> partialSum(shape.batch * shape.blocks() * c), partialSquares(partialSum.size());
            withChannelCount(c, [&](auto fixed) {
                forEachBlock(shape, [&](int64_t sample, int64_t first, int64_t count, int64_t task) {
                    const scalar_t* samplePixels = in + sample * shape.pixels * c;
                    momentSums<scalar_t, fixed()>(samplePixels + first * c, count, c, samplePixels,
                                                  &partialSum[task * c], &partialSquares[task * c]);
                });
            });
            const auto sums = addBlocks(shape, partialSum), squares = addBlocks(shape, partialSquares);
            // Per channel the mean and the sum of squared deviations, then per
            // group the two combined (Chan et al.'s parallel variance).
            const double n = double(shape.pixels);
            std::vector<double> channelMean(shape.batch * c), channelSquares(shape.batch * c);
            for (int64_t row = 0; row < shape.batch * c; ++row) {
                const int64_t sample = row / c;
                channelMean[row] = double(in[sample * shape.pixels * c + row % c]) + sums[row] / n;
                channelSquares[row] = std::max(squares[row] - sums[row] * sums[row] / n, 0.0);
            }
            const auto groupSums = perGroup(shape, channelMean, nullptr);
            for (int64_t g = 0; g < shape.batch * groups; ++g)
                mean[g] = groupSums[g] / double(shape.groupSize());
            for (int64_t g = 0; g < shape.batch * groups; ++g) {
                double deviations = 0;
                for (int64_t k = (g % groups) * shape.groupSize(); k < (g % groups + 1) * shape.groupSize(); ++k) {
                    const int64_t row = (g / groups) * c + k;
                    const double offset = channelMean[row] - mean[g];
                    deviations += channelSquares[row] + n * offset * offset;
                }
                rstd[g] = 1.0 / std::sqrt(deviations / (n * double(shape.groupSize())) + eps);
            }
            // y = x * scale + shift, per sample and channel.
            std::vector<scalar_t> scale(shape.batch * c), shift(shape.batch * c);
            const auto meanRow = perChannel<double>(shape, mean), rstdRow = perChannel<double>(shape, rstd);
            for (int64_t row = 0; row < shape.batch * c; ++row) {
                const double k = rstdRow[row] * wData[row % c];
                scale[row] = scalar_t(k);
                shift[row] = scalar_t(bData[row % c] - meanRow[row] * k);
            }
            scalar_t* out = output.data_ptr<scalar_t>();
            withChannelCount(c, [&](auto fixed) {
                forEachBlock(shape, [&](int64_t sample, int64_t first, int64_t count, int64_t) {
                    const int64_t offset = (sample * shape.pixels + first) * c;
                    affineRows<scalar_t, fixed()>(in + offset, count, c, &scale[sample * c], &shift[sample * c],
                                                  out + offset);
                });
            });
        });
        torch::elu_(output); // LibTorch's vectorised exp
        context->save_for_backward({x, output, weight, stats});
        context->saved_data["groups"] = groups;
        return output;
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* context,
                                                   torch::autograd::variable_list gradients)
    {
        // Computed from raw buffers: its result carries no graph of its own.
        TORCH_CHECK(!torch::GradMode::is_enabled(), "groupNormElu has no second derivative");
        const auto saved = context->get_saved_variables();
        const auto& x = saved[0];
        const auto& output = saved[1];
        const auto& weight = saved[2];
        const auto& stats = saved[3];
        const Shape shape = shapeOf(x, context->saved_data["groups"].toInt());
        const int64_t c = shape.channels;
        const auto gradOutput = gradients[0].contiguous(at::MemoryFormat::ChannelsLast);
        auto gradInput = torch::empty_like(x, at::MemoryFormat::ChannelsLast);
        const auto w = weight.detach().to(torch::kDouble).contiguous();
        const double* wData = w.data_ptr<double>();
        std::vector<double> dyXhat, dy;
        AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "groupNormEluBackward", [&] {
            const scalar_t* in = x.data_ptr<scalar_t>();
            const scalar_t* out = output.data_ptr<scalar_t>();
            const scalar_t* gOut = gradOutput.data_ptr<scalar_t>();
            const double* mean = stats.data_ptr<double>();
            const auto meanRow = perChannel<scalar_t>(shape, mean);
            const auto rstdRow = perChannel<scalar_t>(shape, mean + shape.batch * shape.groups);
            std::vector<double> partialDyXhat(shape.batch * shape.blocks() * c), partialDy(partialDyXhat.size());
            withChannelCount(c, [&](auto fixed) {
                forEachBlock(shape, [&](int64_t sample, int64_t first, int64_t count, int64_t task) {
                    const int64_t offset = (sample * shape.pixels + first) * c;
                    gradientSums<scalar_t, fixed()>(in + offset, out + offset, gOut + offset, count, c,
                                                    &meanRow[sample * c], &rstdRow[sample * c],
                                                    &partialDyXhat[task * c], &partialDy[task * c]);
                });
            });
            dyXhat = addBlocks(shape, partialDyXhat);
            dy = addBlocks(shape, partialDy);
            const double count = double(shape.pixels * shape.groupSize());
            auto meanOverGroup = [&](const std::vector<double>& perChannelSums) {
                auto sums = perGroup(shape, perChannelSums, wData);
                for (auto& value : sums)
                    value /= count;
                return perChannel<scalar_t>(shape, sums.data());
            };
            const auto meanWdy = meanOverGroup(dy), meanWdyXhat = meanOverGroup(dyXhat);
            std::vector<scalar_t> weightRow(c);
            for (int64_t k = 0; k < c; ++k)
                weightRow[k] = scalar_t(wData[k]);
            scalar_t* gIn = gradInput.data_ptr<scalar_t>();
            withChannelCount(c, [&](auto fixed) {
                forEachBlock(shape, [&](int64_t sample, int64_t first, int64_t count, int64_t) {
                    const int64_t offset = (sample * shape.pixels + first) * c;
                    inputGradientRows<scalar_t, fixed()>(in + offset, out + offset, gOut + offset, count, c,
                                                         &meanRow[sample * c], &rstdRow[sample * c],
                                                         weightRow.data(), &meanWdy[sample * c],
                                                         &meanWdyXhat[sample * c], gIn + offset);
                });
            });
        });
        // The affine parameters' gradients: sums over samples of dy * xhat and dy.
        auto sumOverSamples = [&](const std::vector<double>& perChannelSums) {
            auto total = torch::zeros({c}, torch::kDouble);
            auto data = total.accessor<double, 1>();
            for (int64_t row = 0; row < shape.batch * c; ++row)
                data[row % c] += perChannelSums[row];
            return total.to(weight.options());
        };
        // needs_input_grad counts tensor inputs only: x 0, weight 1, bias 2.
        torch::Tensor gradWeight, gradBias;
        if (context->needs_input_grad(1))
            gradWeight = sumOverSamples(dyXhat);
        if (context->needs_input_grad(2))
            gradBias = sumOverSamples(dy);
        return {gradInput, torch::Tensor(), gradWeight, gradBias, torch::Tensor()};
    }
};

} // namespace

torch::Tensor groupNormElu(const torch::Tensor& x, int64_t groups, const torch::Tensor& weight,
                           const torch::Tensor& bias, double eps)
{
    TORCH_CHECK(x.dim() == 4 && groups > 0 && x.size(1) % groups == 0, "group norm: ", x.dim() == 4 ? x.size(1) : 0,
                " channels in ", groups, " groups");
    TORCH_CHECK(weight.defined() && bias.defined() && weight.numel() == x.size(1) && bias.numel() == x.size(1),
                "group norm: a weight and a bias of ", x.size(1), " elements each");
    if (!usesOwnKernel(x)) {
        auto y = F::group_norm(x, F::GroupNormFuncOptions(groups).weight(weight).bias(bias).eps(eps));
        return torch::elu_(y);
    }
    return GroupNormElu::apply(x, groups, weight, bias, eps);
}

} // namespace jiio
