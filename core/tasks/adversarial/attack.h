#pragma once
#include "jiio/input_optimization.h"
#include "tasks/adversarial/attack_objective.h"

#include <string>

namespace jiio {

enum class AttackNorm { LInf, L2 };
std::string toString(AttackNorm norm);
AttackNorm attackNormFromString(const std::string& text); // "linf" or "l2"

// JIIO solves the attack jointly with the equilibrium; PGD takes projected
// steepest-ascent steps, each through a forward and an adjoint solve. JIIO's
// plain (Picard) iteration is the default: the sign steps of an l-inf attack
// are not smooth, and Anderson's extrapolation over them needed about twice
// the iterations to the same loss on Fashion-MNIST.
enum class AttackSolver { JiioAnderson, JiioPicard, Pgd };
std::string toString(AttackSolver solver);
AttackSolver attackSolverFromString(const std::string& text); // "jiio-anderson", "jiio-picard" or "pgd"

struct AttackOptions {
    AttackNorm norm = AttackNorm::LInf;
    double eps = 0.1; // radius of the ball, in pixel units of [0, 1]
    AttackSolver solver = AttackSolver::JiioPicard;
    int iterations = 20;  // JIIO iterations or PGD steps
    // Per step, in the ball's norm. 0: PGD takes 2.5 eps / steps (Madry et
    // al.); JIIO the same but at least eps / 10, halved after 5/8 of the
    // budget (its x-step follows an adjoint still settling: over a long
    // budget, steps of eps / 10 reached a higher loss than smaller ones).
    double stepSize = 0;
    bool randomStart = false; // start uniformly inside the ball instead of at the clean image
    uint64_t seed = 0;        // of the random start
    // When the images are a share of a larger batch (a data-parallel rank's
    // rows), the random start is drawn for all `startRows` rows and this
    // share takes its rows from `startRowOffset`: the shares together start
    // where the whole batch would. 0 rows: the images are the whole batch.
    int64_t startRows = 0;
    int64_t startRowOffset = 0;
    FixedPointOptions inner;  // PGD's forward and adjoint solves, and the final forward solve
    double effectiveStepSize() const;
    void validate() const; // throws jiio::Error on a bad radius, budget or step
};

// The classifier at the equilibrium of images + perturbation.
struct Classification {
    torch::Tensor logits;        // [B, classes]
    torch::Tensor state;         // z* [B, zSize]
    torch::Tensor crossEntropy;  // per sample [B], against the labels when given
    double residual = 0;         // of the forward solve, batch mean
    int iterations = 0;
};
Classification classifyAt(DeqModel& model, const StateLayout& layout, const torch::Tensor& perturbation,
                          const FixedPointOptions& forward, const torch::Tensor& labels = {},
                          const torch::Tensor& zInit = {});

struct AttackResult {
    torch::Tensor perturbation; // flat [B, n]: inside the ball, image + perturbation in [0, 1]
    torch::Tensor adversarial;  // the attacked images [B, C, S, S]
    Classification attacked;    // at the attacked images, from a fresh forward solve
    InputOptimizationResult solve; // the attack's own run: iterations, evaluations, time
};

// Attacks a classifier on images [B, C, S, S] in [0, 1] with labels [B].
// Every method reports to `observer` as any solve does.
AttackResult attackClassifier(DeqModel& model, const torch::Tensor& images, const torch::Tensor& labels,
                              const AttackOptions& options, SolveObserver& observer);

} // namespace jiio
