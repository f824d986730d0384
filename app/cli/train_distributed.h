#pragma once
#include "core/torch_include.h"

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

// --device for this training process. On a rank of a data-parallel run,
// "cuda" without an index means GPU (rank mod the GPUs here), so the local
// processes of --nproc, or ranks numbered host by host, spread over a
// machine's GPUs; cpu or an explicit cuda:N is taken as given.
torch::Device trainingDevice(const QCommandLineParser& parser);

} // namespace jiio::cli
