#pragma once
#include <cmath>
#include <cstdint>
#include <limits>

namespace at {
class Tensor;
}

namespace jiio {

// Statistics of one solver iteration. Residuals are relative block residuals
// |G_b(v) - v_b| / |G_b(v)| averaged over the batch; a block a method does
// not have is NaN.
struct IterationStats {
    static constexpr double kNone = std::numeric_limits<double>::quiet_NaN();

    int iteration = 0;        // 1-based
    double elapsedSeconds = 0;
    double objective = kNone; // batch mean of the per-sample objective
    double residualZ = kNone;
    double residualX = kNone;
    double residualMu = kNone;
    double residualTotal = kNone;
    int64_t functionEvaluations = 0; // cumulative forward evaluations of f
    int64_t vjpCount = 0;            // cumulative vector-Jacobian products
    int innerIterations = 0;         // naive method: forward + adjoint iterations this step
};

// How a solve ended.
enum class StopReason { Converged, BudgetExhausted, StopRequested, Diverged };

const char* stopReasonName(StopReason reason);

// Receives per-iteration statistics and may ask the solver to stop. Solvers
// know nothing else about who is watching (a plot, a CSV file, a test).
class SolveObserver {
public:
    virtual ~SolveObserver() = default;
    virtual void onIteration(const IterationStats& stats) = 0;
    virtual bool stopRequested() const { return false; }
    // A run made of several independent solves (image tiles) announces each.
    virtual void onSegment(int /*index*/, int /*count*/) {}
    // Live previews: when this returns true the solver passes its current
    // readout h(z) [B, C, H, W] to onPrediction (cheap: it is computed anyway).
    virtual bool wantsPrediction() const { return false; }
    virtual void onPrediction(const at::Tensor& /*prediction*/) {}
    // When this returns true the solver passes, before each onIteration, the
    // optimised input x [B, latentSize] that iteration's objective was taken
    // at (a benchmark re-evaluates it at the true equilibrium afterwards).
    virtual bool wantsInput() const { return false; }
    virtual void onInput(const at::Tensor& /*input*/) {}
};

// An observer that ignores everything; the default when nobody watches.
class NullObserver final : public SolveObserver {
public:
    void onIteration(const IterationStats&) override {}
};

} // namespace jiio
