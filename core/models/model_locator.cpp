#include "models/model_locator.h"

#include "error.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

namespace jiio {

namespace {

// <prefix>/share/jiio/<what> for the prefix the running executable lies in
// (<prefix>/bin/jiio); empty when that cannot be told.
std::string besideExecutable(const std::string& what)
{
    std::error_code error;
    const auto executable = std::filesystem::read_symlink("/proc/self/exe", error);
    if (error)
        return {};
    return (executable.parent_path().parent_path() / "share" / "jiio" / what).string();
}

std::vector<std::string> searchDirectories(const char* variable, const std::string& what, const char* source,
                                           const char* installed)
{
    std::vector<std::string> folders;
    if (const char* fromEnvironment = std::getenv(variable); fromEnvironment && *fromEnvironment)
        folders.emplace_back(fromEnvironment);
    if (auto beside = besideExecutable(what); !beside.empty())
        folders.push_back(std::move(beside));
    folders.emplace_back(source);
    folders.emplace_back(installed);
    return folders;
}

} // namespace

std::vector<std::string> modelSearchDirectories()
{
    return searchDirectories("JIIO_MODELS_DIR", "models", JIIO_SOURCE_MODELS_DIR, JIIO_INSTALLED_MODELS_DIR);
}

std::vector<std::string> sampleSearchDirectories()
{
    return searchDirectories("JIIO_SAMPLES_DIR", "samples", JIIO_SOURCE_SAMPLES_DIR, JIIO_INSTALLED_SAMPLES_DIR);
}

std::string locateSampleFolder()
{
    std::string searched;
    for (const auto& folder : sampleSearchDirectories()) {
        if (std::filesystem::is_directory(folder))
            return folder;
        searched += (searched.empty() ? "" : ", ") + folder;
    }
    throw Error("no sample images found (searched " + searched + ")");
}

std::string defaultRestorationModelName(int channels)
{
    return channels == 1 ? "restore-gray.pt" : "restore-rgb.pt";
}

namespace {

std::string locateFirst(const std::vector<std::string>& names)
{
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

} // namespace

std::string locateDefaultRestorationModel(int channels)
{
    // A gray model first; an RGB model serves gray images too.
    std::vector<std::string> names = {defaultRestorationModelName(channels)};
    if (channels == 1)
        names.push_back(defaultRestorationModelName(3));
    return locateFirst(names);
}

std::string locateShippedModel(const std::string& name)
{
    return locateFirst({name});
}

std::string locateDefaultGenerativeModel()
{
    return locateFirst({kGenerativeModelName});
}

std::vector<std::string> shippedModels()
{
    std::vector<std::string> found;
    std::vector<std::string> names;
    for (const auto& folder : modelSearchDirectories()) {
        std::error_code error;
        for (const auto& entry : std::filesystem::directory_iterator(folder, error)) {
            const auto name = entry.path().filename().string();
            if (entry.path().extension() == ".pt" && entry.is_regular_file()
                && std::find(names.begin(), names.end(), name) == names.end()) {
                names.push_back(name);
                found.push_back(entry.path().string());
            }
        }
    }
    std::sort(found.begin(), found.end(), [](const std::string& a, const std::string& b) {
        return std::filesystem::path(a).filename() < std::filesystem::path(b).filename();
    });
    return found;
}

} // namespace jiio
