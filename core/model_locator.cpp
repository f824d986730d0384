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
    // A gray model first; an RGB model serves gray images too.
    std::vector<std::string> names = {defaultRestorationModelName(channels)};
    if (channels == 1)
        names.push_back(defaultRestorationModelName(3));
    std::string searched;
    for (const auto& folder : modelSearchDirectories())
        searched += (searched.empty() ? "" : ", ") + folder;
    for (const auto& name : names)
        for (const auto& folder : modelSearchDirectories()) {
            const auto candidate = std::filesystem::path(folder) / name;
            if (std::filesystem::is_regular_file(candidate))
                return candidate.string();
        }
    throw Error("no default model '" + names.front() + "' found (searched " + searched + "); pass --model FILE");
}

} // namespace jiio
