#include "io/fashion_mnist.h"

#include "error.h"
#include "io/idx_reader.h"

#include <filesystem>

namespace jiio {

std::string defaultFashionMnistFolder()
{
    return "/usr/share/datasets/fashion-mnist";
}

std::string fashionMnistFile(const std::string& folder, const std::string& stem)
{
    for (const auto& name : {stem, stem + ".gz"}) {
        const auto path = std::filesystem::path(folder) / name;
        if (std::filesystem::is_regular_file(path))
            return path.string();
    }
    throw Error("Fashion-MNIST file '" + stem + "' not found in " + folder + " (install dataset-fashion-mnist)");
}

LabelledImages loadFashionMnist(const std::string& folder, FashionMnistSplit split, int count)
{
    const std::string prefix = split == FashionMnistSplit::Training ? "train" : "t10k";
    const auto images = readIdxImages(fashionMnistFile(folder, prefix + "-images-idx3-ubyte"));
    const auto labels = readIdxLabels(fashionMnistFile(folder, prefix + "-labels-idx1-ubyte"));
    if (labels.size() != size_t(images.count))
        throw Error("Fashion-MNIST in " + folder + ": " + std::to_string(images.count) + " images but "
                    + std::to_string(labels.size()) + " labels");
    const int64_t n = count > 0 ? std::min<int64_t>(count, images.count) : images.count;
    const auto classes = int64_t(fashionMnistClassNames().size());
    for (int64_t i = 0; i < n; ++i)
        if (labels[size_t(i)] >= classes)
            throw Error("Fashion-MNIST in " + folder + ": label " + std::to_string(labels[size_t(i)])
                        + " is not a class");
    LabelledImages result;
    auto bytes = torch::from_blob(const_cast<uint8_t*>(images.pixels.data()), {n, 1, images.rows, images.cols},
                                  torch::kUInt8);
    result.images = bytes.to(torch::kFloat32).div_(255.0);
    result.labels = torch::from_blob(const_cast<uint8_t*>(labels.data()), {n}, torch::kUInt8).to(torch::kInt64);
    return result;
}

const std::vector<std::string>& fashionMnistClassNames()
{
    static const std::vector<std::string> names{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    return names;
}

} // namespace jiio
