#pragma once

namespace jiio {

// SIGINT and SIGTERM ask a long command (training) to stop at its next safe
// point instead of killing it mid-step: the first one sets a flag that the
// command polls; a second one terminates at once, as without a handler.
void installStopSignalHandlers();

// The signal that asked to stop (SIGINT or SIGTERM), or 0.
int stopSignalReceived();

// The conventional exit status of a program stopped by that signal (128 + n).
int exitStatusForSignal(int signal);

} // namespace jiio
