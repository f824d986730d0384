#pragma once
#include "core/solvers/trace.h"
#include "core/stop_signals.h"

namespace jiio::cli {

// The per-iteration trace, ending the solve when a stop signal arrives (the
// solver then returns what it has, which the command still writes).
class StoppableTrace final : public TraceRecorder {
public:
    bool stopRequested() const override { return stopSignalReceived() != 0; }
};

} // namespace jiio::cli
