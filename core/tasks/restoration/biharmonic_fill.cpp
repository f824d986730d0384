#include "tasks/restoration/biharmonic_fill.h"

#include "io/tensor_image.h"
#include "tasks/restoration/classical_restoration.h"
#include "tasks/restoration/push_pull_fill.h"

namespace jiio {

torch::Tensor biharmonicFill(const torch::Tensor& image, const torch::Tensor& known)
{
    const auto knownBatch = known.expand({image.size(0), 1, image.size(2), image.size(3)});
    const auto knownCpu = knownBatch.detach().to(torch::kCPU);
    const auto imageCpu = image.detach().to(torch::kCPU);
    std::vector<torch::Tensor> filled;
    for (int64_t i = 0; i < image.size(0); ++i) {
        const auto knownOne = knownCpu[i].unsqueeze(0);
        if (knownOne.sum().item<double>() < 0.5) {
            filled.push_back(pushPullFill(imageCpu[i].unsqueeze(0), knownOne));
            continue;
        }
        const auto missing = (knownOne[0][0] < 0.5).to(torch::kUInt8).contiguous();
        const cv::Mat missingMask(int(missing.size(0)), int(missing.size(1)), CV_8U, missing.data_ptr<uint8_t>());
        filled.push_back(imageToTensor(biharmonicInpaint(tensorToImage(imageCpu[i].unsqueeze(0)), missingMask)));
    }
    return torch::cat(filled).to(image.device(), image.scalar_type());
}

} // namespace jiio
