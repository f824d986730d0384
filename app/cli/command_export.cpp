// `jiio export`: a training checkpoint as a small model file to ship (model
// and configuration only, with provenance notes added).
#include "cli_options.h"
#include "commands.h"

#include "core/models/checkpoint.h"

#include <cstdio>

namespace jiio::cli {

int runExport(const QStringList& arguments)
{
    QCommandLineParser parser;
    parser.addOptions({
        {"input", "Checkpoint written by 'jiio train' (or any model).", "file"},
        {"output", "The model file to write.", "file"},
        {"set", "Provenance note key=value to store in the model (repeatable).", "key=value"},
    });
    if (!parseOrHelp(parser, arguments, "Write a checkpoint's model alone, with provenance notes, for shipping."))
        return 0;
    LoadedModel loaded = loadModel(toStd(requireValue(parser, "input")));
    for (const QString& note : parser.values("set")) {
        const auto eq = note.indexOf('=');
        if (eq <= 0)
            throw UsageError("--set expects key=value");
        const QString key = note.left(eq).trimmed();
        if (key.contains(' ') || key.contains('='))
            throw UsageError("provenance keys may not contain spaces");
        loaded.model->setProvenance(toStd(key), toStd(note.mid(eq + 1).simplified()));
    }
    const std::string output = toStd(requireValue(parser, "output"));
    saveModel(output, loaded.model);
    std::printf("wrote %s (%lld parameters)\n", output.c_str(), (long long)loaded.model->parameterCount());
    return 0;
}

} // namespace jiio::cli
