#include "model_locator.h"

#include "error.h"

#include <cstdlib>
#include <filesystem>

namespace jiio {

std::vector<std::string> modelSearchDirectories()
{
    std::vector<std::string> folders;
    if (const char* fromEnvironment = std::getenv("JIIO_MODELS_DIR"); fromEnvironment && *fromEnvironment)
        folders.emplace_back(fromEnvironment);
    folders.emplace_back(JIIO_SOURCE_MODELS_DIR);
    folders.emplace_back(JIIO_INSTALLED_MODELS_DIR);
    return folders;
}

std::string defaultRestorationModelName(int channels)
{
    return channels == 1 ? "restore-gray.pt" : "restore-rgb.pt";
}

std::string locateDefaultRestorationModel(int channels)
{
    const std::string name = defaultRestorationModelName(channels);
    std::string searched;
    for (const auto& folder : modelSearchDirectories()) {
        const auto candidate = std::filesystem::path(folder) / name;
        if (std::filesystem::is_regular_file(candidate))
            return candidate.string();
        searched += (searched.empty() ? "" : ", ") + folder;
    }
    throw Error("no default model '" + name + "' found (searched " + searched + "); pass --model FILE");
}

} // namespace jiio
