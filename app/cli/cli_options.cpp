#include "cli_options.h"

#include "core/models/model_device.h"
#include "core/threads.h"
#include "core/torch_include.h"

#include <cstdio>
#include <limits>

namespace jiio::cli {

std::string toStd(const QString& text)
{
    return text.toStdString();
}

void printHelp(const QCommandLineParser& parser, const QString& command)
{
    // Qt names the executable's full path in the usage line; name the command.
    QString text = parser.helpText();
    const auto firstLineEnd = text.indexOf('\n');
    const QString usage = text.left(firstLineEnd);
    const auto options = usage.indexOf(" [options]");
    text.replace(0, options, "Usage: jiio " + command);
    text += "\nExit status: 0 done; 1 failed (the message says why); 2 wrong usage; 130 or 143 stopped by Ctrl-C or\n"
            "SIGTERM (after writing what it had).\n";
    std::fputs(qPrintable(text), stdout);
}

bool parseOrHelp(QCommandLineParser& parser, const QStringList& arguments, const QString& description,
                 int positionalCount)
{
    parser.setApplicationDescription(description);
    parser.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions);
    // Not addHelpOption(): it also adds Qt's --help-all, whose extra options
    // mean nothing to this program.
    const QCommandLineOption help({"h", "help"}, "Show this help and the exit statuses.");
    const QCommandLineOption version("version", "Show the program's version.");
    parser.addOption(help);
    parser.addOption(version);
    if (!parser.parse(arguments))
        throw UsageError(toStd(parser.errorText()));
    if (parser.isSet(help)) {
        printHelp(parser, arguments.front());
        return false;
    }
    if (parser.isSet(version)) {
        std::printf("jiio %s\n", JIIO_VERSION);
        return false;
    }
    const auto positional = parser.positionalArguments();
    if (positional.size() > positionalCount)
        throw UsageError("unexpected argument '" + toStd(positional.at(positionalCount)) + "'");
    if (positional.size() < positionalCount)
        throw UsageError("expected " + std::to_string(positionalCount) + " file argument(s)");
    return true;
}

QString requireValue(const QCommandLineParser& parser, const QString& name)
{
    if (!parser.isSet(name) || parser.value(name).isEmpty())
        throw UsageError("missing required option --" + toStd(name));
    return parser.value(name);
}

int intValue(const QCommandLineParser& parser, const QString& name, int fallback, int min, int max)
{
    if (!parser.isSet(name))
        return fallback;
    bool ok = false;
    const int value = parser.value(name).toInt(&ok);
    if (!ok || value < min || value > max)
        throw UsageError("--" + toStd(name) + " must be an integer in [" + std::to_string(min) + ", "
                         + std::to_string(max) + "]");
    return value;
}

QStringList addTaskOptions(QCommandLineParser& parser, const QList<QCommandLineOption>& options)
{
    parser.addOptions(options);
    QStringList names;
    for (const auto& option : options)
        names << option.names().first();
    return names;
}

double doubleValue(const QCommandLineParser& parser, const QString& name, double fallback, double min, double max)
{
    if (!parser.isSet(name))
        return fallback;
    bool ok = false;
    const double value = parser.value(name).toDouble(&ok);
    if (!ok || !(value >= min && value <= max))
        throw UsageError("--" + toStd(name) + " must be a number in [" + toStd(QString::number(min)) + ", "
                         + toStd(QString::number(max)) + "]");
    return value;
}

void addSolverOptions(QCommandLineParser& parser)
{
    parser.addOptions({
        {"solver", "jiio-anderson (default), jiio-picard, naive-adam or naive-gd.", "name", "jiio-anderson"},
        {"iters",
         "Iteration budget (default: the budget the model was trained for; five times that for JIIO on an image "
         "prior model, which stops at its tolerance).",
         "N"},
        {"tol", "Residual tolerance (default 1e-5; 3e-2 for JIIO on an image prior model).", "T"},
        {"alpha-x", "JIIO step size on the input (default 0.01).", "A"},
        {"alpha-x-late", "JIIO input step after the switch point (default 0.003).", "A"},
        {"alpha-z", "JIIO step size on the state (default 0.8).", "A"},
        {"alpha-mu", "JIIO step size on the adjoint (default 0.6).", "A"},
        {"memory", "Anderson memory (default 6).", "M"},
        {"lr", "Naive method's learning rate (default: Adam 0.05, GD 0.01).", "R"},
    });
}

SolveSettings solveSettingsFrom(const QCommandLineParser& parser, const ModelConfig& model)
{
    return solveSettingsFrom(parser, solveDefaults(model, inputMethodFromString(toStd(parser.value("solver")))));
}

SolveSettings solveSettingsFrom(const QCommandLineParser& parser, const SolveDefaults& defaults)
{
    SolveSettings settings;
    settings.method = inputMethodFromString(toStd(parser.value("solver")));
    settings.setBudget(intValue(parser, "iters", defaults.iterations, 1, 100000));
    settings.setTolerance(doubleValue(parser, "tol", defaults.tolerance, 1e-15, 1.0));
    auto& jiio = settings.jiio;
    jiio.alphaX = doubleValue(parser, "alpha-x", jiio.alphaX, 0.0, 100.0);
    jiio.alphaXLate = doubleValue(parser, "alpha-x-late", parser.isSet("alpha-x") ? jiio.alphaX : jiio.alphaXLate, 0.0, 100.0);
    jiio.alphaZ = doubleValue(parser, "alpha-z", jiio.alphaZ, 0.0, 1.0);
    jiio.alphaMu = doubleValue(parser, "alpha-mu", jiio.alphaMu, 0.0, 1.0);
    jiio.andersonMemory = intValue(parser, "memory", jiio.andersonMemory, 1, 200);
    auto& naive = settings.naive;
    naive.adamLearningRate = doubleValue(parser, "lr", naive.adamLearningRate, 0.0, 100.0);
    naive.gdLearningRate = doubleValue(parser, "lr", naive.gdLearningRate, 0.0, 100.0);
    return settings;
}

void addRuntimeOptions(QCommandLineParser& parser)
{
    parser.addOptions({
        {"threads", "Compute threads (default: all cores).", "N", "0"},
        {"seed", "Random seed (default 0).", "S", "0"},
    });
}

void addDeviceOption(QCommandLineParser& parser)
{
    parser.addOption({"device", "Where to compute: cpu (default), cuda (the first GPU) or cuda:N.", "D", "cpu"});
}

torch::Device deviceFrom(const QCommandLineParser& parser)
{
    return parseDevice(toStd(parser.value("device")));
}

void placeModelOnDevice(const QCommandLineParser& parser, DeqModel& model)
{
    placeModel(model, deviceFrom(parser));
}

void applyRuntimeOptions(const QCommandLineParser& parser)
{
    configureThreads(intValue(parser, "threads", 0, 0, 1024));
    torch::manual_seed(uint64_t(intValue(parser, "seed", 0, 0, std::numeric_limits<int>::max())));
}

} // namespace jiio::cli
