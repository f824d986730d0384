#include "solvers/anderson_history.h"

#include "vector_clones.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace jiio {

namespace {

// Elements per unit of parallel work: a few tens of kilobytes, so a chunk of
// the new residual stays in cache while the history rows stream past it. Sums
// within a chunk are in the state's precision (8192 terms lose little), across
// chunks in double.
constexpr int64_t kChunk = 8192;

// The new pair's chunk: stores g = G(v) - v and G(v), and returns the squared
// norms of both in sums[0] and sums[1].
template <typename T>
JIIO_VECTOR_CLONES void storePair(const T* gv, const T* v, T* image, T* residual, int64_t count, double* sums)
{
    T change = 0, value = 0;
#pragma omp simd reduction(+ : change, value)
    for (int64_t i = 0; i < count; ++i) {
        const T g = gv[i] - v[i];
        residual[i] = g;
        image[i] = gv[i];
        change += g * g;
        value += gv[i] * gv[i];
    }
    sums[0] = double(change);
    sums[1] = double(value);
}

template <typename T>
JIIO_VECTOR_CLONES double dot(const T* a, const T* b, int64_t count)
{
    T sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < count; ++i)
        sum += a[i] * b[i];
    return double(sum);
}

// out = c * row (first) or out += c * row.
template <typename T>
JIIO_VECTOR_CLONES void scaleOrAdd(const T* row, T c, T* out, int64_t count, bool first)
{
    if (first) {
#pragma omp simd
        for (int64_t i = 0; i < count; ++i)
            out[i] = c * row[i];
        return;
    }
#pragma omp simd
    for (int64_t i = 0; i < count; ++i)
        out[i] += c * row[i];
}

// out = sum_j c_j rows_j over one chunk.
template <typename T>
void combine(const std::vector<const T*>& rows, const std::vector<T>& coefficients, T* out, int64_t count)
{
    for (size_t j = 0; j < rows.size(); ++j)
        scaleOrAdd(rows[j], coefficients[j], out, count, j == 0);
}

} // namespace

AndersonHistory::AndersonHistory(const torch::Tensor& v0, int memory, int64_t coupledRows,
                                 std::vector<int64_t> blocks, Kernels kernels, std::vector<double> blockWeights,
                                 std::vector<bool> unmixedBlocks)
    : rows_(v0.size(0)), length_(v0.size(1)), memory_(std::max(1, memory)), group_(std::max<int64_t>(1, coupledRows)),
      blocks_(blocks.empty() ? std::vector<int64_t>{v0.size(1)} : std::move(blocks))
{
    TORCH_CHECK(rows_ % group_ == 0, "Anderson: a batch of ", rows_, " rows is not made of groups of ", group_);
    TORCH_CHECK(std::accumulate(blocks_.begin(), blocks_.end(), int64_t(0)) == length_,
                "the residual blocks do not add up to the state's length");
    TORCH_CHECK(blockWeights.empty() || blockWeights.size() == blocks_.size(), "Anderson: ", blockWeights.size(),
                " block weights for ", blocks_.size(), " residual blocks");
    for (double weight : blockWeights)
        TORCH_CHECK(std::isfinite(weight) && weight > 0, "Anderson: block weights must be positive");
    if (std::any_of(blockWeights.begin(), blockWeights.end(), [](double w) { return w != 1.0; }))
        blockWeights_ = std::move(blockWeights);
    TORCH_CHECK(unmixedBlocks.empty() || unmixedBlocks.size() == blocks_.size(), "Anderson: ", unmixedBlocks.size(),
                " unmixed-block flags for ", blocks_.size(), " residual blocks");
    unmixed_ = unmixedBlocks.empty() ? std::vector<bool>(blocks_.size(), false) : std::move(unmixedBlocks);
    const bool cpuFloat = v0.is_cpu() && (v0.scalar_type() == torch::kFloat || v0.scalar_type() == torch::kDouble);
    TORCH_CHECK(kernels != Kernels::Fused || cpuFloat, "the fused Anderson passes need a floating state on the CPU");
    fused_ = kernels == Kernels::Fused || (kernels == Kernels::Automatic && cpuFloat);
    options_ = v0.options();
    if (!blockWeights_.empty() && !fused_) {
        std::vector<torch::Tensor> parts;
        for (size_t b = 0; b < blocks_.size(); ++b)
            parts.push_back(torch::full({blocks_[b]}, blockWeights_[b], options_));
        weightRow_ = torch::cat(parts).unsqueeze(0);
    }
    gram_.assign(size_t((rows_ / group_) * memory_ * memory_), 0.0);
    for (int64_t row = 0; row < rows_; ++row) {
        int64_t offset = 0;
        for (int64_t block = 0; block < int64_t(blocks_.size()); ++block) {
            for (int64_t begin = 0; begin < blocks_[size_t(block)]; begin += kChunk)
                segments_.push_back({row, block, offset + begin, offset + std::min(blocks_[size_t(block)], begin + kChunk)});
            offset += blocks_[size_t(block)];
        }
    }
}

