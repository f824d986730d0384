#pragma once
// Runs the jiio executable and captures what a user would see.
#include <QProcess>
#include <QString>
#include <QStringList>

namespace jiio::test {

struct CliResult {
    int exitCode = -1;
    bool crashed = false;
    bool timedOut = false; // killed after the timeout; out/err hold what it printed
    QString out;
    QString err;
};

CliResult runCli(const QStringList& arguments, int timeoutMs = 300000,
                 const QProcessEnvironment& environment = QProcessEnvironment::systemEnvironment());

} // namespace jiio::test
