// libFuzzer target: any bytes as an image file. The reader must return an
// image or throw jiio::Error; nothing else (no crash, no other exception, no
// allocation beyond the pixel limit).
#include "core/error.h"
#include "core/io/image_io.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    try {
        const auto image = jiio::readImage(jiio::fuzz::writeScratch(data, size));
        if (image.color.empty())
            __builtin_trap(); // an image without pixels must have been refused
    } catch (const jiio::Error&) {
    }
    return 0;
}
