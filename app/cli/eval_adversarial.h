#pragma once
#include <QCommandLineParser>

namespace jiio::cli {

// The options of `jiio eval --task adversarial`, and the evaluation itself
// once they are parsed.
void addAdversarialEvalOptions(QCommandLineParser& parser);
int runAdversarialEval(const QCommandLineParser& parser);

} // namespace jiio::cli
