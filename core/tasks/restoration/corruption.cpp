#include "tasks/restoration/corruption.h"

#include "error.h"

#include <opencv2/imgproc.hpp>

#include <random>

namespace jiio {

std::string toString(MaskKind kind)
{
    switch (kind) {
    case MaskKind::Blocks:
        return "blocks";
    case MaskKind::Strokes:
        return "strokes";
    case MaskKind::Pixels:
        return "pixels";
    }
    return "unknown";
}

MaskKind maskKindFromString(const std::string& text)
{
    for (auto kind : {MaskKind::Blocks, MaskKind::Strokes, MaskKind::Pixels})
        if (toString(kind) == text)
            return kind;
    throw Error("unknown mask kind '" + text + "' (expected blocks, strokes or pixels)");
}

cv::Mat makeMask(int rows, int cols, MaskKind kind, double amount, uint64_t seed)
{
    if (rows < 1 || cols < 1)
        throw Error("the mask must be at least 1x1");
    cv::Mat mask = cv::Mat::zeros(rows, cols, CV_8U);
    std::mt19937_64 random(seed);
    switch (kind) {
    case MaskKind::Blocks: {
        const int side = std::max(1, int(amount));
        // One block per (4 side)^2 area of the image, at least one.
        const int count = std::max(1, rows * cols / (16 * side * side));
        std::uniform_int_distribution<int> top(0, std::max(0, rows - side));
        std::uniform_int_distribution<int> left(0, std::max(0, cols - side));
        for (int i = 0; i < count; ++i)
            cv::rectangle(mask, cv::Rect(left(random), top(random), side, side), 255, cv::FILLED);
        break;
    }
    case MaskKind::Strokes: {
        // Text- and scribble-like lines: short polylines of varied thickness.
        const int count = std::max(1, int(amount));
        std::uniform_real_distribution<double> unit(0.0, 1.0);
        const int scale = std::max(8, std::min(rows, cols));
        for (int i = 0; i < count; ++i) {
            cv::Point p(int(unit(random) * cols), int(unit(random) * rows));
            const int segments = 2 + int(unit(random) * 4);
            const int thickness = 1 + int(unit(random) * std::max(1, scale / 48));
            for (int s = 0; s < segments; ++s) {
                cv::Point q(p.x + int((unit(random) - 0.5) * scale / 3), p.y + int((unit(random) - 0.5) * scale / 3));
                cv::line(mask, p, q, 255, thickness, cv::LINE_8);
                p = q;
            }
        }
        break;
    }
    case MaskKind::Pixels: {
        if (!(amount > 0 && amount < 1))
            throw Error("the missing-pixel fraction must be in (0, 1)");
        std::bernoulli_distribution missing(amount);
        for (int r = 0; r < rows; ++r)
            for (int c = 0; c < cols; ++c)
                if (missing(random))
                    mask.at<uint8_t>(r, c) = 255;
        break;
    }
    }
    if (cv::countNonZero(mask) == 0)
        mask.at<uint8_t>(rows / 2, cols / 2) = 255;
    return mask;
}

cv::Mat addGaussianNoise(const cv::Mat& image, double sigma, uint64_t seed)
{
    CV_Assert(image.depth() == CV_32F);
    if (sigma < 0)
        throw Error("the noise level must be non-negative");
    cv::Mat noise(image.size(), image.type());
    cv::RNG random(seed ? seed : 0x9e3779b97f4a7c15ULL);
    random.fill(noise, cv::RNG::NORMAL, 0.0, sigma / 255.0);
    cv::Mat noisy = image + noise;
    cv::min(cv::max(noisy, 0.0), 1.0, noisy);
    return noisy;
}

} // namespace jiio
