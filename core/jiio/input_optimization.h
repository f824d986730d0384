#pragma once
#include "jiio/objective.h"
#include "models/deq_model.h"
#include "solvers/fixed_point.h"

#include <string>

namespace jiio {

// Optional constraint on the optimised input (adversarial perturbations).
enum class InputConstraint { None, L2Ball, LInfBall };

struct JiioOptions {
    FixedPointMethod method = FixedPointMethod::Anderson; // Anderson or Picard
    int maxIterations = 30;
    double tolerance = 1e-5;
    double alphaZ = 0.8;
    double alphaMu = 0.6;
    double alphaX = 0.01;
    double alphaXLate = 0.003;
    double alphaSwitchFraction = 0.625; // of the budget, when alphaX becomes alphaXLate
    int andersonMemory = 6; // each slot holds two copies of [z; x; mu]
    double andersonBeta = 1.0;
    double andersonLambda = 1e-4;
    // How much the input's residual weighs against z's and mu's when Anderson
    // fits its mixing weights (FixedPointOptions::andersonBlockWeights). 1
    // treats every number alike; a small input beside large states (a task
    // vector beside the equilibria of a support set) needs more to be driven
    // to its optimum as fast as the states settle.
    double inputGramWeight = 1.0;
    // false: the input takes its plain projected step at every iteration and
    // only z and mu are mixed (FixedPointOptions::andersonUnmixedBlocks), for
    // inputs whose objective is non-convex along the way.
    bool mixInput = true;
    // Return the last iterate rather than the best one
    // (FixedPointOptions::returnLastIterate), as the naive loop returns its
    // last step.
    bool returnLastIterate = false;
    InputConstraint constraint = InputConstraint::None;
    double radius = 0; // of the constraint ball
    // Rows that are one problem (FixedPointOptions::coupledRows): the
    // objective's project() then ties their inputs together.
    int coupledRows = 1;
    // When positive, the (z, x) that the map is applied to at this evaluation
    // is kept in the result (the trainer's Jacobian penalty samples points of
    // the trajectory this way).
    int captureEvaluation = 0;
    // When nonzero (and captureEvaluation is 0), the point of one evaluation
    // drawn uniformly from those the solve makes is kept, by reservoir
    // sampling: a solve that stops at a tolerance need not know its length.
    // The seed makes the draw repeatable.
    uint64_t captureSeed = 0;
};

enum class NaiveOptimizer { Adam, GradientDescent };

struct NaiveOptions {
    NaiveOptimizer optimizer = NaiveOptimizer::Adam;
    int steps = 40;
    double adamLearningRate = 0.05;
    double gdLearningRate = 0.01; // gradient descent needs its own step size
    // With a constraint, gradient descent steps along inputStepDirection():
    // projected gradient descent (PGD), the attack baseline.
    FixedPointOptions forward;  // each step's equilibrium solve
    FixedPointOptions adjoint;  // each step's adjoint solve
    bool warmStart = true;      // start each solve from the previous step's solution
    InputConstraint constraint = InputConstraint::None;
    double radius = 0;
};

// The four methods the product compares.
enum class InputMethod { JiioAnderson, JiioPicard, NaiveAdam, NaiveGradientDescent };

std::string toString(InputMethod method);
InputMethod inputMethodFromString(const std::string& text);

struct SolveSettings {
    InputMethod method = InputMethod::JiioAnderson;
    JiioOptions jiio;
    NaiveOptions naive;

    // Budget and tolerance of whichever method is chosen.
    void setBudget(int iterations);
    void setTolerance(double tolerance);
};

struct InputOptimizationResult {
    torch::Tensor latent;     // x* [B, latentSize]
    torch::Tensor state;      // z* [B, zSize]
    torch::Tensor adjoint;    // mu* [B, zSize]
    torch::Tensor prediction; // h(z*) [B, C, H, W]
    torch::Tensor objective;  // per sample [B]
    int iterations = 0;
    StopReason reason = StopReason::BudgetExhausted;
    double elapsedSeconds = 0;
    int64_t functionEvaluations = 0;
    int64_t vjpCount = 0;
    torch::Tensor capturedState;  // JIIO with captureEvaluation: z at that evaluation
    torch::Tensor capturedLatent; // ... and x
    int capturedEvaluation = 0;   // which evaluation they are from (1-based; 0: none)
};

// min_x l(h(z), y) + R(x) s.t. z = f(z, x), by the chosen method. x0 may be
// undefined (then zero).
InputOptimizationResult optimizeInput(DeqModel& model, const StateLayout& layout, const Objective& objective,
                                      const SolveSettings& settings, SolveObserver& observer,
                                      const torch::Tensor& x0 = {});

InputOptimizationResult runJiio(DeqModel& model, const StateLayout& layout, const Objective& objective,
                                const JiioOptions& options, SolveObserver& observer, const torch::Tensor& x0 = {});

InputOptimizationResult runNaive(DeqModel& model, const StateLayout& layout, const Objective& objective,
                                 const NaiveOptions& options, SolveObserver& observer, const torch::Tensor& x0 = {});

// Projects x onto the constraint ball (no-op without a constraint).
torch::Tensor projectInput(const torch::Tensor& x, InputConstraint constraint, double radius);

// The step direction of an input update with this constraint: the gradient
// itself without one; steepest descent in the ball's norm with one, g / |g|
// for l2 and sign(g) for l-inf (projected gradient descent on a ball then
// moves by the step size per step, whatever the gradient's scale).
torch::Tensor inputStepDirection(const torch::Tensor& gradient, InputConstraint constraint);

} // namespace jiio
