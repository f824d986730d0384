#include "tasks/restoration/tiling.h"

namespace jiio {

namespace {

std::vector<int64_t> axisStarts(int64_t length, int64_t tileSize, int64_t overlap)
{
    std::vector<int64_t> starts;
    const int64_t stride = tileSize - overlap;
    for (int64_t start = 0;; start += stride) {
        if (start + tileSize >= length) {
            starts.push_back(length - tileSize);
            break;
        }
        starts.push_back(start);
    }
    return starts;
}

torch::Tensor axisRamp(int64_t start, int64_t size, int64_t length, int64_t overlap)
{
    auto ramp = torch::ones({size});
    if (overlap <= 0)
        return ramp;
    const auto rise = (torch::arange(overlap, torch::kFloat32) + 0.5) / double(overlap);
    if (start > 0)
        ramp.narrow(0, 0, overlap).mul_(rise);
    if (start + size < length)
        ramp.narrow(0, size - overlap, overlap).mul_(rise.flip(0));
    return ramp;
}

} // namespace

std::vector<Tile> planTiles(int64_t height, int64_t width, int64_t tileSize, int64_t overlap)
{
    TORCH_CHECK(height >= tileSize && width >= tileSize, "image smaller than a tile");
    std::vector<Tile> tiles;
    for (auto top : axisStarts(height, tileSize, overlap))
        for (auto left : axisStarts(width, tileSize, overlap))
            tiles.push_back({top, left, tileSize});
    return tiles;
}

torch::Tensor tileWindow(const Tile& tile, int64_t height, int64_t width, int64_t overlap)
{
    auto rows = axisRamp(tile.top, tile.size, height, overlap);
    auto cols = axisRamp(tile.left, tile.size, width, overlap);
    return torch::outer(rows, cols).view({1, 1, tile.size, tile.size});
}

} // namespace jiio
