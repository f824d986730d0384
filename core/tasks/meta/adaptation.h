#pragma once
#include "jiio/input_optimization.h"
#include "models/deq_model.h"
#include "tasks/meta/episodes.h"

#include <vector>

namespace jiio {

// How a few-shot model adapts its task vector v to an episode's support set:
// min_v mean CE(support) + (lambda/2)|v - v0|^2, by JIIO over [z of every
// support image; v; mu] (Anderson mixing the episode as one problem), or by the
// naive loop: gradient descent on v, each step a forward and an adjoint
// equilibrium solve of the support set (warm-started).
struct AdaptationOptions {
    InputMethod method = InputMethod::JiioAnderson; // JiioAnderson, JiioPicard or NaiveGradientDescent
    int iterations = 20;  // JIIO iterations, or naive steps
    double tolerance = 1e-5;
    double lambda = -1;   // negative: the model's own (its priorWeight)
    double taskStep = 1.0; // the step on v: JIIO's x step, naive GD's learning rate
    // JIIO: v's weight in Anderson's fit (JiioOptions::inputGramWeight). The
    // 32 numbers of v sit beside thousands of z and mu per support image;
    // unweighted, Anderson settles the states and leaves v to crawl.
    double taskGramWeight = 1000.0;
    // JIIO: whether Anderson mixes v too (JiioOptions::mixInput). The support
    // loss is not convex in v: mixed, v can be drawn back toward a stationary
    // point of another kind while the plain step keeps descending.
    bool mixTask = false;
    int innerIterations = 30;      // naive: each forward / adjoint solve's budget
    double innerTolerance = 1e-4;  // ... and tolerance

    double lambdaFor(const DeqModel& model) const;
    SolveSettings settings(int64_t supportPerEpisode) const;
    void validate() const;
};

// Episodes stacked for one batched solve: rows are images, episode by episode.
// Every episode must have the same ways and shots.
struct EpisodeRows {
    torch::Tensor images, labels;
    int ways = 0;
    int64_t perEpisode = 0;
};
EpisodeRows supportRows(const std::vector<Episode>& episodes);
EpisodeRows queryRows(const std::vector<Episode>& episodes);

// The layout of a few-shot model for images [N, C, S, S] in [0, 1].
StateLayout fewShotLayout(const DeqModel& model, const torch::Tensor& images);

struct Adaptation {
    torch::Tensor tasks;     // v* per episode [E, d]
    torch::Tensor state;     // z* of the support rows
    torch::Tensor adjoint;   // mu* of the support rows
    torch::Tensor objective; // G(v*) per episode [E]
    int iterations = 0;
    int64_t functionEvaluations = 0;
    double seconds = 0;
    StopReason reason = StopReason::BudgetExhausted;
};

// Adapts from the model's v0 (or from `start` [E, d] when given).
Adaptation adaptTaskVectors(DeqModel& model, const std::vector<Episode>& episodes, const AdaptationOptions& options,
                            SolveObserver& observer, const torch::Tensor& start = {});

// Logits [rows, ways] of images under one task vector per episode (rows
// episode by episode, `perEpisode` each), at the forward equilibrium.
struct Classified {
    torch::Tensor logits;
    torch::Tensor state;
};
Classified classifyWithTasks(DeqModel& model, const EpisodeRows& rows, const torch::Tensor& tasks,
                             const FixedPointOptions& forward);

// The forward solve few-shot work uses by default.
FixedPointOptions fewShotForward();

// Percent of rows whose arg-max logit is their label.
double accuracyPercent(const torch::Tensor& logits, const torch::Tensor& labels);

} // namespace jiio