ResidualSummary AndersonHistory::add(const torch::Tensor& v, const torch::Tensor& gv, const torch::Tensor& objective)
{
    slot_ = (slot_ + 1) % int(memory_);
    filled_ = std::min<int>(filled_ + 1, int(memory_));
    if (int(images_.size()) < filled_) {
        images_.push_back(torch::empty({rows_, length_}, options_));
        residuals_.push_back(torch::empty({rows_, length_}, options_));
    }
    std::vector<double> dots; // [rows, filled]: <g_i, g_new>
    auto summary = fused_ ? addFused(v, gv, dots) : addWithTensors(v, gv, objective, dots);
    if (fused_)
        summary.setObjective(objective);

    // Each group's Gram matrix is the sum of its rows'.
    for (int64_t g = 0; g < rows_ / group_; ++g) {
        double* gram = gram_.data() + g * memory_ * memory_;
        for (int i = 0; i < filled_; ++i) {
            double sum = 0;
            for (int64_t r = g * group_; r < (g + 1) * group_; ++r)
                sum += dots[size_t(r * filled_ + i)];
            gram[slot_ * memory_ + i] = sum;
            gram[i * memory_ + slot_] = sum;
        }
    }
    return summary;
}

ResidualSummary AndersonHistory::addFused(const torch::Tensor& vIn, const torch::Tensor& gvIn, std::vector<double>& dots)
{
    const auto v = vIn.contiguous();
    const auto gv = gvIn.contiguous();
    const int64_t width = 2 + filled_; // two norms, then a dot per filled slot
    std::vector<double> partial(segments_.size() * size_t(width), 0.0);
    AT_DISPATCH_FLOATING_TYPES(v.scalar_type(), "anderson_add", [&] {
        const auto* gvData = gv.data_ptr<scalar_t>();
        const auto* vData = v.data_ptr<scalar_t>();
        std::vector<scalar_t*> residuals;
        for (const auto& slot : residuals_)
            residuals.push_back(slot.data_ptr<scalar_t>());
        auto* image = images_[size_t(slot_)].data_ptr<scalar_t>();
        at::parallel_for(0, int64_t(segments_.size()), 1, [&](int64_t first, int64_t last) {
            for (int64_t s = first; s < last; ++s) {
                const auto& seg = segments_[size_t(s)];
                const int64_t count = seg.end - seg.begin;
                const int64_t at = seg.row * length_ + seg.begin;
                double* out = partial.data() + s * width;
                scalar_t* residual = residuals[size_t(slot_)] + at;
                storePair(gvData + at, vData + at, image + at, residual, count, out);
                const double weight = blockWeights_.empty() ? 1.0 : blockWeights_[size_t(seg.block)];
                for (int i = 0; i < filled_; ++i)
                    out[2 + i] = weight * (i == slot_ ? out[0] : dot(residuals[size_t(i)] + at, residual, count));
            }
        });
    });
    // Summed in a fixed order: the result does not depend on the threads.
    ResidualSummary summary(rows_, int64_t(blocks_.size()));
    dots.assign(size_t(rows_ * filled_), 0.0);
    for (size_t s = 0; s < segments_.size(); ++s) {
        const auto& seg = segments_[s];
        const double* sums = partial.data() + s * size_t(width);
        summary.changeSquares[size_t(seg.row * summary.blocks + seg.block)] += sums[0];
        summary.imageSquares[size_t(seg.row * summary.blocks + seg.block)] += sums[1];
        for (int i = 0; i < filled_; ++i)
            dots[size_t(seg.row * filled_ + i)] += sums[2 + i];
    }
    return summary;
}

ResidualSummary AndersonHistory::addWithTensors(const torch::Tensor& v, const torch::Tensor& gv,
                                                const torch::Tensor& objective, std::vector<double>& dots)
{
    auto& g = residuals_[size_t(slot_)];
    torch::sub_out(g, gv, v);
    images_[size_t(slot_)].copy_(gv);
    const auto weighted = weightRow_.defined() ? g * weightRow_ : g;
    std::vector<torch::Tensor> slotDots;
    for (int i = 0; i < filled_; ++i)
        slotDots.push_back((residuals_[size_t(i)] * weighted).sum(1));
    const auto products = torch::stack(slotDots, 1);
    std::vector<torch::Tensor> columns{residualSquares(gv, g, blocks_)};
    if (objective.defined())
        columns.push_back(objective.detach().reshape({rows_, 1}).to(torch::kDouble));
    columns.push_back(products.to(torch::kDouble));
    const auto table = torch::cat(columns, 1).to(torch::kCPU).contiguous(); // the one read
    const auto dotsTable = table.narrow(1, table.size(1) - filled_, filled_).contiguous();
    dots.assign(dotsTable.data_ptr<double>(), dotsTable.data_ptr<double>() + dotsTable.numel());
    return readSummary(table, int64_t(blocks_.size()), objective.defined());
}

