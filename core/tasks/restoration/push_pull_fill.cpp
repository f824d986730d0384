#include "tasks/restoration/push_pull_fill.h"

#include <vector>

namespace F = torch::nn::functional;

namespace jiio {

torch::Tensor pushPullFill(const torch::Tensor& image, const torch::Tensor& known)
{
    // Level l holds the mean of the known values per 2^l block (mass) and the
    // fraction of its pixels that are known (coverage).
    const auto halve = F::AvgPool2dFuncOptions(2).ceil_mode(true).count_include_pad(false);
    std::vector<torch::Tensor> mass{image * known};
    std::vector<torch::Tensor> coverage{known.expand({image.size(0), 1, image.size(2), image.size(3)})};
    while (mass.back().size(2) > 1 || mass.back().size(3) > 1) {
        mass.push_back(F::avg_pool2d(mass.back(), halve));
        coverage.push_back(F::avg_pool2d(coverage.back(), halve));
    }
    auto estimate = mass.back() / coverage.back().clamp_min(1e-12);
    for (int level = int(mass.size()) - 2; level >= 0; --level) {
        const auto& c = coverage[size_t(level)];
        auto coarse = F::interpolate(estimate, F::InterpolateFuncOptions()
                                                   .size(std::vector<int64_t>{c.size(2), c.size(3)})
                                                   .mode(torch::kBilinear)
                                                   .align_corners(false));
        // A block's own average counts fully once a quarter of it is known
        // (a known pixel at the finest level), less for sparser blocks.
        auto own = mass[size_t(level)] / c.clamp_min(1e-12);
        estimate = torch::lerp(coarse, own, (4.0 * c).clamp_max(1.0));
    }
    return estimate;
}

} // namespace jiio
