#pragma once
#include "io/fashion_mnist.h"
#include "tasks/adversarial/attack.h"

#include <functional>
#include <string>
#include <vector>

namespace jiio {

// How a classifier's robustness is judged: an image counts as robust only if
// it survives every attack, and the strong attack (PGD through the
// equilibrium with tight solves, several random restarts) is independent of
// whatever attack the model was trained against.
struct AdversarialEvalOptions {
    AttackNorm norm = AttackNorm::LInf;
    double eps = 0.1;
    int pgdSteps = 50;
    int restarts = 5;             // random starts of the strong PGD, each counted
    double tolerance = 1e-5;      // relative residual of every solve of the evaluation
    int solveIterations = 100;    // budget of those solves
    int jiioIterations = 100;     // the JIIO attack, also counted
    std::vector<double> epsGrid;  // the sweep; empty: a default grid for the norm
    // The sweep shows the accuracy falling to about 0 at large eps (or the
    // attack is being masked): a lighter PGD on the first images is enough.
    int sweepImages = 100;
    int sweepSteps = 20;
    int sweepRestarts = 1;
    int comparisonImages = 100;   // the batch JIIO and PGD are timed on
    int comparisonPgdSteps = 20;  // PGD's budget there; its final loss is the target
    int comparisonJiioIterations = 200; // room to reach the target: a robust model's loss rises slowly
    int batch = 250;
    uint64_t seed = 0;
    std::function<void(const std::string&)> progress; // told each stage as it starts, may be empty
};

struct EpsAccuracy {
    double eps = 0;
    double accuracy = 0; // percent under PGD
};

// Time of JIIO and of PGD to the same mean cross-entropy on the same batch,
// each judged at the true equilibrium of its current perturbation (outside
// the timed path). The target is PGD's final loss.
struct AttackComparison {
    int images = 0;
    double targetLoss = 0;
    double pgdSeconds = 0, jiioSeconds = 0; // to the target (NaN when not reached)
    int64_t pgdEvaluations = 0, jiioEvaluations = 0; // f-evaluations to the target
    double pgdFinalLoss = 0, jiioFinalLoss = 0;
    double speedup = 0; // pgdSeconds / jiioSeconds
};

struct AdversarialReport {
    std::string model;
    AttackNorm norm = AttackNorm::LInf;
    double eps = 0;
    int images = 0;
    double cleanAccuracy = 0;    // percent
    double pgdAccuracy = 0;      // surviving the strong PGD (all restarts)
    double jiioAccuracy = 0;     // surviving JIIO's attack
    double transferAccuracy = std::nan(""); // surviving PGD on the transfer source (when given)
    double robustAccuracy = 0;   // surviving every attack
    std::string transferSource;
    std::vector<EpsAccuracy> sweep;
    AttackComparison comparison;
    std::string trainingNote; // the model's provenance: how and how long it was trained
};

// Evaluates `model` on labelled test images ([N, C, S, S] in [0, 1]).
// `transferSource` (may be null) is a second classifier, typically the
// standard model, whose PGD perturbations are replayed on `model`.
AdversarialReport evaluateRobustness(DeqModel& model, const std::string& modelName, const LabelledImages& test,
                                     const AdversarialEvalOptions& options, DeqModel* transferSource = nullptr,
                                     const std::string& transferName = {});

std::string adversarialTable(const AdversarialReport& report);
std::string adversarialJson(const AdversarialReport& report);

} // namespace jiio
