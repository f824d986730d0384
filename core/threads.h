#pragma once

namespace jiio {

// LibTorch starts with one intra-op thread on some machines. Sets the count
// (0 = all hardware threads) and returns the count in effect.
int configureThreads(int requested = 0);

} // namespace jiio
