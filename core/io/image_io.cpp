#include "io/image_io.h"

#include "error.h"
#include "io/atomic_file.h"
#include "io/image_header.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace jiio {

namespace {

std::vector<unsigned char> readBytes(const std::string& path)
{
    if (!std::filesystem::exists(path))
        throw Error("cannot read '" + path + "': no such file");
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error("cannot read '" + path + "': permission denied or not a file");
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool isJpeg(const std::vector<unsigned char>& bytes)
{
    return bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
}

// libjpeg decodes a truncated JPEG with only a warning, so OpenCV returns a
// partly grey image. A complete file has an end-of-image marker (FF D9) after
// its last start-of-scan (FF DA); entropy-coded data cannot contain FF D9.
bool jpegIsComplete(const std::vector<unsigned char>& bytes)
{
    const unsigned char sos[] = {0xFF, 0xDA};
    const unsigned char eoi[] = {0xFF, 0xD9};
    auto lastScan = std::find_end(bytes.begin(), bytes.end(), std::begin(sos), std::end(sos));
    if (lastScan == bytes.end())
        return false;
    return std::search(lastScan, bytes.end(), std::begin(eoi), std::end(eoi)) != bytes.end();
}

// The formats the engine reads, told by their first bytes. OpenCV can decode
// many more (DICOM, JPEG 2000, OpenEXR, HDR, ...), but their decoders are
// not needed here and some abort on damaged input (fuzzing found GDCM's DICOM
// reader asserting), so nothing else reaches imdecode.
bool isSupportedFormat(const std::vector<unsigned char>& bytes)
{
    auto startsWith = [&](std::initializer_list<unsigned char> prefix, size_t at = 0) {
        return bytes.size() >= at + prefix.size() && std::equal(prefix.begin(), prefix.end(), bytes.begin() + long(at));
    };
    return startsWith({0x89, 'P', 'N', 'G'}) || isJpeg(bytes) || startsWith({'I', 'I', '*', 0})
        || startsWith({'M', 'M', 0, '*'}) || startsWith({'B', 'M'})
        || (startsWith({'R', 'I', 'F', 'F'}) && startsWith({'W', 'E', 'B', 'P'}, 8));
}

cv::Mat decode(const std::string& path, int flags)
{
    const auto bytes = readBytes(path);
    if (bytes.empty())
        throw Error("cannot read '" + path + "': the file is empty");
    if (!isSupportedFormat(bytes))
        throw Error("cannot read '" + path + "': not a PNG, JPEG, TIFF, BMP or WebP image");
    if (isJpeg(bytes) && !jpegIsComplete(bytes))
        throw Error("cannot read '" + path + "': the JPEG file is truncated");
    auto tooLarge = [&](int64_t width, int64_t height) {
        return Error("cannot read '" + path + "': the image is " + std::to_string(width) + "x" + std::to_string(height)
                     + " pixels, more than the " + std::to_string(kMaxImagePixels >> 20) + "-megapixel limit");
    };
    if (const auto declared = declaredImageSize(bytes); declared && declared->pixels() > kMaxImagePixels)
        throw tooLarge(declared->width, declared->height);
    // A JPEG has no alpha to keep, so it is decoded with OpenCV's "any depth,
    // any colour" flags, which also turn it upright by its EXIF orientation
    // (IMREAD_UNCHANGED would not): photos from cameras and phones then come
    // out as they are meant to be seen, and are written back upright.
    if (isJpeg(bytes) && flags == cv::IMREAD_UNCHANGED)
        flags = cv::IMREAD_ANYDEPTH | cv::IMREAD_ANYCOLOR;
    cv::Mat raw;
    try {
        raw = cv::imdecode(bytes, flags);
    } catch (const cv::Exception&) {
        raw = cv::Mat();
    }
    if (raw.empty())
        throw Error("cannot read '" + path + "': not an image or a corrupt file");
    if (int64_t(raw.total()) > kMaxImagePixels) // a format whose header is not read above
        throw tooLarge(raw.cols, raw.rows);
    return raw;
}

double scaleOf(int depth)
{
    switch (depth) {
    case CV_8U:
        return 255.0;
    case CV_16U:
        return 65535.0;
    default:
        throw Error("unsupported pixel depth (expected 8- or 16-bit)");
    }
}

} // namespace

cv::Mat toBytes(const cv::Mat& image)
{
    cv::Mat out;
    image.convertTo(out, CV_8U, 255.0);
    return out;
}

cv::Mat fromBytes(const cv::Mat& bytes)
{
    cv::Mat out;
    bytes.convertTo(out, CV_32F, 1.0 / 255.0);
    return out;
}

ImageData fromMat(const cv::Mat& raw)
{
    ImageData image;
    image.depth = raw.depth();
    const double scale = scaleOf(raw.depth());
    cv::Mat color;
    switch (raw.channels()) {
    case 1:
        color = raw;
        break;
    case 3:
        cv::cvtColor(raw, color, cv::COLOR_BGR2RGB);
        break;
    case 4: {
        std::vector<cv::Mat> planes;
        cv::split(raw, planes);
        image.alpha = planes[3].clone();
        cv::cvtColor(raw, color, cv::COLOR_BGRA2RGB);
        break;
    }
    default:
        throw Error("unsupported channel count " + std::to_string(raw.channels()) + " (expected 1, 3 or 4)");
    }
    color.convertTo(image.color, CV_32F, 1.0 / scale);
    return image;
}

ImageData readImage(const std::string& path)
{
    const cv::Mat raw = decode(path, cv::IMREAD_UNCHANGED);
    if (raw.depth() != CV_8U && raw.depth() != CV_16U)
        throw Error("cannot read '" + path + "': only 8- and 16-bit images are supported");
    return fromMat(raw);
}

cv::Mat readMask(const std::string& path)
{
    const cv::Mat raw = decode(path, cv::IMREAD_UNCHANGED);
    cv::Mat gray = raw;
    if (raw.channels() == 3)
        cv::cvtColor(raw, gray, cv::COLOR_BGR2GRAY);
    else if (raw.channels() == 4)
        cv::cvtColor(raw, gray, cv::COLOR_BGRA2GRAY);
    else if (raw.channels() != 1)
        throw Error("cannot read mask '" + path + "': unsupported channel count");
    cv::Mat missing;
    cv::compare(gray, 0, missing, cv::CMP_NE); // 255 where non-zero
    return missing;
}

std::vector<unsigned char> encodeImage(const ImageData& image, const std::string& extension)
{
    const double scale = scaleOf(image.depth);
    cv::Mat colorAtDepth;
    image.color.convertTo(colorAtDepth, image.depth, scale); // saturating, rounds
    cv::Mat out;
    if (colorAtDepth.channels() == 1 && image.alpha.empty()) {
        out = colorAtDepth;
    } else if (colorAtDepth.channels() == 3 && image.alpha.empty()) {
        cv::cvtColor(colorAtDepth, out, cv::COLOR_RGB2BGR);
    } else {
        cv::Mat bgr;
        if (colorAtDepth.channels() == 3)
            cv::cvtColor(colorAtDepth, bgr, cv::COLOR_RGB2BGR);
        else
            cv::cvtColor(colorAtDepth, bgr, cv::COLOR_GRAY2BGR);
        std::vector<cv::Mat> planes;
        cv::split(bgr, planes);
        planes.push_back(image.alpha);
        cv::merge(planes, out);
    }
    std::vector<unsigned char> bytes;
    bool ok = false;
    try {
        ok = cv::imencode(extension, out, bytes);
    } catch (const cv::Exception& e) {
        throw Error("cannot encode the image as '" + extension + "': " + oneLine(e.err));
    }
    if (!ok || bytes.empty())
        throw Error("cannot encode the image as '" + extension + "'");
    return bytes;
}

void writeImage(const std::string& path, const ImageData& image)
{
    const auto extension = std::filesystem::path(path).extension().string();
    if (extension.empty())
        throw Error("cannot write '" + path + "': the file name needs an extension such as .png");
    const auto bytes = encodeImage(image, extension);
    writeFileAtomically(path, std::string(bytes.begin(), bytes.end()));
}

} // namespace jiio
