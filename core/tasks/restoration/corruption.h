#pragma once
#include <opencv2/core.hpp>

#include <cstdint>
#include <string>

namespace jiio {

// Kinds of missing-pixel masks used for inpainting problems and training.
enum class MaskKind { Blocks, Strokes, Pixels };

std::string toString(MaskKind kind);
MaskKind maskKindFromString(const std::string& text);

// A CV_8U mask (255 = missing) of the given kind. `amount` is the block side
// in pixels (Blocks), the stroke count (Strokes) or the missing fraction
// (Pixels).
cv::Mat makeMask(int rows, int cols, MaskKind kind, double amount, uint64_t seed);

// Adds Gaussian noise of standard deviation sigma (0-255 scale) to a float
// image in [0, 1]; the result is clipped to [0, 1] as a saved image would be.
cv::Mat addGaussianNoise(const cv::Mat& image, double sigma, uint64_t seed);

} // namespace jiio
