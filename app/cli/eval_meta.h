#pragma once
#include <QCommandLineParser>

namespace jiio::cli {

// The options of `jiio eval --task meta`, and the evaluation itself once they
// are parsed.
void addMetaEvalOptions(QCommandLineParser& parser);
int runMetaEval(const QCommandLineParser& parser);

} // namespace jiio::cli
