// libFuzzer target: any bytes as an inpainting mask file.
#include "core/error.h"
#include "core/io/image_io.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    try {
        const auto mask = jiio::readMask(jiio::fuzz::writeScratch(data, size));
        if (mask.empty() || mask.type() != CV_8UC1)
            __builtin_trap();
    } catch (const jiio::Error&) {
    }
    return 0;
}
