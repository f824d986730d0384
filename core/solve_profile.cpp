#include "solve_profile.h"

namespace jiio {

namespace {
thread_local SolveProfile* installed = nullptr;
} // namespace

const char* solvePhaseName(SolvePhase phase)
{
    switch (phase) {
    case SolvePhase::Cell:
        return "f (the cell)";
    case SolvePhase::Readout:
        return "h and the objective";
    case SolvePhase::Vjp:
        return "VJP (autograd)";
    case SolvePhase::InputStep:
        return "input step and projection";
    case SolvePhase::Tracker:
        return "tracker (residuals, best iterate)";
    case SolvePhase::Anderson:
        return "Anderson (Gram row, mixing)";
    }
    return "?";
}

SolveProfile::SolveProfile() : previous_(installed), since_(Clock::now())
{
    installed = this;
}

SolveProfile::~SolveProfile()
{
    installed = previous_;
}

bool SolveProfile::active()
{
    return installed != nullptr;
}

void SolveProfile::addFlops(double flops)
{
    if (installed && installed->running_ >= 0)
        installed->flops_[size_t(installed->running_)] += flops;
}

int SolveProfile::switchTo(int phase)
{
    const auto now = Clock::now();
    if (running_ >= 0)
        seconds_[size_t(running_)] += std::chrono::duration<double>(now - since_).count();
    since_ = now;
    const int was = running_;
    running_ = phase;
    return was;
}

PhaseTimer::PhaseTimer(SolvePhase phase) : profile_(installed)
{
    if (profile_)
        outer_ = profile_->switchTo(int(phase));
}

PhaseTimer::~PhaseTimer()
{
    if (profile_)
        profile_->switchTo(outer_);
}

} // namespace jiio
