#pragma once
#include <QCommandLineParser>
#include <QStringList>

#include <memory>
#include <optional>

namespace jiio {
class DataParallel;
}

namespace jiio::cli {

// `jiio train` across processes: --world-size/--rank/--master-addr/--master-port
// join a data-parallel run (one process per call, on any machine), --nproc N
// starts N such processes here.
void addDataParallelOptions(QCommandLineParser& parser);

// With --nproc N > 1: runs `jiio <arguments>` as ranks 0..N-1 of a run on this
// machine, each one's output passed through, and returns the first non-zero
// exit status (or 0). Without it: nothing.
std::optional<int> runLocalRanks(const QCommandLineParser& parser, const QStringList& arguments);

// The run this process is a rank of, or null for a single-process run.
std::shared_ptr<DataParallel> joinDataParallelRun(const QCommandLineParser& parser);

} // namespace jiio::cli
