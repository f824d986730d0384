#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace jiio {

// Images of an IDX file (the MNIST / Fashion-MNIST format), plain or gzip
// compressed: count x rows x cols unsigned bytes.
struct IdxImages {
    int count = 0;
    int rows = 0;
    int cols = 0;
    std::vector<uint8_t> pixels; // count * rows * cols, row-major
};

// Throws jiio::Error on a missing file, a wrong magic number (not an
// unsigned-byte 3-D IDX file) or a truncated file.
IdxImages readIdxImages(const std::string& path);

// Labels of an IDX file: a 1-D unsigned-byte vector, one class per image.
// Throws jiio::Error as readIdxImages does.
std::vector<uint8_t> readIdxLabels(const std::string& path);

} // namespace jiio
