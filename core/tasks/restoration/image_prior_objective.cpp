#include "tasks/restoration/image_prior_objective.h"

#include "error.h"

#include <cmath>

namespace jiio {

namespace {

constexpr double kReferenceSigma = 25.0;
// The prior's weight for denoising at the reference noise level, and its
// growth with sigma: (sigma/25)^1.5, between the linear growth used before and
// the Gaussian MAP's square (|x - D(x)|^2 is a learned residual, not a
// calibrated energy; the square had lost 0.1 dB at every level). Chosen on
// six training photographs (never the held-out ones), 256x256 crops: scaling
// the linear weight by 0.7 / 1 / 1.4 gave 31.58 / 31.57 / 31.47 dB at sigma
// 15, 29.06 / 29.24 / 29.27 at 25 and 23.36 / 24.31 / 24.55 at 50; the 1.5
// power scales it by 0.77 at 15 and 1.41 at 50.
constexpr double kDenoiseWeightAtReference = 3.0;
constexpr double kDenoiseWeightGrowth = 1.5;
constexpr double kScale = 25.0;
// The weight of the smoothness term on holes. Chosen on every fourth training
// photograph (never the held-out ones), 256x256 crops, the shipped model,
// returning x*: PSNR rises from 0 up to 0.1 (blocks +0.02, strokes +0.04,
// 50 % pixels +0.29 dB); at 0.3 the solve breaks down (5 dB worse), the term
// being too stiff for the input step.
constexpr double kHoleSmoothness = 0.1;

// The 5-point Laplacian stencil of the biharmonic fill
// (classical_restoration.cpp), one per channel for a grouped convolution.
torch::Tensor laplacianKernel(const torch::Tensor& image)
{
    const auto stencil = torch::tensor({0.0, 1.0, 0.0, 1.0, -4.0, 1.0, 0.0, 1.0, 0.0}, image.options());
    return stencil.view({1, 1, 3, 3}).expand({image.size(1), 1, 3, 3}).contiguous();
}

// Per channel, with mirrored borders, so that the term alone is minimised by
// the biharmonic fill.
torch::Tensor laplacian(const torch::Tensor& image, const torch::Tensor& kernel)
{
    namespace F = torch::nn::functional;
    const auto padded = F::pad(image, F::PadFuncOptions({1, 1, 1, 1}).mode(torch::kReplicate));
    return F::conv2d(padded, kernel, F::Conv2dFuncOptions().groups(image.size(1)));
}

// [B, C, H, W] -> [B, H*W*C], the order in which models hold their input.
torch::Tensor flatChannelsLast(const torch::Tensor& image)
{
    return image.permute({0, 2, 3, 1}).reshape({image.size(0), -1});
}

} // namespace

ImagePriorObjective::ImagePriorObjective(Task task, torch::Tensor target, torch::Tensor knownMask,
                                         double priorWeight, double sigma)
    : RestorationObjective(task, std::move(target), std::move(knownMask), priorWeight, sigma)
{
    if (task == Task::Reconstruct)
        throw Error("a model whose input is the image restores; it has no latent code to reconstruct from");
    kappa_ = task == Task::Denoise
        ? priorWeight * kDenoiseWeightAtReference * std::pow(sigma / kReferenceSigma, kDenoiseWeightGrowth)
        : priorWeight;
    targetFlat_ = flatChannelsLast(this->target());
    if (task == Task::Inpaint) {
        fixedFlat_ = flatChannelsLast(this->knownMask().expand_as(this->target()) > 0.5);
        lambda_ = kHoleSmoothness;
        laplacianKernel_ = laplacianKernel(this->target());
    }
}

torch::Tensor ImagePriorObjective::inputImage(const torch::Tensor& input) const
{
    const auto& y = target();
    return input.view({y.size(0), y.size(2), y.size(3), y.size(1)}).permute({0, 3, 1, 2});
}

torch::Tensor ImagePriorObjective::perSample(const torch::Tensor& prediction, const torch::Tensor& input) const
{
    const auto x = inputImage(input);
    auto data = (x - target()).square();
    if (knownMask().defined())
        data = data * knownMask();
    const auto prior = (x - prediction).square();
    auto total = data.flatten(1).sum(1) + kappa_ * prior.flatten(1).sum(1);
    if (lambda_ > 0)
        total = total + lambda_ * laplacian(x, laplacianKernel_).square().flatten(1).sum(1);
    return kScale * total;
}

torch::Tensor ImagePriorObjective::restoredImage(const torch::Tensor& prediction, const torch::Tensor& input) const
{
    return task() == Task::Inpaint ? inputImage(input) : prediction;
}

torch::Tensor ImagePriorObjective::project(const torch::Tensor& input) const
{
    auto x = input.clamp(-1, 1);
    if (fixedFlat_.defined())
        x = torch::where(fixedFlat_, targetFlat_, x);
    return x;
}

} // namespace jiio
