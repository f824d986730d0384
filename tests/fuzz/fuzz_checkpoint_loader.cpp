// libFuzzer target: any bytes as a checkpoint file. Loading returns a model
// or throws jiio::Error, never crashes or allocates what a hostile
// configuration asks for.
#include "core/error.h"
#include "core/models/checkpoint.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    try {
        const auto loaded = jiio::loadModel(jiio::fuzz::writeScratch(data, size, ".pt"));
        if (!loaded.model)
            __builtin_trap();
    } catch (const jiio::Error&) {
    }
    return 0;
}
