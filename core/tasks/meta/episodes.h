#pragma once
#include "io/fashion_mnist.h"

#include <cstdint>
#include <string>
#include <vector>

namespace jiio {

// Labelled images of some classes, from which few-shot episodes are drawn.
struct FewShotPool {
    LabelledImages data;      // images [N, 1, 28, 28] in [0, 1], labels [N] (original class ids)
    std::vector<int64_t> classes; // the class ids present, ascending
    std::string name;             // where it came from, for reports
};

// One N-way K-shot episode. Labels are slots 0..ways-1, assigned to the
// drawn classes in a random order, so no slot means a class across episodes.
struct Episode {
    torch::Tensor supportImages, supportLabels; // [ways * shots, 1, 28, 28], [ways * shots]
    torch::Tensor queryImages, queryLabels;     // [ways * queries, ...]
    int ways = 0;
    int shots = 0;
    std::vector<int64_t> classes; // the original class id of each slot
};

// The meta-learning split of Fashion-MNIST: meta-training on classes 0-5
// (T-shirt to sandal) of the training split, less its last `validationImages`
// images (the validation pool, same classes); meta-testing on classes 6-9
// (shirt, sneaker, bag, ankle boot) of the test split. No class is in both.
struct FashionMetaSplit {
    FewShotPool training, validation, test;
};
FashionMetaSplit fashionMetaSplit(const std::string& folder, int validationImages = 2000);

// OpenCV's handwritten digits (digits.png in opencv-doc: 5000 digits of 20x20
// in a 100 x 50 grid, five rows per digit), each centred on a 28x28 canvas
// like Fashion-MNIST's images. Throws jiio::Error when the file is missing or
// not that grid.
std::string defaultDigitsPath();
FewShotPool loadOpenCvDigits(const std::string& path);

// Draws `ways` distinct classes of the pool, `shots` support and `queries`
// query images of each (no image in both); deterministic in `seed`. The
// episode's tensors are on `device` (the model's). Throws jiio::Error when the
// pool has too few classes or images of a class.
Episode drawEpisode(const FewShotPool& pool, int ways, int shots, int queries, uint64_t seed,
                    const torch::Device& device = torch::kCPU);

} // namespace jiio
