#pragma once
#include <QStringList>

// Each command takes its own arguments (the command name first) and returns
// the process exit code. Usage errors throw UsageError; other failures throw
// jiio::Error. main() turns both into one line on stderr.
namespace jiio::cli {

int runRestore(const QStringList& arguments);
int runSolve(const QStringList& arguments);
int runBench(const QStringList& arguments);
int runInfo(const QStringList& arguments);
int runInit(const QStringList& arguments);
int runCorrupt(const QStringList& arguments);
int runTrain(const QStringList& arguments);
int runEval(const QStringList& arguments);
int runExport(const QStringList& arguments);
int runAttack(const QStringList& arguments);

} // namespace jiio::cli
