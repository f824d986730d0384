#pragma once
#include "torch_include.h"

#include <opencv2/core.hpp>

namespace jiio {

// cv::Mat (CV_32FC1/CV_32FC3, [0, 1]) <-> tensor [1, C, H, W] in the model's
// normalised range [-1, 1]. Both copy: no memory is shared across the boundary.
torch::Tensor imageToTensor(const cv::Mat& image);
cv::Mat tensorToImage(const torch::Tensor& tensor);

// CV_8U mask (non-zero = missing) -> [1, 1, H, W] with 1 where known.
torch::Tensor knownMaskToTensor(const cv::Mat& missingMask);

} // namespace jiio
