// jiio: the command-line front end of the JIIO engine.
#include "cli_options.h"
#include "commands.h"

#include "core/process_setup.h"

#include <QCoreApplication>

#include <cstdio>
#include <functional>
#include <map>

namespace {

struct Command {
    std::function<int(const QStringList&)> run;
    const char* summary;
};

const std::map<QString, Command>& commands()
{
    using namespace jiio::cli;
    static const std::map<QString, Command> table = {
        {"attack", {runAttack, "an adversarial perturbation of an image against a DEQ classifier"}},
        {"restore", {runRestore, "restore an image (denoise or inpaint) with a trained DEQ"}},
        {"solve", {runSolve, "run one method on one problem and write its per-iteration trace"}},
        {"bench", {runBench, "JIIO against the naive method, side by side"}},
        {"corrupt", {runCorrupt, "make a test problem: add noise or cut holes, writing the mask"}},
        {"train", {runTrain, "train a model through JIIO (restoration, classification, adversarial; --resume)"}},
        {"eval", {runEval, "compare a model with classical restoration on held-out images"}},
        {"export", {runExport, "write a training checkpoint as a small model file with provenance notes"}},
        {"info", {runInfo, "show a checkpoint's configuration"}},
        {"init", {runInit, "write a new, untrained model checkpoint"}},
    };
    return table;
}

void printUsage(FILE* out)
{
    std::fputs("Usage: jiio <command> [options]\n\nJoint inference and input optimisation for deep equilibrium "
               "models.\n\nCommands:\n",
               out);
    for (const auto& [name, command] : commands())
        std::fprintf(out, "  %-9s %s\n", qPrintable(name), command.summary);
    std::fputs("\nRun 'jiio help <command>' or 'jiio <command> --help' for a command's options.\n", out);
}

// Runs one command (its name first in `arguments`), turning errors into the
// message and exit status the help promises.
int runCommand(const QString& name, const QStringList& arguments)
{
    const auto found = commands().find(name);
    if (found == commands().end()) {
        std::fprintf(stderr, "jiio: error: unknown command '%s' (see 'jiio --help')\n", qPrintable(name));
        return 2;
    }
    try {
        return found->second.run(arguments);
    } catch (const jiio::cli::UsageError& e) {
        std::fprintf(stderr, "jiio %s: error: %s (see 'jiio %s --help')\n", qPrintable(name),
                     jiio::oneLine(e.what()).c_str(), qPrintable(name));
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "jiio %s: error: %s\n", qPrintable(name), jiio::oneLine(e.what()).c_str());
        return 1;
    }
}

} // namespace

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName("jiio");
    QCoreApplication::setApplicationVersion(JIIO_VERSION);
    jiio::setUpProcess();
    const QStringList arguments = QCoreApplication::arguments();

    if (arguments.size() < 2) {
        printUsage(stderr);
        return 2;
    }
    const QString name = arguments.at(1);
    if (name == "help" && arguments.size() == 3) // jiio help CMD
        return runCommand(arguments.at(2), {arguments.at(2), "--help"});
    if (name == "--help" || name == "-h" || name == "help") {
        printUsage(stdout);
        return 0;
    }
    if (name == "--version") {
        std::printf("jiio %s\n", JIIO_VERSION);
        return 0;
    }
    return runCommand(name, arguments.mid(1));
}
