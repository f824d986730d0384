// `jiio info FILE`: what a checkpoint holds.
#include "cli_options.h"
#include "commands.h"

#include "core/io/atomic_file.h"
#include "core/models/checkpoint.h"
#include "core/numbers.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <sstream>

namespace jiio::cli {

namespace {

// The configuration's "key = value" lines as JSON: numbers as numbers, the
// provenance notes in an object of their own.
nlohmann::json configurationJson(const ModelConfig& config)
{
    nlohmann::json settings = nlohmann::json::object(), provenance = nlohmann::json::object();
    std::istringstream lines(config.toText());
    std::string line;
    const std::string provenancePrefix = "provenance.";
    while (std::getline(lines, line)) {
        const auto eq = line.find(" = ");
        if (eq == std::string::npos)
            continue;
        const std::string key = line.substr(0, eq), value = line.substr(eq + 3);
        if (key.rfind(provenancePrefix, 0) == 0) {
            provenance[key.substr(provenancePrefix.size())] = value;
            continue;
        }
        const auto number = parseDouble(value);
        settings[key] = number ? nlohmann::json(*number) : nlohmann::json(value);
    }
    return {{"configuration", settings}, {"provenance", provenance}};
}

} // namespace

int runInfo(const QStringList& arguments)
{
    QCommandLineParser parser;
    parser.addPositionalArgument("file", "The checkpoint to describe.");
    parser.addOption({"json", "Also write the configuration and provenance as JSON.", "file"});
    if (!parseOrHelp(parser, arguments, "Show a checkpoint's configuration and size.", 1))
        return 0;
    const std::string path = toStd(parser.positionalArguments().front());
    if (parser.isSet("json"))
        checkWritableLocation(toStd(parser.value("json")));
    LoadedModel loaded = loadModel(path);
    std::printf("file = %s\nparameters = %lld\n%s", path.c_str(), (long long)loaded.model->parameterCount(),
                loaded.config.toText().c_str());
    if (parser.isSet("json")) {
        auto document = configurationJson(loaded.config);
        document["file"] = path;
        document["parameters"] = loaded.model->parameterCount();
        writeFileAtomically(toStd(parser.value("json")), document.dump(2) + "\n");
    }
    return 0;
}

} // namespace jiio::cli
