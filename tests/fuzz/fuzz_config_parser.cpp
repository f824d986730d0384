// libFuzzer target: any text as a model configuration. Parsing returns a
// configuration that validates, or throws jiio::Error; what it returns reads
// back to itself.
#include "core/error.h"
#include "core/models/model_config.h"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const auto config = jiio::ModelConfig::fromText(text);
        config.validate();
        if (jiio::ModelConfig::fromText(config.toText()).toText() != config.toText())
            __builtin_trap();
    } catch (const jiio::Error&) {
    }
    return 0;
}
