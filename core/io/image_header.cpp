#include "io/image_header.h"

#include <algorithm>
#include <iterator>

namespace jiio {

namespace {

uint32_t bigEndian(const std::vector<unsigned char>& bytes, size_t at, int count)
{
    uint32_t value = 0;
    for (int i = 0; i < count; ++i)
        value = (value << 8) | bytes[at + size_t(i)];
    return value;
}

std::optional<DeclaredSize> pngSize(const std::vector<unsigned char>& bytes)
{
    // Signature (8 bytes), then the IHDR chunk: length (4), "IHDR", width, height.
    static const unsigned char signature[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (bytes.size() < 24 || !std::equal(std::begin(signature), std::end(signature), bytes.begin()))
        return std::nullopt;
    if (bytes[12] != 'I' || bytes[13] != 'H' || bytes[14] != 'D' || bytes[15] != 'R')
        return std::nullopt;
    return DeclaredSize{bigEndian(bytes, 16, 4), bigEndian(bytes, 20, 4)};
}

std::optional<DeclaredSize> jpegSize(const std::vector<unsigned char>& bytes)
{
    if (bytes.size() < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8)
        return std::nullopt;
    // Marker segments up to the first start-of-frame (SOF0-SOF15 but DHT C4,
    // JPG C8 and DAC CC), whose payload is precision, height, width.
    size_t at = 2;
    while (at + 4 <= bytes.size()) {
        if (bytes[at] != 0xFF)
            return std::nullopt;
        const unsigned char marker = bytes[at + 1];
        if (marker == 0xFF) { // fill byte
            ++at;
            continue;
        }
        const size_t length = bigEndian(bytes, at + 2, 2);
        const bool frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
        if (frame) {
            if (at + 9 > bytes.size())
                return std::nullopt;
            return DeclaredSize{bigEndian(bytes, at + 7, 2), bigEndian(bytes, at + 5, 2)};
        }
        if (marker == 0xDA || length < 2) // scan data before any frame: malformed
            return std::nullopt;
        at += 2 + length;
    }
    return std::nullopt;
}

} // namespace

std::optional<DeclaredSize> declaredImageSize(const std::vector<unsigned char>& bytes)
{
    if (auto size = pngSize(bytes))
        return size;
    return jpegSize(bytes);
}

} // namespace jiio
