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
constexpr uint32_t kZip64Locator = 0x07064b50;
constexpr uint32_t kZip64EndOfCentralDirectory = 0x06064b50;

uint32_t little(const std::vector<unsigned char>& bytes, size_t at, int width)
{
    uint32_t value = 0;
    for (int i = width - 1; i >= 0; --i)
        value = value << 8 | bytes[at + size_t(i)];
    return value;
}

uint64_t little64(const std::vector<unsigned char>& bytes, size_t at)
{
    return uint64_t(little(bytes, at, 4)) | uint64_t(little(bytes, at + 4, 4)) << 32;
}

// Code records are a few kilobytes; a bound keeps a damaged size field from
// asking for gigabytes.
constexpr uint32_t kLargestDeflatedMember = 64u << 20;

// A raw deflate stream to exactly `size` bytes.
bool inflateRaw(const unsigned char* in, size_t inSize, size_t size, std::vector<unsigned char>& out)
{
    out.assign(size, 0);
    z_stream stream{};
    if (inflateInit2(&stream, -MAX_WBITS) != Z_OK)
        return false;
    stream.next_in = const_cast<unsigned char*>(in);
    stream.avail_in = uInt(inSize);
    stream.next_out = out.data();
    stream.avail_out = uInt(size);
    const int result = inflate(&stream, Z_FINISH);
    const bool whole = result == Z_STREAM_END && stream.total_out == size;
    inflateEnd(&stream);
    return whole;
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
    uint64_t entries = little(bytes, end + 10, 2);
    uint64_t at = little(bytes, end + 16, 4);
    // LibTorch's writer adds a ZIP64 end record (and its locator, just before
    // the classic one), and readers take the directory from it: the two must
    // agree, or a reader would see members this check did not.
    if (end >= 20 && little(bytes, end - 20, 4) == kZip64Locator) {
        const uint64_t record = little64(bytes, end - 12);
        if (record + 56 > bytes.size() || little(bytes, size_t(record), 4) != kZip64EndOfCentralDirectory)
            return "its directory is damaged";
        const uint64_t entries64 = little64(bytes, size_t(record) + 32);
        const uint64_t at64 = little64(bytes, size_t(record) + 48);
        if ((entries != 0xFFFF && entries != entries64) || (at != kZip64Marker && at != at64))
            return "its directory is damaged (its two end records disagree)";
        entries = entries64;
        at = at64;
    }
    if (entries == 0 || entries > bytes.size() / 46)
        return "its directory is damaged";
    for (uint64_t entry = 0; entry < entries; ++entry) {
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
        // LibTorch stores tensors and deflates its code records; a member in
        // ZIP64 form or another compression is nothing this program wrote.
        if ((method != 0 && method != 8) || compressed == kZip64Marker || size == kZip64Marker
            || local == kZip64Marker || (method == 8 && size > kLargestDeflatedMember))
            return "member '" + name + "' is in a form no checkpoint of this program has";
        if (local + 30 > bytes.size() || little(bytes, local, 4) != kLocalFileHeader)
            return "member '" + name + "' is missing";
        const size_t data = local + 30 + little(bytes, local + 26, 2) + little(bytes, local + 28, 2);
        if (data + compressed > bytes.size() || (method == 0 && compressed != size))
            return "member '" + name + "' is truncated";
        uLong actual = 0;
        if (method == 0) {
            actual = crc32(crc32(0L, Z_NULL, 0), bytes.data() + data, uInt(size));
        } else {
            std::vector<unsigned char> inflated;
            if (!inflateRaw(bytes.data() + data, compressed, size, inflated))
                return "member '" + name + "' is damaged (it does not inflate to its size)";
            actual = crc32(crc32(0L, Z_NULL, 0), inflated.data(), uInt(inflated.size()));
        }
        if (uint32_t(actual) != crc)
            return "member '" + name + "' is damaged (its CRC-32 does not match)";
    }
    return {};
}

} // namespace jiio
