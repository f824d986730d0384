#include "tasks/meta/episodes.h"

#include "error.h"
#include "io/image_io.h"
#include "io/tensor_image.h"

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <random>

namespace jiio {

namespace {

constexpr int kFashionMetaTrainingClasses = 6;
constexpr int64_t kDigitSide = 20;
constexpr int64_t kCanvasSide = 28;

FewShotPool poolOf(const LabelledImages& data, int64_t firstClass, int64_t endClass, std::string name)
{
    const auto keep = (data.labels >= firstClass).logical_and(data.labels < endClass).nonzero().flatten();
    FewShotPool pool;
    pool.data = {data.images.index_select(0, keep), data.labels.index_select(0, keep)};
    for (int64_t c = firstClass; c < endClass; ++c)
        pool.classes.push_back(c);
    pool.name = std::move(name);
    return pool;
}

} // namespace

FashionMetaSplit fashionMetaSplit(const std::string& folder, int validationImages)
{
    const auto training = loadFashionMnist(folder, FashionMnistSplit::Training);
    const auto test = loadFashionMnist(folder, FashionMnistSplit::Test);
    const int64_t held = std::min<int64_t>(validationImages, training.size() / 2);
    const int64_t kept = training.size() - held;
    const LabelledImages fit{training.images.narrow(0, 0, kept), training.labels.narrow(0, 0, kept)};
    const LabelledImages check{training.images.narrow(0, kept, held), training.labels.narrow(0, kept, held)};
    return {poolOf(fit, 0, kFashionMetaTrainingClasses, "Fashion-MNIST classes 0-5, training split"),
            poolOf(check, 0, kFashionMetaTrainingClasses, "Fashion-MNIST classes 0-5, held-out training images"),
            poolOf(test, kFashionMetaTrainingClasses, 10, "Fashion-MNIST classes 6-9, test split")};
}

std::string defaultDigitsPath()
{
    return "/usr/share/doc/opencv-doc/examples/data/digits.png";
}

FewShotPool loadOpenCvDigits(const std::string& path)
{
    if (!std::filesystem::exists(path))
        throw Error("cannot read '" + path + "': no such file (Debian's opencv-doc package installs it)");
    const auto sheet = readImage(path);
    // [1, 1, H, W] back in [0, 1], the range of Fashion-MNIST's images.
    const auto gray = (imageToTensor(sheet.color).mean(1, /*keepdim=*/true) + 1) / 2;
    const int64_t rows = gray.size(2) / kDigitSide, columns = gray.size(3) / kDigitSide;
    if (gray.size(2) != rows * kDigitSide || gray.size(3) != columns * kDigitSide || rows % 10 != 0)
        throw Error("'" + path + "' is not a sheet of 20x20 digits in ten equal bands of rows");
    // [rows, 20, columns, 20] -> one 20x20 image per cell, row-major.
    const auto cells = gray.view({rows, kDigitSide, columns, kDigitSide}).permute({0, 2, 1, 3})
                           .reshape({rows * columns, 1, kDigitSide, kDigitSide});
    const int64_t pad = (kCanvasSide - kDigitSide) / 2;
    FewShotPool pool;
    pool.data.images = torch::constant_pad_nd(cells, {pad, pad, pad, pad}, 0.0).contiguous();
    pool.data.labels = torch::arange(rows * columns, torch::kInt64).div(rows / 10 * columns, "floor");
    for (int64_t c = 0; c < 10; ++c)
        pool.classes.push_back(c);
    pool.name = "OpenCV digits (" + std::filesystem::path(path).filename().string() + ")";
    return pool;
}

Episode drawEpisode(const FewShotPool& pool, int ways, int shots, int queries, uint64_t seed,
                    const torch::Device& device)
{
    if (ways < 2 || shots < 1 || queries < 1)
        throw Error("an episode needs at least two ways, one shot and one query per class");
    if (size_t(ways) > pool.classes.size())
        throw Error(std::to_string(ways) + "-way episodes need " + std::to_string(ways) + " classes; "
                    + pool.name + " has " + std::to_string(pool.classes.size()));
    std::mt19937_64 random(seed);
    auto classes = pool.classes;
    std::shuffle(classes.begin(), classes.end(), random);
    classes.resize(size_t(ways));

    std::vector<int64_t> support, query, supportSlots, querySlots;
    for (int slot = 0; slot < ways; ++slot) {
        const auto members = pool.data.labels.eq(classes[size_t(slot)]).nonzero().flatten();
        if (members.numel() < shots + queries)
            throw Error(pool.name + " has too few images of class " + std::to_string(classes[size_t(slot)]));
        std::vector<int64_t> index(size_t(members.numel()));
        std::iota(index.begin(), index.end(), 0);
        std::shuffle(index.begin(), index.end(), random);
        const auto* ids = members.data_ptr<int64_t>();
        for (int i = 0; i < shots + queries; ++i) {
            const bool isSupport = i < shots;
            (isSupport ? support : query).push_back(ids[index[size_t(i)]]);
            (isSupport ? supportSlots : querySlots).push_back(slot);
        }
    }
    Episode episode;
    episode.ways = ways;
    episode.shots = shots;
    episode.classes = classes;
    episode.supportImages = pool.data.images.index_select(0, torch::tensor(support)).to(device);
    episode.supportLabels = torch::tensor(supportSlots).to(device);
    episode.queryImages = pool.data.images.index_select(0, torch::tensor(query)).to(device);
    episode.queryLabels = torch::tensor(querySlots).to(device);
    return episode;
}

} // namespace jiio
