#include "training/training_data.h"

#include "error.h"
#include "io/fashion_mnist.h"
#include "io/idx_reader.h"
#include "io/image_io.h"
#include "io/tensor_image.h"
#include "numbers.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <filesystem>

namespace jiio {

namespace {

cv::Mat toChannels(const cv::Mat& rgb, int channels)
{
    if (rgb.channels() == channels)
        return rgb;
    cv::Mat converted;
    cv::cvtColor(rgb, converted, channels == 1 ? cv::COLOR_RGB2GRAY : cv::COLOR_GRAY2RGB);
    return converted;
}

cv::Mat randomCrop(const cv::Mat& image, int size, std::mt19937_64& random)
{
    std::uniform_int_distribution<int> top(0, image.rows - size), left(0, image.cols - size);
    cv::Mat patch = image(cv::Rect(left(random), top(random), size, size)).clone();
    std::uniform_int_distribution<int> coin(0, 1);
    if (coin(random))
        cv::flip(patch, patch, 1);
    if (coin(random))
        cv::flip(patch, patch, 0);
    return patch;
}

torch::Tensor fromIdx(const IdxImages& images, int first, int count, int imageSize)
{
    auto raw = torch::from_blob(const_cast<uint8_t*>(images.pixels.data()) + size_t(first) * images.rows * images.cols,
                                {count, 1, images.rows, images.cols}, torch::kUInt8);
    auto scaled = raw.to(torch::kFloat32).div(127.5).sub(1.0);
    const int padRows = imageSize - images.rows;
    const int padCols = imageSize - images.cols;
    if (padRows < 0 || padCols < 0)
        throw Error("Fashion-MNIST images are larger than the model's image size");
    return torch::constant_pad_nd(scaled, {padCols / 2, padCols - padCols / 2, padRows / 2, padRows - padRows / 2}, -1.0);
}

// Sizes in the names of a wallpaper package's copies: "2560x1600.jpg" -> 4096000.
long long sizeInName(const std::string& path)
{
    const std::string stem = std::filesystem::path(path).stem().string();
    const auto x = stem.find('x');
    if (x == std::string::npos || x == 0 || x + 1 == stem.size())
        return -1;
    const auto width = parseInteger(stem.substr(0, x)), height = parseInteger(stem.substr(x + 1));
    return width && height ? *width * *height : -1;
}

void keepLargestOfSizedCopies(std::vector<std::string>& paths)
{
    if (paths.size() < 2 || !std::all_of(paths.begin(), paths.end(), [](const auto& p) { return sizeInName(p) > 0; }))
        return;
    const auto largest = *std::max_element(paths.begin(), paths.end(),
                                           [](const auto& a, const auto& b) { return sizeInName(a) < sizeInName(b); });
    paths = {largest};
}

cv::Mat downscaleLarge(const cv::Mat& image, int maxSide)
{
    const int side = std::max(image.rows, image.cols);
    if (side <= maxSide)
        return image;
    const double scale = double(maxSide) / side;
    cv::Mat smaller;
    cv::resize(image, smaller, cv::Size(), scale, scale, cv::INTER_AREA);
    return smaller;
}

} // namespace

std::string defaultImageFolder()
{
    return "/usr/share/doc/opencv-doc/examples/data";
}

ImageSplit splitImageFolder(const std::string& folder, int minSide,
                            const std::function<void(const std::string&)>& warn)
{
    return splitImageFolders({folder}, minSide, warn);
}

ImageSplit splitImageFolders(const std::vector<std::string>& folders, int minSide,
                             const std::function<void(const std::string&)>& warn)
{
    std::vector<std::string> paths;
    static const std::vector<std::string> known = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"};
    for (const auto& folder : folders) {
        if (std::filesystem::is_regular_file(folder)) { // one picture named by itself
            paths.push_back(folder);
            continue;
        }
        if (!std::filesystem::is_directory(folder))
            throw Error("'" + folder + "' is neither an image folder nor an image file");
        std::vector<std::string> inFolder;
        for (const auto& entry : std::filesystem::directory_iterator(folder)) {
            const auto ext = entry.path().extension().string();
            if (entry.is_regular_file() && std::find(known.begin(), known.end(), ext) != known.end())
                inFolder.push_back(entry.path().string());
        }
        std::sort(inFolder.begin(), inFolder.end());
        keepLargestOfSizedCopies(inFolder);
        paths.insert(paths.end(), inFolder.begin(), inFolder.end());
    }
    ImageSplit split;
    int usable = 0;
    for (const auto& path : paths) {
        cv::Mat image;
        try {
            image = readImage(path).color;
        } catch (const Error& e) {
            warn(std::string("skipping ") + e.what());
            continue;
        }
        if (image.rows < minSide || image.cols < minSide) {
            warn("skipping '" + path + "': smaller than " + std::to_string(minSide) + " pixels on a side");
            continue;
        }
        const bool heldOut = usable++ % 5 == 4;
        (heldOut ? split.validation : split.training).push_back(path);
        (heldOut ? split.validationImages : split.trainingImages).push_back(downscaleLarge(image, kMaxImageSide));
    }
    if (split.training.empty() || split.validation.empty())
        throw Error(std::string(folders.size() == 1 ? "image folder '" + folders.front() + "' has" : "the image folders have")
                    + " too few usable images (need at least 5 of " + std::to_string(minSide) + "x"
                    + std::to_string(minSide) + " or larger)");
    return split;
}

ImageFolderSource::ImageFolderSource(const std::vector<std::string>& folders, int channels, int patchSize,
                                     int validationPatches, const std::function<void(const std::string&)>& warn)
    : patchSize_(patchSize)
{
    if (folders.empty())
        throw Error("training needs at least one image folder");
    const auto split = splitImageFolders(folders, patchSize, warn);
    for (const auto& image : split.trainingImages)
        training_.push_back(toChannels(image, channels));
    std::vector<cv::Mat> validationImages;
    for (const auto& image : split.validationImages)
        validationImages.push_back(toChannels(image, channels));
    std::string names = folders.front();
    if (folders.size() > 1)
        names += " and " + std::to_string(folders.size() - 1) + " more folder(s) or file(s)";
    std::mt19937_64 fixed(12345);
    std::vector<torch::Tensor> patches;
    for (int i = 0; i < validationPatches; ++i)
        patches.push_back(imageToTensor(randomCrop(validationImages[size_t(i) % validationImages.size()], patchSize, fixed)));
    validation_ = torch::cat(patches);
    description_ = names + " (" + std::to_string(training_.size()) + " training, " + std::to_string(validationImages.size())
        + " validation images)";
}

torch::Tensor ImageFolderSource::sample(int batch, std::mt19937_64& random)
{
    std::uniform_int_distribution<size_t> pick(0, training_.size() - 1);
    std::vector<torch::Tensor> patches;
    for (int i = 0; i < batch; ++i)
        patches.push_back(imageToTensor(randomCrop(training_[pick(random)], patchSize_, random)));
    return torch::cat(patches);
}

std::vector<cv::Mat> fashionMnistTestImages(const std::string& folder, int count)
{
    const auto test = readIdxImages(fashionMnistFile(folder, "t10k-images-idx3-ubyte"));
    std::vector<cv::Mat> images;
    for (int i = 0; i < std::min(count, test.count); ++i) {
        const cv::Mat bytes(test.rows, test.cols, CV_8U,
                            const_cast<uint8_t*>(test.pixels.data()) + size_t(i) * test.rows * test.cols);
        cv::Mat image;
        bytes.convertTo(image, CV_32F, 1.0 / 255.0);
        images.push_back(image);
    }
    return images;
}

FashionMnistSource::FashionMnistSource(const std::string& folder, int imageSize, int validationImages)
{
    const auto train = readIdxImages(fashionMnistFile(folder, "train-images-idx3-ubyte"));
    const auto test = readIdxImages(fashionMnistFile(folder, "t10k-images-idx3-ubyte"));
    training_ = fromIdx(train, 0, train.count, imageSize).clone();
    validation_ = fromIdx(test, 0, std::min(validationImages, test.count), imageSize).clone();
    description_ = "Fashion-MNIST (" + std::to_string(train.count) + " training images)";
}

torch::Tensor FashionMnistSource::sample(int batch, std::mt19937_64& random)
{
    std::uniform_int_distribution<int64_t> pick(0, training_.size(0) - 1);
    std::vector<int64_t> index(static_cast<size_t>(batch));
    for (auto& i : index)
        i = pick(random);
    return training_.index_select(0, torch::tensor(index));
}

std::unique_ptr<TrainingSource> makeTrainingSource(const std::vector<std::string>& folders, const ModelConfig& config,
                                                   int patchSize, const std::function<void(const std::string&)>& warn)
{
    const bool generative = config.kind == ModelKind::Generative;
    constexpr int kValidationPatches = 8;
    if (folders.size() > 1) {
        if (generative)
            throw Error("generative models train on Fashion-MNIST, not on image folders");
        return std::make_unique<ImageFolderSource>(folders, config.imageChannels, patchSize, kValidationPatches, warn);
    }
    const std::string data = folders.empty() ? std::string() : folders.front();
    const bool holdsIdx = !data.empty() && data != "fashion-mnist"
        && (std::filesystem::exists(std::filesystem::path(data) / "train-images-idx3-ubyte")
            || std::filesystem::exists(std::filesystem::path(data) / "train-images-idx3-ubyte.gz"));
    const bool fashion = data == "fashion-mnist" || holdsIdx || (data.empty() && generative);
    constexpr int kValidationImages = 64;
    if (fashion) {
        if (config.imageChannels != 1)
            throw Error("Fashion-MNIST is gray; it trains 1-channel models only");
        const std::string folder = holdsIdx ? data : defaultFashionMnistFolder();
        return std::make_unique<FashionMnistSource>(folder, generative ? config.imageSize : patchSize,
                                                    kValidationImages);
    }
    if (generative)
        throw Error("generative models train on Fashion-MNIST, not on an image folder");
    return std::make_unique<ImageFolderSource>(std::vector<std::string>{data.empty() ? defaultImageFolder() : data},
                                               config.imageChannels, patchSize, kValidationPatches, warn);
}

} // namespace jiio
