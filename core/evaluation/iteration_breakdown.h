#pragma once
#include "jiio/input_optimization.h"
#include "models/deq_model.h"
#include "solve_profile.h"

#include <opencv2/core.hpp>

#include <array>
#include <string>
#include <vector>

namespace jiio {

// Where one JIIO-Anderson iteration goes on a denoising problem: the time in
// each phase of the map and the solver, the convolution FLOPs of f and h, and
// the achieved rate against the machine's 3x3-convolution ceiling measured in
// the same run.
struct BreakdownOptions {
    int batch = 4;
    int patchSize = 64;
    int iterations = 20; // every one is run: the tolerance is zero
    int repeats = 3;     // the run with the median time is reported
    double sigma = 25;
    uint64_t seed = 0;
    SolveSettings settings;
};

struct IterationBreakdown {
    std::string model;
    int threads = 1;
    int batch = 0;
    int patchSize = 0;
    int iterations = 0;
    int repeats = 0;
    double secondsPerIteration = 0;
    std::array<double, kSolvePhaseCount> phaseSecondsPerIteration{};
    double cellFlops = 0;    // per evaluation of f
    double readoutFlops = 0; // per evaluation of h
    double ceilingFlopsPerSecond = 0;

    // The map: f, h and the objective, their VJP and the input step.
    double mapSecondsPerIteration() const;
    // Forward FLOPs of f and h, and as many again for the VJP with respect to
    // the activations (one transposed convolution per convolution; parameter
    // gradients are not requested).
    double mapFlops() const { return 2 * (cellFlops + readoutFlops); }
};

IterationBreakdown measureIterationBreakdown(DeqModel& model, const std::string& modelName,
                                             const std::vector<cv::Mat>& images, const BreakdownOptions& options);

// The rate of PyTorch's own 3x3 convolution at a size that suits the machine
// (64 to 64 channels, batch 4 of 128x128, channels-last): the best of a few runs.
double convolutionCeilingFlopsPerSecond();

std::string breakdownTable(const IterationBreakdown& breakdown);

} // namespace jiio
