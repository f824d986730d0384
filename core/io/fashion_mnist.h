#pragma once
#include "torch_include.h"

#include <string>
#include <vector>

namespace jiio {

// Fashion-MNIST as Debian's dataset-fashion-mnist installs it: IDX files,
// plain or gzip-compressed, in one folder.
std::string defaultFashionMnistFolder();

// The path of one of its files by stem ("t10k-images-idx3-ubyte"), plain or
// .gz; throws jiio::Error naming the package when it is missing.
std::string fashionMnistFile(const std::string& folder, const std::string& stem);

enum class FashionMnistSplit { Training, Test };

// Images with their classes: images [N, 1, 28, 28] float in [0, 1], labels [N] int64.
struct LabelledImages {
    torch::Tensor images;
    torch::Tensor labels;
    int64_t size() const { return images.defined() ? images.size(0) : 0; }
};

// The first `count` images of a split (all when count <= 0). Throws
// jiio::Error on missing or damaged files, or when images and labels disagree
// in number.
LabelledImages loadFashionMnist(const std::string& folder, FashionMnistSplit split, int count = 0);

// "T-shirt/top", "Trouser", ... in label order.
const std::vector<std::string>& fashionMnistClassNames();

} // namespace jiio