// Solves min |sum_i a_i g_i| s.t. sum_i a_i = 1 through the bordered system
// [[0, 1^T], [1, GG^T / s + lambda I]] [nu; a] = [1; 0], with s the mean
// squared residual so that lambda is unit-free (and the system well scaled).
// Raises lambda and retries while the solution is not finite.
std::vector<double> AndersonHistory::solveWeights(int64_t group, double lambda) const
{
    const int n = filled_;
    const double* gram = gram_.data() + group * memory_ * memory_;
    double scale = 0;
    for (int i = 0; i < n; ++i)
        scale += gram[i * memory_ + i];
    scale = std::max(scale / n, 1e-30);
    Eigen::MatrixXd system = Eigen::MatrixXd::Zero(n + 1, n + 1);
    Eigen::VectorXd rhs = Eigen::VectorXd::Zero(n + 1);
    rhs(0) = 1;
    for (int attempt = 0; attempt < 5; ++attempt, lambda *= 100.0) {
        for (int i = 0; i < n; ++i) {
            system(0, i + 1) = system(i + 1, 0) = 1;
            for (int j = 0; j < n; ++j)
                system(i + 1, j + 1) = gram[i * memory_ + j] / scale + (i == j ? lambda : 0.0);
        }
        const Eigen::VectorXd solution = system.partialPivLu().solve(rhs);
        if (solution.allFinite())
            return std::vector<double>(solution.data() + 1, solution.data() + n + 1);
    }
    return {};
}

torch::Tensor AndersonHistory::mix(double lambda, double beta) const
{
    std::vector<double> imageWeights(size_t(rows_ * filled_)), residualWeights(size_t(rows_ * filled_));
    for (int64_t g = 0; g < rows_ / group_; ++g) {
        const auto weights = solveWeights(g, lambda);
        if (weights.empty())
            return {};
        for (int64_t r = g * group_; r < (g + 1) * group_; ++r)
            for (int i = 0; i < filled_; ++i) {
                imageWeights[size_t(r * filled_ + i)] = weights[size_t(i)];
                residualWeights[size_t(r * filled_ + i)] = -(1.0 - beta) * weights[size_t(i)];
            }
    }
    if (fused_)
        return mixFused(imageWeights, beta == 1.0 ? std::vector<double>{} : residualWeights);
    const auto w = torch::tensor(imageWeights, torch::kDouble).view({rows_, filled_}).to(options_);
    const auto u = torch::tensor(residualWeights, torch::kDouble).view({rows_, filled_}).to(options_);
    auto next = torch::zeros({rows_, length_}, options_);
    for (int i = 0; i < filled_; ++i) {
        next.addcmul_(w.narrow(1, i, 1), images_[size_t(i)]);
        if (beta != 1.0)
            next.addcmul_(u.narrow(1, i, 1), residuals_[size_t(i)]);
    }
    int64_t offset = 0;
    for (size_t block = 0; block < blocks_.size(); offset += blocks_[block], ++block)
        if (unmixed_[block])
            next.narrow(1, offset, blocks_[block]).copy_(images_[size_t(slot_)].narrow(1, offset, blocks_[block]));
    return next;
}

torch::Tensor AndersonHistory::mixFused(const std::vector<double>& imageWeights,
                                        const std::vector<double>& residualWeights) const
{
    auto next = torch::empty({rows_, length_}, options_);
    AT_DISPATCH_FLOATING_TYPES(next.scalar_type(), "anderson_mix", [&] {
        std::vector<const scalar_t*> images, residuals;
        for (int i = 0; i < filled_; ++i) {
            images.push_back(images_[size_t(i)].data_ptr<scalar_t>());
            residuals.push_back(residuals_[size_t(i)].data_ptr<scalar_t>());
        }
        auto* out = next.data_ptr<scalar_t>();
        at::parallel_for(0, int64_t(segments_.size()), 1, [&](int64_t first, int64_t last) {
            std::vector<const scalar_t*> sources;
            std::vector<scalar_t> coefficients;
            for (int64_t s = first; s < last; ++s) {
                const auto& seg = segments_[size_t(s)];
                sources.clear();
                coefficients.clear();
                const int64_t at = seg.row * length_ + seg.begin;
                if (unmixed_[size_t(seg.block)]) {
                    std::copy(images[size_t(slot_)] + at, images[size_t(slot_)] + at + (seg.end - seg.begin), out + at);
                    continue;
                }
                for (int i = 0; i < filled_; ++i) {
                    sources.push_back(images[size_t(i)] + at);
                    coefficients.push_back(scalar_t(imageWeights[size_t(seg.row * filled_ + i)]));
                    if (!residualWeights.empty()) {
                        sources.push_back(residuals[size_t(i)] + at);
                        coefficients.push_back(scalar_t(residualWeights[size_t(seg.row * filled_ + i)]));
                    }
                }
                combine(sources, coefficients, out + at, seg.end - seg.begin);
            }
        });
    });
    return next;
}

std::vector<double> AndersonHistory::gram(int64_t group) const
{
    std::vector<double> out(size_t(filled_ * filled_));
    for (int i = 0; i < filled_; ++i)
        for (int j = 0; j < filled_; ++j)
            out[size_t(i * filled_ + j)] = gram_[size_t(group * memory_ * memory_ + i * memory_ + j)];
    return out;
}

} // namespace jiio
