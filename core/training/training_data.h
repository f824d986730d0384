#pragma once
#include "io/fashion_mnist.h"
#include "models/model_config.h"
#include "torch_include.h"

#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace jiio {

// Clean training images as tensors [B, C, S, S] in the normalised range
// [-1, 1], with a held-out validation set split by image, not by patch.
class TrainingSource {
public:
    virtual ~TrainingSource() = default;
    virtual torch::Tensor sample(int batch, std::mt19937_64& random) = 0;
    virtual torch::Tensor validation() const = 0;
    virtual std::string describe() const = 0;
};

// Random crops (with flips) of the images in one or more folders. Unreadable
// or too-small files are skipped with a warning through `warn`; every fifth
// usable image (splitImageFolders) goes to validation.
class ImageFolderSource : public TrainingSource {
public:
    ImageFolderSource(const std::vector<std::string>& folders, int channels, int patchSize, int validationPatches,
                      const std::function<void(const std::string&)>& warn);
    torch::Tensor sample(int batch, std::mt19937_64& random) override;
    torch::Tensor validation() const override { return validation_; }
    std::string describe() const override { return description_; }

private:
    std::vector<cv::Mat> training_;
    torch::Tensor validation_;
    int patchSize_;
    std::string description_;
};

// Fashion-MNIST from the IDX files of Debian's dataset-fashion-mnist, padded
// from 28x28 to `imageSize` (training set for training, test set for
// validation).
class FashionMnistSource : public TrainingSource {
public:
    FashionMnistSource(const std::string& folder, int imageSize, int validationImages);
    torch::Tensor sample(int batch, std::mt19937_64& random) override;
    torch::Tensor validation() const override { return validation_; }
    std::string describe() const override { return description_; }

private:
    torch::Tensor training_; // [N, 1, S, S]
    torch::Tensor validation_;
    std::string description_;
};

// The image files of a folder split by image: every fifth usable file (in name
// order) is held out for validation. Unreadable files and files smaller than
// minSide are skipped with a warning. Each file is decoded once. A folder
// holding one picture at several sizes, named WIDTHxHEIGHT (a KDE wallpaper
// package's contents/images), counts as that picture once, at its largest.
// Photos larger than kMaxImageSide on their long side are down-scaled (area
// averaging removes their compression artefacts and brings their detail to
// the scale of the others), for training and held-out use alike.
constexpr int kMaxImageSide = 1024;
struct ImageSplit {
    std::vector<std::string> training;   // paths
    std::vector<std::string> validation;
    std::vector<cv::Mat> trainingImages; // decoded, float RGB or gray [0, 1]
    std::vector<cv::Mat> validationImages;
};
ImageSplit splitImageFolder(const std::string& folder, int minSide,
                            const std::function<void(const std::string&)>& warn);
// The same over several folders as one list (each folder's files in name
// order, folder after folder): a folder of one picture still counts. An
// entry may also name one image file, which joins the list where it stands,
// so that pictures from a folder of mixed artwork can be picked one by one.
ImageSplit splitImageFolders(const std::vector<std::string>& folders, int minSide,
                             const std::function<void(const std::string&)>& warn);

// Default data locations (Debian packages).
std::string defaultImageFolder();

// The first `count` images of Fashion-MNIST's test set, 28x28 float [0, 1].
std::vector<cv::Mat> fashionMnistTestImages(const std::string& folder, int count);

// The data a model of this configuration trains on. `data` is empty (the
// default for the model's kind: Fashion-MNIST for generative models, OpenCV's
// sample images for restoration models), "fashion-mnist", a folder holding
// Fashion-MNIST's IDX files, or one or more folders of images. Restoration
// models train on patchSize crops; generative models on whole images of their size.
std::unique_ptr<TrainingSource> makeTrainingSource(const std::vector<std::string>& data, const ModelConfig& config,
                                                   int patchSize, const std::function<void(const std::string&)>& warn);

} // namespace jiio
