#include "io/idx_reader.h"

#include "error.h"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <vector>

namespace jiio {

namespace {

constexpr uint32_t kUnsignedByte3d = 0x00000803;
constexpr uint32_t kUnsignedByte1d = 0x00000801;
// Far beyond any labelled image set: a damaged header must not make us
// allocate gigabytes before finding out that the data is missing.
constexpr uint32_t kMaxLabels = 100000000;

// gzread reads plain files as well as gzip streams.
class GzFile {
public:
    explicit GzFile(const std::string& path) : file_(gzopen(path.c_str(), "rb")) {}
    ~GzFile()
    {
        if (file_)
            gzclose(file_);
    }
    bool isOpen() const { return file_ != nullptr; }
    size_t read(void* buffer, size_t bytes)
    {
        size_t total = 0;
        auto* out = static_cast<char*>(buffer);
        while (total < bytes) {
            const int chunk = gzread(file_, out + total, unsigned(std::min<size_t>(bytes - total, 1 << 30)));
            if (chunk <= 0)
                break;
            total += size_t(chunk);
        }
        return total;
    }

    // Exactly `bytes` bytes, or nothing when the stream ends first. The buffer
    // grows with the data actually read, so a header that promises more than
    // the file holds costs no more memory than the file.
    std::vector<uint8_t> readExactly(size_t bytes)
    {
        constexpr size_t kChunk = size_t(16) << 20;
        std::vector<uint8_t> data;
        while (data.size() < bytes) {
            const size_t offset = data.size();
            const size_t want = std::min(kChunk, bytes - offset);
            data.resize(offset + want);
            const size_t got = read(data.data() + offset, want);
            if (got < want)
                return {};
        }
        return data;
    }

private:
    gzFile file_;
};

uint32_t bigEndian(const unsigned char* bytes)
{
    return uint32_t(bytes[0]) << 24 | uint32_t(bytes[1]) << 16 | uint32_t(bytes[2]) << 8 | uint32_t(bytes[3]);
}

void requireOpen(const GzFile& file, const std::string& path)
{
    if (!std::filesystem::is_regular_file(path))
        throw Error("cannot read '" + path + "': no such file");
    if (!file.isOpen())
        throw Error("cannot read '" + path + "'");
}

} // namespace

IdxImages readIdxImages(const std::string& path)
{
    GzFile file(path);
    requireOpen(file, path);
    unsigned char header[16];
    if (file.read(header, sizeof header) != sizeof header)
        throw Error("'" + path + "' is truncated (no complete IDX header)");
    if (bigEndian(header) != kUnsignedByte3d)
        throw Error("'" + path + "' is not an IDX image file (bad magic number)");
    IdxImages images;
    images.count = int(bigEndian(header + 4));
    images.rows = int(bigEndian(header + 8));
    images.cols = int(bigEndian(header + 12));
    if (images.count <= 0 || images.rows <= 0 || images.cols <= 0 || images.rows > 4096 || images.cols > 4096)
        throw Error("'" + path + "' has implausible IDX dimensions");
    const size_t bytes = size_t(images.count) * size_t(images.rows) * size_t(images.cols);
    images.pixels = file.readExactly(bytes);
    if (images.pixels.size() != bytes)
        throw Error("'" + path + "' is truncated (fewer pixels than its header promises)");
    return images;
}

std::vector<uint8_t> readIdxLabels(const std::string& path)
{
    GzFile file(path);
    requireOpen(file, path);
    unsigned char header[8];
    if (file.read(header, sizeof header) != sizeof header)
        throw Error("'" + path + "' is truncated (no complete IDX header)");
    if (bigEndian(header) != kUnsignedByte1d)
        throw Error("'" + path + "' is not an IDX label file (bad magic number)");
    const uint32_t count = bigEndian(header + 4);
    if (count == 0 || count > kMaxLabels)
        throw Error("'" + path + "' has an implausible IDX label count");
    std::vector<uint8_t> labels = file.readExactly(count);
    if (labels.size() != count)
        throw Error("'" + path + "' is truncated (fewer labels than its header promises)");
    return labels;
}

} // namespace jiio
