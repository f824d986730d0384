#pragma once
#include "core/error.h"
#include "core/jiio/input_optimization.h"
#include "core/jiio/solve_defaults.h"
#include "core/models/deq_model.h"
#include "core/models/model_config.h"

#include <QCommandLineParser>

namespace jiio::cli {

// A mistake in how the command was called (exit code 2).
class UsageError : public Error {
public:
    using Error::Error;
};

// Parses `arguments` (command name first) and handles --help and --version.
// Returns false when either was printed and the command should exit with 0. Exactly
// `positionalCount` positional arguments are accepted.
bool parseOrHelp(QCommandLineParser& parser, const QStringList& arguments, const QString& description,
                 int positionalCount = 0);

void printHelp(const QCommandLineParser& parser, const QString& command);

// Adds the options only one task of a command reads, and returns their names
// (so that the command can refuse them under its other tasks).
QStringList addTaskOptions(QCommandLineParser& parser, const QList<QCommandLineOption>& options);

QString requireValue(const QCommandLineParser& parser, const QString& name);
int intValue(const QCommandLineParser& parser, const QString& name, int fallback, int min, int max);
double doubleValue(const QCommandLineParser& parser, const QString& name, double fallback, double min, double max);

// Solver options shared by restore, solve and bench.
void addSolverOptions(QCommandLineParser& parser);
// Budget and tolerance default to the model's solveDefaults for the chosen
// method, or to `defaults` where a command fixes its own.
SolveSettings solveSettingsFrom(const QCommandLineParser& parser, const ModelConfig& model);
SolveSettings solveSettingsFrom(const QCommandLineParser& parser, const SolveDefaults& defaults);

// --threads and --seed, applied to LibTorch.
void addRuntimeOptions(QCommandLineParser& parser);
void applyRuntimeOptions(const QCommandLineParser& parser);
// --device for commands whose solves follow their model to any device.
void addDeviceOption(QCommandLineParser& parser);
// The device --device names (checked: a GPU the build or machine lacks is
// refused with a sentence saying which).
torch::Device deviceFrom(const QCommandLineParser& parser);
// Moves the model to --device, checked as deviceFrom does.
void placeModelOnDevice(const QCommandLineParser& parser, DeqModel& model);

std::string toStd(const QString& text);

} // namespace jiio::cli
