#pragma once
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

namespace jiio {

// The largest image the engine reads: 64 megapixels (8192 x 8192). A
// restoration holds several float copies of the image, about 70 bytes a
// pixel, so this bounds a run at a few GB.
constexpr int64_t kMaxImagePixels = int64_t(1) << 26;

struct DeclaredSize {
    int64_t width = 0;
    int64_t height = 0;
    // Saturates rather than overflows: a PNG may declare 2^32 - 1 by 2^32 - 1.
    int64_t pixels() const
    {
        return width > 0 && height > std::numeric_limits<int64_t>::max() / width ? std::numeric_limits<int64_t>::max()
                                                                                 : width * height;
    }
};

// The dimensions a PNG or JPEG file declares in its header, read without
// decoding anything, so that a small file claiming enormous dimensions is
// refused before memory for it is allocated. Nothing for other formats or a
// header that cannot be read (the decoder then reports the damage).
std::optional<DeclaredSize> declaredImageSize(const std::vector<unsigned char>& bytes);

} // namespace jiio
