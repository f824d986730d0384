#include "io/tensor_image.h"

namespace jiio {

torch::Tensor imageToTensor(const cv::Mat& image)
{
    CV_Assert(image.depth() == CV_32F);
    const cv::Mat contiguous = image.isContinuous() ? image : image.clone();
    auto hwc = torch::from_blob(contiguous.data, {contiguous.rows, contiguous.cols, contiguous.channels()},
                                torch::kFloat32);
    return hwc.permute({2, 0, 1}).unsqueeze(0).mul(2.0).sub(1.0).contiguous();
}

cv::Mat tensorToImage(const torch::Tensor& tensor)
{
    auto hwc = tensor.detach().to(torch::kCPU, torch::kFloat32).squeeze(0).add(1.0).mul(0.5).clamp(0.0, 1.0)
                   .permute({1, 2, 0}).contiguous();
    const int rows = int(hwc.size(0));
    const int cols = int(hwc.size(1));
    const int channels = int(hwc.size(2));
    return cv::Mat(rows, cols, CV_32FC(channels), hwc.data_ptr<float>()).clone();
}

torch::Tensor knownMaskToTensor(const cv::Mat& missingMask)
{
    CV_Assert(missingMask.type() == CV_8UC1);
    const cv::Mat contiguous = missingMask.isContinuous() ? missingMask : missingMask.clone();
    auto missing = torch::from_blob(contiguous.data, {1, 1, contiguous.rows, contiguous.cols}, torch::kUInt8);
    return missing.eq(0).to(torch::kFloat32);
}

} // namespace jiio
