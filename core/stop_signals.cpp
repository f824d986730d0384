#include "stop_signals.h"

#include <csignal>

namespace jiio {

namespace {

volatile std::sig_atomic_t received = 0;

extern "C" void recordStopSignal(int signal)
{
    received = signal;
}

void install(int signal)
{
    struct sigaction action = {};
    action.sa_handler = recordStopSignal;
    sigemptyset(&action.sa_mask);
    // Back to the default after the first delivery: a second Ctrl-C kills.
    action.sa_flags = SA_RESETHAND | SA_RESTART;
    sigaction(signal, &action, nullptr);
}

} // namespace

void installStopSignalHandlers()
{
    received = 0;
    install(SIGINT);
    install(SIGTERM);
}

int stopSignalReceived()
{
    return received;
}

int exitStatusForSignal(int signal)
{
    return 128 + signal;
}

} // namespace jiio
