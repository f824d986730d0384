#pragma once
#include <opencv2/core.hpp>

namespace jiio {

// Peak signal-to-noise ratio in dB of float images in [0, 1].
double psnr(const cv::Mat& reference, const cv::Mat& test);

// Mean structural similarity (Wang et al. 2004, Gaussian window) of float
// images in [0, 1], averaged over channels.
double ssim(const cv::Mat& reference, const cv::Mat& test);

} // namespace jiio
