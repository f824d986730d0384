#include "cli_runner.h"

#include "test_support.h"

namespace jiio::test {

CliResult runCli(const QStringList& arguments, int timeoutMs, const QProcessEnvironment& environment)
{
    QProcess process;
    process.setProcessEnvironment(environment);
    process.setProgram(cliPath());
    process.setArguments(arguments);
    process.start();
    CliResult result;
    if (!process.waitForStarted()) {
        result.crashed = true;
        result.err = "did not start: " + process.errorString();
        return result;
    }
    if (!process.waitForFinished(timeoutMs)) {
        process.kill();
        process.waitForFinished();
        result.crashed = true;
        result.timedOut = true;
        result.out = QString::fromLocal8Bit(process.readAllStandardOutput());
        result.err = QString::fromLocal8Bit(process.readAllStandardError());
        return result;
    }
    result.crashed = process.exitStatus() != QProcess::NormalExit;
    result.exitCode = process.exitCode();
    result.out = QString::fromLocal8Bit(process.readAllStandardOutput());
    result.err = QString::fromLocal8Bit(process.readAllStandardError());
    return result;
}

} // namespace jiio::test
