#include "io/zip_integrity.h"

#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <vector>

namespace jiio {

namespace {

constexpr uint32_t kEndOfCentralDirectory = 0x06054b50;
constexpr uint32_t kCentralFileHeader = 0x02014b50;
constexpr uint32_t kLocalFileHeader = 0x04034b50;
constexpr uint32_t kZip64Marker = 0xFFFFFFFF;

uint32_t little(const std::vector<unsigned char>& bytes, size_t at, int width)
{
    uint32_t value = 0;
    for (int i = width - 1; i >= 0; --i)
        value = value << 8 | bytes[at + size_t(i)];
    return value;
}

} // namespace

std::string zipIntegrityProblem(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return "it cannot be read";
    const std::vector<unsigned char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    // The end-of-central-directory record: the last 22 bytes plus a comment
    // of up to 65535 bytes.
    if (bytes.size() < 22)
        return "it is too short to be a checkpoint";
    size_t end = bytes.size() - 22;
    const size_t earliest = bytes.size() > 22 + 65535 ? bytes.size() - 22 - 65535 : 0;
    while (little(bytes, end, 4) != kEndOfCentralDirectory) {
        if (end == earliest)
            return "it is not a ZIP archive (no end-of-directory record)";
        --end;
    }
    const uint32_t entries = little(bytes, end + 10, 2);
    size_t at = little(bytes, end + 16, 4);
    if (at == kZip64Marker)
        return {}; // a ZIP64 archive: left to the reader
    for (uint32_t entry = 0; entry < entries; ++entry) {
        if (at + 46 > bytes.size() || little(bytes, at, 4) != kCentralFileHeader)
            return "its directory is damaged";
        const uint32_t method = little(bytes, at + 10, 2);
        const uint32_t crc = little(bytes, at + 16, 4);
        const uint32_t compressed = little(bytes, at + 20, 4);
        const uint32_t size = little(bytes, at + 24, 4);
        const size_t nameLength = little(bytes, at + 28, 2);
        const size_t extraLength = little(bytes, at + 30, 2);
        const size_t commentLength = little(bytes, at + 32, 2);
        const size_t local = little(bytes, at + 42, 4);
        if (at + 46 + nameLength > bytes.size())
            return "its directory is damaged";
        const std::string name(bytes.begin() + long(at + 46), bytes.begin() + long(at + 46 + nameLength));
        at += 46 + nameLength + extraLength + commentLength;
        if (method != 0 || compressed == kZip64Marker || size == kZip64Marker || local == kZip64Marker)
            continue;
        if (local + 30 > bytes.size() || little(bytes, local, 4) != kLocalFileHeader)
            return "member '" + name + "' is missing";
        const size_t data = local + 30 + little(bytes, local + 26, 2) + little(bytes, local + 28, 2);
        if (compressed != size || data + size > bytes.size())
            return "member '" + name + "' is truncated";
        const uLong actual = crc32(crc32(0L, Z_NULL, 0), bytes.data() + data, uInt(size));
        if (uint32_t(actual) != crc)
            return "member '" + name + "' is damaged (its CRC-32 does not match)";
    }
    return {};
}

} // namespace jiio
