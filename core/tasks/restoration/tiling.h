#pragma once
#include "torch_include.h"

#include <vector>

namespace jiio {

// A square window of a (padded) image.
struct Tile {
    int64_t top = 0;
    int64_t left = 0;
    int64_t size = 0;
};

// Covers a height x width image (each side >= tileSize) with overlapping
// tiles; the last row/column is aligned to the far edge.
std::vector<Tile> planTiles(int64_t height, int64_t width, int64_t tileSize, int64_t overlap);

// Blending weight of one tile [1, 1, size, size]: linear ramps across the
// overlap on sides that have a neighbour, so overlapping tiles sum without
// seams; 1 on image borders.
torch::Tensor tileWindow(const Tile& tile, int64_t height, int64_t width, int64_t overlap);

} // namespace jiio
