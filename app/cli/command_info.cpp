// `jiio info FILE`: what a checkpoint holds.
#include "cli_options.h"
#include "commands.h"

#include "core/models/checkpoint.h"

#include <cstdio>

namespace jiio::cli {

int runInfo(const QStringList& arguments)
{
    QCommandLineParser parser;
    parser.addPositionalArgument("file", "The checkpoint to describe.");
    if (!parseOrHelp(parser, arguments, "Show a checkpoint's configuration and size.", 1))
        return 0;
    const std::string path = toStd(parser.positionalArguments().front());
    LoadedModel loaded = loadModel(path);
    std::printf("file = %s\nparameters = %lld\n%s", path.c_str(), (long long)loaded.model->parameterCount(),
                loaded.config.toText().c_str());
    return 0;
}

} // namespace jiio::cli
