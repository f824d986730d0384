#include "io/metrics.h"

#include "error.h"

#include <opencv2/quality/qualityssim.hpp>

#include <limits>

namespace jiio {

namespace {
void requireSameShape(const cv::Mat& a, const cv::Mat& b)
{
    if (a.size() != b.size() || a.type() != b.type())
        throw Error("images differ in size or type");
}
} // namespace

double psnr(const cv::Mat& reference, const cv::Mat& test)
{
    requireSameShape(reference, test);
    const double mse = cv::norm(reference, test, cv::NORM_L2SQR) / double(reference.total() * reference.channels());
    if (mse <= 0)
        return std::numeric_limits<double>::infinity();
    return 10.0 * std::log10(1.0 / mse);
}

double ssim(const cv::Mat& reference, const cv::Mat& test)
{
    requireSameShape(reference, test);
    // OpenCV's quality module uses the constants of the 8-bit scale.
    cv::Mat a, b;
    reference.convertTo(a, CV_32F, 255.0);
    test.convertTo(b, CV_32F, 255.0);
    const cv::Scalar perChannel = cv::quality::QualitySSIM::compute(a, b, cv::noArray());
    double sum = 0;
    for (int c = 0; c < reference.channels(); ++c)
        sum += perChannel[c];
    return sum / reference.channels();
}

} // namespace jiio
