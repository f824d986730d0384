#pragma once
#include <opencv2/core.hpp>

#include <string>

namespace jiio {

// An image as the engine sees it: colour planes as float [0, 1] in RGB order
// (or one gray plane), plus what is needed to write it back as it came:
// the source depth and an untouched alpha plane.
struct ImageData {
    cv::Mat color;   // CV_32FC1 or CV_32FC3, RGB order, values in [0, 1]
    cv::Mat alpha;   // source alpha plane at source depth, or empty
    int depth = CV_8U; // CV_8U or CV_16U

    int colorChannels() const { return color.channels(); }
    int width() const { return color.cols; }
    int height() const { return color.rows; }
};

// Reads a PNG, JPEG, TIFF, BMP or WebP image (8/16-bit, gray/RGB/RGBA;
// other formats are refused before any decoder sees them); a JPEG is turned
// upright by its EXIF orientation. Throws jiio::Error for missing,
// unreadable, truncated or unsupported files.
ImageData readImage(const std::string& path);

// Reads a single-channel mask (upright, as readImage); non-zero marks a missing pixel. Returns CV_8U
// with 255 for missing and 0 for known.
cv::Mat readMask(const std::string& path);

// Encodes in the format the extension names and replaces `path` atomically,
// so a failure never leaves a half-written or overwritten output.
void writeImage(const std::string& path, const ImageData& image);

// Encodes an image in memory (the format given by an extension like ".png").
std::vector<unsigned char> encodeImage(const ImageData& image, const std::string& extension);

// Float [0, 1] <-> 8-bit, as a saved image holds it (rounded, saturated).
cv::Mat toBytes(const cv::Mat& image);
cv::Mat fromBytes(const cv::Mat& bytes);

// Converts a cv::Mat read with IMREAD_UNCHANGED into ImageData.
ImageData fromMat(const cv::Mat& raw);

} // namespace jiio
