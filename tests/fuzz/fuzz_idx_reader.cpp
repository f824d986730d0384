// libFuzzer target: any bytes as an IDX image file and as an IDX label file
// (gzread takes plain and gzip-compressed files alike).
#include "core/error.h"
#include "core/io/idx_reader.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const std::string& path = jiio::fuzz::writeScratch(data, size);
    try {
        const auto images = jiio::readIdxImages(path);
        if (images.pixels.size() != size_t(images.count) * size_t(images.rows) * size_t(images.cols))
            __builtin_trap();
    } catch (const jiio::Error&) {
    }
    try {
        jiio::readIdxLabels(path);
    } catch (const jiio::Error&) {
    }
    return 0;
}
