#include "train_distributed.h"

#include "cli_options.h"

#include "core/stop_signals.h"
#include "core/training/data_parallel.h"

#include <QCoreApplication>
#include <QProcess>

#include <arpa/inet.h>
#include <csignal>
#include <cstdio>
#include <limits>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <vector>

namespace jiio::cli {

namespace {

// A TCP port free on the loopback interface right now, for the local ranks'
// rendezvous.
int freeLoopbackPort()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        throw Error("cannot open a socket to find a free port");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof(address);
    const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0
                       && ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
    ::close(fd);
    if (!bound)
        throw Error("cannot find a free port on 127.0.0.1");
    return ntohs(address.sin_port);
}

// The arguments without --nproc and its value, in any of its spellings.
QStringList withoutNproc(const QStringList& arguments)
{
    QStringList kept;
    for (int i = 0; i < arguments.size(); ++i) {
        const QString& argument = arguments[i];
        if (argument == "--nproc" || argument == "-nproc") {
            ++i;
            continue;
        }
        if (argument.startsWith("--nproc=") || argument.startsWith("-nproc="))
            continue;
        kept << argument;
    }
    return kept;
}

} // namespace

void addDataParallelOptions(QCommandLineParser& parser)
{
    parser.addOptions({
        {"nproc", "Data-parallel: start N training processes on this machine (--batch, or --episodes-per-step for --task meta, a multiple of N).", "N"},
        {"world-size", "Data-parallel: how many training processes the run has, on all machines (default 1).", "N"},
        {"rank", "Data-parallel: this process's rank in [0, world size); rank 0 validates and writes.", "R"},
        {"master-addr", "Data-parallel: rank 0's host name or address (default 127.0.0.1).", "host"},
        {"master-port", "Data-parallel: the port rank 0 listens on for the others (default 29500).", "port"},
        {"dist-timeout",
         "Data-parallel: seconds a process waits for the others before it fails (default 300; longer than a "
         "validation).",
         "S"},
    });
}

std::optional<int> runLocalRanks(const QCommandLineParser& parser, const QStringList& arguments)
{
    if (!parser.isSet("nproc"))
        return std::nullopt;
    const int count = intValue(parser, "nproc", 1, 1, 64);
    if (parser.isSet("world-size") || parser.isSet("rank"))
        throw UsageError("--nproc starts the ranks itself: leave out --world-size and --rank");
    if (count == 1)
        return std::nullopt;
    const QString port = QString::number(parser.isSet("master-port") ? intValue(parser, "master-port", 0, 1, 65535)
                                                                     : freeLoopbackPort());
    installStopSignalHandlers(); // the ranks get the terminal's Ctrl-C themselves; SIGTERM is passed on
    std::vector<std::unique_ptr<QProcess>> ranks;
    for (int rank = 0; rank < count; ++rank) {
        auto process = std::make_unique<QProcess>();
        process->setProcessChannelMode(QProcess::ForwardedChannels);
        process->setProgram(QCoreApplication::applicationFilePath());
        QStringList rankArguments = withoutNproc(arguments);
        rankArguments << "--world-size" << QString::number(count) << "--rank" << QString::number(rank)
                      << "--master-addr" << "127.0.0.1" << "--master-port" << port;
        process->setArguments(rankArguments);
        process->start();
        if (!process->waitForStarted())
            throw Error("cannot start training process " + std::to_string(rank) + ": "
                        + toStd(process->errorString()));
        ranks.push_back(std::move(process));
    }
    std::fprintf(stderr, "started %d training processes (ranks 0-%d, rendezvous on 127.0.0.1:%s)\n", count,
                 count - 1, qPrintable(port));
    // Wait for all; a SIGTERM here, or a rank that fails, ends the others too
    // (they would otherwise wait for it until --dist-timeout). A rank that was
    // stopped (130, 143) is not a failure: the others got the same signal and
    // are finishing their step, and a second signal would kill rank 0 before
    // its checkpoint.
    auto stoppedBySignal = [](int code) {
        return code == exitStatusForSignal(SIGINT) || code == exitStatusForSignal(SIGTERM);
    };
    int status = 0;
    bool endingAll = false;
    auto running = [&] {
        return std::any_of(ranks.begin(), ranks.end(),
                           [](const auto& process) { return process->state() != QProcess::NotRunning; });
    };
    while (running()) {
        for (auto& process : ranks) {
            if (process->state() != QProcess::NotRunning && !process->waitForFinished(100))
                continue;
            const int code = process->exitStatus() == QProcess::NormalExit ? process->exitCode() : 1;
            if (status == 0 && code != 0)
                status = code;
        }
        if (!endingAll && (stopSignalReceived() == SIGTERM || (status != 0 && !stoppedBySignal(status)))) {
            for (auto& other : ranks)
                if (other->state() != QProcess::NotRunning)
                    other->terminate();
            endingAll = true;
        }
    }
    for (auto& process : ranks) { // the exit status of ranks that ended in the last round
        const int code = process->exitStatus() == QProcess::NormalExit ? process->exitCode() : 1;
        if (status == 0 && code != 0)
            status = code;
    }
    return status;
}

torch::Device trainingDevice(const QCommandLineParser& parser)
{
    const auto device = deviceFrom(parser);
    if (!device.is_cuda() || parser.value("device") != "cuda" || !parser.isSet("rank"))
        return device;
    const int rank = intValue(parser, "rank", 0, 0, std::numeric_limits<int>::max());
    return torch::Device(torch::kCUDA, c10::DeviceIndex(rank % int(torch::cuda::device_count())));
}

std::shared_ptr<DataParallel> joinDataParallelRun(const QCommandLineParser& parser)
{
    DataParallelOptions options;
    options.worldSize = intValue(parser, "world-size", 1, 1, 4096);
    if (options.worldSize == 1) {
        if (parser.isSet("rank") && intValue(parser, "rank", 0, 0, 0) != 0)
            throw UsageError("--rank needs --world-size");
        return nullptr;
    }
    if (!parser.isSet("rank"))
        throw UsageError("--world-size needs --rank (or start the processes here with --nproc)");
    options.rank = intValue(parser, "rank", 0, 0, options.worldSize - 1);
    if (parser.isSet("master-addr"))
        options.masterAddress = toStd(parser.value("master-addr"));
    options.masterPort = intValue(parser, "master-port", options.masterPort, 1, 65535);
    options.timeoutSeconds = doubleValue(parser, "dist-timeout", options.timeoutSeconds, 1.0, 86400.0);
    if (options.rank == 0)
        std::fprintf(stderr, "rank 0 of %d: waiting for the others on port %d\n", options.worldSize,
                     options.masterPort);
    return std::make_shared<DataParallel>(options);
}

} // namespace jiio::cli
