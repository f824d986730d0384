#include "evaluation/iteration_breakdown.h"

#include "error.h"
#include "evaluation/benchmark.h"
#include "models/model_device.h"
#include "numbers.h"
#include "solvers/observer.h"
#include "tasks/restoration/restoration_layout.h"

#include <algorithm>
#include <chrono>
#include <iomanip>

namespace jiio {

namespace {

using Clock = std::chrono::steady_clock;

struct ProfiledRun {
    double seconds = 0;
    int iterations = 0;
    int64_t evaluations = 0;
    std::array<double, kSolvePhaseCount> phaseSeconds{};
    std::array<double, kSolvePhaseCount> phaseFlops{};
};

std::string fixed(double value, int decimals)
{
    auto out = classicStream();
    out << std::fixed << std::setprecision(decimals) << value;
    return out.str();
}

} // namespace

double IterationBreakdown::mapSecondsPerIteration() const
{
    return phaseSecondsPerIteration[int(SolvePhase::Cell)] + phaseSecondsPerIteration[int(SolvePhase::Readout)]
        + phaseSecondsPerIteration[int(SolvePhase::Vjp)] + phaseSecondsPerIteration[int(SolvePhase::InputStep)];
}

double convolutionCeilingFlopsPerSecond()
{
    torch::NoGradGuard noGrad;
    torch::manual_seed(0);
    const int64_t batch = 4, channels = 64, side = 128;
    const auto input = torch::randn({batch, channels, side, side}).contiguous(at::MemoryFormat::ChannelsLast);
    const auto weight = torch::randn({channels, channels, 3, 3}).contiguous(at::MemoryFormat::ChannelsLast);
    const auto bias = torch::randn({channels});
    const double flops = 2.0 * double(batch * channels * side * side) * double(channels * 9);
    double best = INFINITY;
    for (int run = 0; run < 8; ++run) {
        const auto start = Clock::now();
        auto output = torch::conv2d(input, weight, bias, 1, 1);
        const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
        if (run >= 2) // the first runs pick and prepare the kernel
            best = std::min(best, seconds);
    }
    return flops / best;
}

IterationBreakdown measureIterationBreakdown(DeqModel& model, const std::string& modelName,
                                             const std::vector<cv::Mat>& images, const BreakdownOptions& options)
{
    const auto& config = model->config();
    if (config.kind != ModelKind::Restoration)
        throw Error("the breakdown needs a restoration model");
    if (options.patchSize % config.alignment() != 0)
        throw Error("the patch size must be a multiple of " + std::to_string(config.alignment()));
    if (options.iterations < 1 || options.repeats < 1)
        throw Error("iterations and repeats must be positive");
    torch::NoGradGuard noGrad;
    torch::manual_seed(options.seed);
    const auto clean = cropBenchmarkPatches(images, config.imageChannels, options.batch, options.patchSize, options.seed);
    const auto noisy = clean + (2.0 * options.sigma / 255.0) * torch::randn_like(clean);
    const auto objective =
        RestorationObjective::forModel(config, Task::Denoise, noisy.to(modelDevice(model)), {}, options.sigma);
    const auto layout = restorationLayout(model, *objective);
    const auto start = restorationStart(model, *objective);

    SolveSettings settings = options.settings;
    settings.method = InputMethod::JiioAnderson;
    settings.jiio.maxIterations = options.iterations;
    settings.jiio.tolerance = 0; // the same number of iterations in every run

    std::vector<ProfiledRun> runs;
    for (int repeat = 0; repeat <= options.repeats; ++repeat) { // the first warms up
        NullObserver quiet;
        ProfiledRun run;
        const auto begin = Clock::now();
        InputOptimizationResult result;
        {
            SolveProfile profile;
            result = optimizeInput(model, layout, *objective, settings, quiet, start);
            for (int p = 0; p < kSolvePhaseCount; ++p) {
                run.phaseSeconds[size_t(p)] = profile.seconds(SolvePhase(p));
                run.phaseFlops[size_t(p)] = profile.flops(SolvePhase(p));
            }
        }
        run.seconds = std::chrono::duration<double>(Clock::now() - begin).count();
        run.iterations = result.iterations;
        run.evaluations = result.functionEvaluations;
        if (run.iterations < 1 || run.evaluations < 1)
            throw Error("the solve stopped before its first iteration");
        if (repeat > 0)
            runs.push_back(run);
    }
    std::sort(runs.begin(), runs.end(), [](const auto& a, const auto& b) {
        return a.seconds / a.iterations < b.seconds / b.iterations;
    });
    const ProfiledRun& median = runs[runs.size() / 2];

    IterationBreakdown breakdown;
    breakdown.model = modelName;
    breakdown.threads = torch::get_num_threads();
    breakdown.batch = options.batch;
    breakdown.patchSize = options.patchSize;
    breakdown.iterations = median.iterations;
    breakdown.repeats = options.repeats;
    breakdown.secondsPerIteration = median.seconds / median.iterations;
    for (int p = 0; p < kSolvePhaseCount; ++p)
        breakdown.phaseSecondsPerIteration[size_t(p)] = median.phaseSeconds[size_t(p)] / median.iterations;
    breakdown.cellFlops = median.phaseFlops[int(SolvePhase::Cell)] / double(median.evaluations);
    breakdown.readoutFlops = median.phaseFlops[int(SolvePhase::Readout)] / double(median.evaluations);
    breakdown.ceilingFlopsPerSecond = convolutionCeilingFlopsPerSecond();
    return breakdown;
}

std::string breakdownTable(const IterationBreakdown& b)
{
    const double perIteration = b.secondsPerIteration;
    const double cellSeconds = b.phaseSecondsPerIteration[int(SolvePhase::Cell)];
    auto rate = [](double flops, double seconds) { return seconds > 0 ? flops / seconds / 1e9 : 0.0; };
    auto out = classicStream();
    out << "model: " << b.model << "   threads: " << b.threads << "   batch " << b.batch << " of " << b.patchSize
        << "x" << b.patchSize << ", " << b.iterations << " JIIO-Anderson iterations, the median of " << b.repeats
        << " runs\n\n";
    out << std::left << std::setw(36) << "phase" << std::right << std::setw(10) << "ms/iter" << std::setw(8) << "share"
        << std::setw(10) << "GFLOP/s" << "\n";
    double accounted = 0;
    for (int p = 0; p < kSolvePhaseCount; ++p) {
        const double seconds = b.phaseSecondsPerIteration[size_t(p)];
        accounted += seconds;
        const double flops = p == int(SolvePhase::Cell) ? b.cellFlops
            : p == int(SolvePhase::Readout)             ? b.readoutFlops
            : p == int(SolvePhase::Vjp)                 ? b.cellFlops + b.readoutFlops
                                                        : 0.0;
        out << std::left << std::setw(36) << solvePhaseName(SolvePhase(p)) << std::right << std::setw(10)
            << fixed(1e3 * seconds, 2) << std::setw(7) << fixed(100 * seconds / perIteration, 1) << "%"
            << std::setw(10) << (flops > 0 ? fixed(rate(flops, seconds), 1) : "") << "\n";
    }
    const double other = std::max(0.0, perIteration - accounted);
    out << std::left << std::setw(36) << "other (solver loop, bookkeeping)" << std::right << std::setw(10)
        << fixed(1e3 * other, 2) << std::setw(7) << fixed(100 * other / perIteration, 1) << "%\n";
    out << std::left << std::setw(36) << "whole iteration" << std::right << std::setw(10)
        << fixed(1e3 * perIteration, 2) << std::setw(8) << "100%" << std::setw(10)
        << fixed(rate(b.mapFlops(), perIteration), 1) << "\n\n";
    const double ceiling = b.ceilingFlopsPerSecond / 1e9;
    out << "f: " << fixed(b.cellFlops / 1e9, 4) << " GFLOP per evaluation; h: " << fixed(b.readoutFlops / 1e9, 4)
        << " GFLOP; the VJP counted as f and h again (activations only)\n";
    out << "achieved against the 3x3-convolution ceiling measured now (" << fixed(ceiling, 1) << " GFLOP/s): f "
        << fixed(100 * rate(b.cellFlops, cellSeconds) / ceiling, 1) << " %, the map "
        << fixed(100 * rate(b.mapFlops(), b.mapSecondsPerIteration()) / ceiling, 1) << " %, the whole iteration "
        << fixed(100 * rate(b.mapFlops(), perIteration) / ceiling, 1) << " %\n";
    out << "the map costs " << fixed(b.mapSecondsPerIteration() / cellSeconds, 2) << "x f alone; Anderson is "
        << fixed(100 * b.phaseSecondsPerIteration[int(SolvePhase::Anderson)] / perIteration, 1)
        << " % of the iteration, the tracker "
        << fixed(100 * b.phaseSecondsPerIteration[int(SolvePhase::Tracker)] / perIteration, 1) << " %\n";
    return out.str();
}

} // namespace jiio
