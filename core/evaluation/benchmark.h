#pragma once
#include "error.h"
#include "jiio/input_optimization.h"
#include "models/deq_model.h"

#include <opencv2/core.hpp>

#include <functional>
#include <string>
#include <vector>

namespace jiio {

// JIIO against the naive method on the same model and problems, side by side
// in one run. Every method is judged by the objective at the true equilibrium
// of its current input (a forward solve for each reported point, outside the
// timed path), not by the value its own iterate carries. The target of each
// problem is what naive Adam reaches at the end of its budget with its best
// learning rate; each naive method's step size is the one of its grid that
// needs the fewest f-evaluations to the target; every method is timed to it.
struct BenchmarkOptions {
    int repeats = 3;        // the median of these is reported
    int batch = 4;          // patches per problem
    int patchSize = 64;
    int jiioIterations = 0; // 0: the model's trained budget
    int naiveSteps = 40;
    double naiveTolerance = 1e-4; // relative residual of the naive inner solves
    // Grids, as multiples of the settings' learning rates.
    std::vector<double> adamRateFactors = {0.1, 0.25, 0.5, 1, 2};
    std::vector<double> gdRateFactors = {0.25, 0.5, 1, 2, 4};
    double sigma = 25;      // denoising problem
    uint64_t seed = 0;
    SolveSettings settings; // solver parameters shared by all methods
    // Polled during and between solves; when it says stop, runBenchmark
    // throws BenchmarkStopped (a cut-short comparison has no result).
    std::function<bool()> stopRequested;
};

class BenchmarkStopped : public Error {
public:
    BenchmarkStopped() : Error("the benchmark was stopped before it finished") {}
};

struct MethodResult {
    InputMethod method = InputMethod::JiioAnderson;
    double learningRate = 0;      // naive methods: the one chosen from the grid
    bool reached = false;         // reached the target objective in every repeat
    double secondsToTarget = 0;   // median over repeats (NaN when not reached)
    int iterationsToTarget = 0;
    int64_t functionEvaluationsToTarget = 0;
    int64_t vjpsToTarget = 0;
    double finalObjective = 0;    // at the end of the method's own budget, at the true equilibrium
    double totalSeconds = 0;      // median over repeats
};

struct ProblemResult {
    std::string name;             // "inpaint" or "denoise"
    double targetObjective = 0;
    std::vector<MethodResult> methods;
    // baseline's time / this method's time to the target (NaN if either missed it)
    double speedupOver(InputMethod baseline, InputMethod method) const;
    const MethodResult& result(InputMethod method) const;
};

struct BenchmarkReport {
    std::string model;
    std::vector<ProblemResult> problems;
    // Summed naive time to target over the problems divided by the summed
    // JIIO-Anderson time: naive Adam (speedup) and naive gradient descent
    // (speedupOverGradientDescent), each with its tuned step. NaN where a
    // method missed a target.
    double speedup = 0;
    double speedupOverGradientDescent = 0;
    int threads = 1;
};

// Crops `batch` random patches from the images (RGB or gray matching the
// model) and runs the four methods on an inpainting and a denoising problem.
BenchmarkReport runBenchmark(DeqModel& model, const std::string& modelName, const std::vector<cv::Mat>& images,
                             const BenchmarkOptions& options);

// `batch` random patches of the images, cycling through them, converted to
// the model's channels: [batch, channels, patchSize, patchSize] in [-1, 1].
torch::Tensor cropBenchmarkPatches(const std::vector<cv::Mat>& images, int channels, int batch, int patchSize,
                                   uint64_t seed);

std::string benchmarkTable(const BenchmarkReport& report);
std::string benchmarkJson(const BenchmarkReport& report);

} // namespace jiio
