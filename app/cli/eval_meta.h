#pragma once
#include <QCommandLineParser>

namespace jiio::cli {

// The options of `jiio eval --task meta` (their names returned, so that other
// tasks can refuse them), and the evaluation itself once they are parsed.
QStringList addMetaEvalOptions(QCommandLineParser& parser);
int runMetaEval(const QCommandLineParser& parser);

} // namespace jiio::cli
