#pragma once
#include <QCommandLineParser>

namespace jiio::cli {

// The options of `jiio eval --task adversarial` (their names returned, so
// that other tasks can refuse them), and the evaluation itself once they are
// parsed.
QStringList addAdversarialEvalOptions(QCommandLineParser& parser);
int runAdversarialEval(const QCommandLineParser& parser);

} // namespace jiio::cli
