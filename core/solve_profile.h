#pragma once
#include <array>
#include <chrono>

namespace jiio {

// Where a solve's time goes, for `jiio bench --breakdown`. While a
// SolveProfile is installed on a thread, PhaseTimers on that thread add their
// wall time (exclusive of nested timers) and the convolution FLOPs counted in
// them to the phase; without one a timer costs a branch. CPU work is
// synchronous, so wall time is the phase's time; on a GPU it would need
// synchronisation and is not attempted.
enum class SolvePhase { Cell, Readout, Vjp, InputStep, Tracker, Anderson };
constexpr int kSolvePhaseCount = 6;
const char* solvePhaseName(SolvePhase phase);

class SolveProfile {
public:
    SolveProfile();  // installs itself on this thread
    ~SolveProfile(); // and restores the one it replaced
    SolveProfile(const SolveProfile&) = delete;
    SolveProfile& operator=(const SolveProfile&) = delete;

    double seconds(SolvePhase phase) const { return seconds_[int(phase)]; }
    double flops(SolvePhase phase) const { return flops_[int(phase)]; }

    // Adds to the phase running now on this thread, if a profile is installed.
    static void addFlops(double flops);
    static bool active();

private:
    friend class PhaseTimer;
    using Clock = std::chrono::steady_clock;
    // Charges the time since the last switch to the running phase; returns it.
    int switchTo(int phase);

    std::array<double, kSolvePhaseCount> seconds_{};
    std::array<double, kSolvePhaseCount> flops_{};
    SolveProfile* previous_;
    int running_ = -1;
    Clock::time_point since_;
};

class PhaseTimer {
public:
    explicit PhaseTimer(SolvePhase phase);
    ~PhaseTimer();
    PhaseTimer(const PhaseTimer&) = delete;
    PhaseTimer& operator=(const PhaseTimer&) = delete;

private:
    SolveProfile* profile_;
    int outer_ = -1;
};

} // namespace jiio
