#include "evaluation/benchmark.h"

#include "evaluation/equilibrium_trace.h"

#include "error.h"
#include "io/tensor_image.h"
#include "jiio/implicit_diff.h"
#include "models/model_device.h"
#include "numbers.h"
#include "solvers/trace.h"
#include "tasks/restoration/restoration_layout.h"

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <map>
#include <random>
#include <sstream>

namespace jiio {

namespace {

const InputMethod kMethods[] = {InputMethod::NaiveAdam, InputMethod::NaiveGradientDescent, InputMethod::JiioAnderson,
                                InputMethod::JiioPicard};

double median(std::vector<double> values)
{
    if (values.empty())
        return std::nan("");
    std::sort(values.begin(), values.end());
    const size_t mid = values.size() / 2;
    return values.size() % 2 ? values[mid] : 0.5 * (values[mid - 1] + values[mid]);
}

struct Problem {
    std::string name;
    Task task;
    torch::Tensor target; // corrupted observation
    torch::Tensor known;  // inpainting only
};

std::vector<Problem> makeProblems(const torch::Tensor& clean, const BenchmarkOptions& options)
{
    torch::manual_seed(options.seed);
    const auto batch = clean.size(0);
    const auto side = clean.size(2);
    // Inpainting: 8x8 blocks missing with probability 0.3.
    auto blocks = (torch::rand({batch, 1, side / 8, side / 8}) >= 0.3).to(torch::kFloat32);
    auto known = torch::nn::functional::interpolate(
        blocks, torch::nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{side, side}).mode(torch::kNearest));
    const double sigmaNormalised = 2.0 * options.sigma / 255.0;
    auto noisy = clean + sigmaNormalised * torch::randn_like(clean);
    return {{"inpaint", Task::Inpaint, clean * known, known}, {"denoise", Task::Denoise, noisy, {}}};
}

MethodResult summarise(InputMethod method, std::vector<TracedRun>& runs, double target, EquilibriumObjective& evaluate)
{
    MethodResult summary;
    summary.method = method;
    std::vector<double> toTarget, totals, finals;
    std::vector<int> iterations;
    std::vector<int64_t> evaluations, vjps;
    for (auto& run : runs) {
        totals.push_back(run.result.elapsedSeconds);
        finals.push_back(run.finalObjective(evaluate));
        const int hit = run.firstReaching(target, evaluate);
        if (hit < 0)
            continue;
        const auto& row = run.trace.rows()[size_t(hit)];
        toTarget.push_back(row.elapsedSeconds);
        iterations.push_back(row.iteration);
        evaluations.push_back(row.functionEvaluations);
        vjps.push_back(row.vjpCount);
    }
    summary.reached = toTarget.size() == runs.size();
    summary.secondsToTarget = summary.reached ? median(toTarget) : std::nan("");
    if (summary.reached) {
        summary.iterationsToTarget = iterations.front();
        summary.functionEvaluationsToTarget = evaluations.front();
        summary.vjpsToTarget = vjps.front();
    }
    summary.totalSeconds = median(totals);
    summary.finalObjective = median(finals);
    return summary;
}

bool isNaive(InputMethod method)
{
    return method == InputMethod::NaiveAdam || method == InputMethod::NaiveGradientDescent;
}

void setLearningRate(SolveSettings& settings, InputMethod method, double rate)
{
    (method == InputMethod::NaiveAdam ? settings.naive.adamLearningRate : settings.naive.gdLearningRate) = rate;
}

// A naive method's step size, from its grid: the one with the fewest
// f-evaluations to the target; when none reaches it, the lowest final objective.
double tunedRate(std::map<double, TracedRun>& grid, double target, EquilibriumObjective& evaluate)
{
    double best = grid.begin()->first;
    int64_t fewest = std::numeric_limits<int64_t>::max();
    double lowest = INFINITY;
    for (auto& [rate, run] : grid) {
        const int hit = run.firstReaching(target, evaluate);
        const double final = run.finalObjective(evaluate);
        if (hit >= 0) {
            const auto evaluations = run.trace.rows()[size_t(hit)].functionEvaluations;
            if (evaluations < fewest) {
                fewest = evaluations;
                best = rate;
            }
        } else if (fewest == std::numeric_limits<int64_t>::max() && final < lowest) {
            lowest = final;
            best = rate;
        }
    }
    return best;
}

std::string number(double value, int precision = 4)
{
    if (!std::isfinite(value))
        return "null";
    auto out = classicStream();
    out << std::setprecision(precision) << value;
    return out.str();
}

// The text table's spelling of a ratio or time: "-" where a method missed the target.
std::string shown(double value, int precision = 4)
{
    return std::isfinite(value) ? number(value, precision) : "-";
}

std::string speedupText(double value)
{
    return std::isfinite(value) ? number(value, 3) + "x" : "not defined (a method missed the target)";
}

} // namespace

torch::Tensor cropBenchmarkPatches(const std::vector<cv::Mat>& images, int channels, int batch, int patchSize,
                                   uint64_t seed)
{
    if (images.empty())
        throw Error("the benchmark needs at least one image");
    std::mt19937 random{uint32_t(seed)};
    std::vector<torch::Tensor> patches;
    for (int i = 0; i < batch; ++i) {
        const cv::Mat& image = images[size_t(i) % images.size()];
        if (image.rows < patchSize || image.cols < patchSize)
            throw Error("benchmark images must be at least " + std::to_string(patchSize) + " pixels on a side");
        std::uniform_int_distribution<int> top(0, image.rows - patchSize);
        std::uniform_int_distribution<int> left(0, image.cols - patchSize);
        cv::Mat patch = image(cv::Rect(left(random), top(random), patchSize, patchSize));
        if (patch.channels() != channels) {
            cv::Mat converted;
            cv::cvtColor(patch, converted, channels == 1 ? cv::COLOR_RGB2GRAY : cv::COLOR_GRAY2RGB);
            patch = converted;
        }
        patches.push_back(imageToTensor(patch));
    }
    return torch::cat(patches);
}

const MethodResult& ProblemResult::result(InputMethod method) const
{
    for (const auto& m : methods)
        if (m.method == method)
            return m;
    throw Error("method missing from the benchmark");
}

double ProblemResult::speedupOver(InputMethod baseline, InputMethod method) const
{
    const auto& a = result(baseline);
    const auto& b = result(method);
    return a.reached && b.reached && b.secondsToTarget > 0 ? a.secondsToTarget / b.secondsToTarget : std::nan("");
}

BenchmarkReport runBenchmark(DeqModel& model, const std::string& modelName, const std::vector<cv::Mat>& images,
                             const BenchmarkOptions& options)
{
    if (images.empty())
        throw Error("the benchmark needs at least one image");
    if (options.repeats < 1 || options.batch < 1)
        throw Error("repeats and batch must be positive");
    if (options.adamRateFactors.empty() || options.gdRateFactors.empty())
        throw Error("the learning-rate grids must not be empty");
    const auto& config = model->config();
    if (config.kind != ModelKind::Restoration)
        throw Error("the benchmark needs a restoration model");
    if (options.patchSize % config.alignment() != 0)
        throw Error("the patch size must be a multiple of " + std::to_string(config.alignment()));
    torch::NoGradGuard noGrad;

    SolveSettings settings = options.settings;
    settings.jiio.maxIterations = options.jiioIterations > 0 ? options.jiioIterations : config.jiioIterations;
    settings.naive.steps = options.naiveSteps;
    settings.naive.forward.tolerance = options.naiveTolerance;
    settings.naive.adjoint.tolerance = options.naiveTolerance;

    const auto clean = cropBenchmarkPatches(images, config.imageChannels, options.batch, options.patchSize, options.seed);
    BenchmarkReport report;
    report.model = modelName;
    report.threads = torch::get_num_threads();

    // Problems are drawn on the CPU (the same ones whatever the device) and
    // solved where the model lives.
    const auto device = modelDevice(model);
    double naiveTotal = 0, gdTotal = 0, jiioTotal = 0;
    for (const auto& problem : makeProblems(clean, options)) {
        const auto known = problem.known.defined() ? problem.known.to(device) : problem.known;
        const auto objective =
            RestorationObjective::forModel(config, problem.task, problem.target.to(device), known, options.sigma);
        const auto layout = restorationLayout(model, *objective);
        const auto start = restorationStart(model, *objective);
        EquilibriumObjective evaluate(model, layout, *objective);
        auto solve = [&](InputMethod method, double rate) {
            SolveSettings chosen = settings;
            chosen.method = method;
            if (isNaive(method))
                setLearningRate(chosen, method, rate);
            TracedRun run;
            run.trace.stop = options.stopRequested;
            run.result = optimizeInput(model, layout, *objective, chosen, run.trace, start);
            if (options.stopRequested && options.stopRequested())
                throw BenchmarkStopped();
            return run;
        };

        // The grids, once each: Adam's best final objective is the target.
        std::map<InputMethod, std::map<double, TracedRun>> grids;
        for (auto method : {InputMethod::NaiveAdam, InputMethod::NaiveGradientDescent}) {
            const auto& factors = method == InputMethod::NaiveAdam ? options.adamRateFactors : options.gdRateFactors;
            const double base =
                method == InputMethod::NaiveAdam ? settings.naive.adamLearningRate : settings.naive.gdLearningRate;
            for (double factor : factors)
                grids[method].emplace(base * factor, solve(method, base * factor));
        }
        double target = INFINITY;
        for (auto& [rate, run] : grids[InputMethod::NaiveAdam])
            target = std::min(target, run.finalObjective(evaluate));
        std::map<InputMethod, double> rates;
        for (auto& [method, grid] : grids)
            rates[method] = tunedRate(grid, target, evaluate);

        std::map<InputMethod, std::vector<TracedRun>> runs;
        // Repeats interleave the methods so slow drifts of the machine hit all alike.
        // A naive method's first run is its grid run at the chosen rate (the
        // same deterministic solve): it is not run again.
        for (auto& [method, grid] : grids)
            runs[method].push_back(std::move(grid.at(rates[method])));
        for (int repeat = 0; repeat < options.repeats; ++repeat)
            for (auto method : kMethods)
                if (!isNaive(method) || repeat > 0)
                    runs[method].push_back(solve(method, isNaive(method) ? rates[method] : 0.0));
        ProblemResult result;
        result.name = problem.name;
        result.targetObjective = target;
        for (auto method : kMethods) {
            result.methods.push_back(summarise(method, runs[method], target, evaluate));
            result.methods.back().learningRate = isNaive(method) ? rates[method] : std::nan("");
        }
        naiveTotal += result.result(InputMethod::NaiveAdam).secondsToTarget;
        gdTotal += result.result(InputMethod::NaiveGradientDescent).secondsToTarget;
        jiioTotal += result.result(InputMethod::JiioAnderson).secondsToTarget;
        report.problems.push_back(std::move(result));
    }
    report.speedup = std::isfinite(jiioTotal) && jiioTotal > 0 ? naiveTotal / jiioTotal : std::nan("");
    report.speedupOverGradientDescent = std::isfinite(jiioTotal) && jiioTotal > 0 ? gdTotal / jiioTotal : std::nan("");
    return report;
}

std::string benchmarkTable(const BenchmarkReport& report)
{
    auto out = classicStream();
    out << "model: " << report.model << "   threads: " << report.threads << "\n"
        << "objectives at the true equilibrium of each method's input; naive step sizes tuned on a grid\n";
    for (const auto& problem : report.problems) {
        out << "\n" << problem.name << " (target objective " << number(problem.targetObjective, 6)
            << " = naive Adam at the end of its budget, best learning rate)\n";
        out << std::left << std::setw(15) << "method" << std::right << std::setw(9) << "step" << std::setw(12)
            << "time [s]" << std::setw(8) << "iters" << std::setw(9) << "f-evals" << std::setw(8) << "VJPs"
            << std::setw(14) << "final obj." << std::setw(12) << "total [s]" << std::setw(13) << "Adam/this"
            << std::setw(11) << "GD/this" << "\n";
        for (const auto& m : problem.methods) {
            out << std::left << std::setw(15) << toString(m.method) << std::right << std::setw(9)
                << shown(m.learningRate, 3);
            if (m.reached)
                out << std::setw(12) << number(m.secondsToTarget) << std::setw(8) << m.iterationsToTarget << std::setw(9)
                    << m.functionEvaluationsToTarget << std::setw(8) << m.vjpsToTarget;
            else
                out << std::setw(12) << "not reached" << std::setw(8) << "-" << std::setw(9) << "-" << std::setw(8) << "-";
            out << std::setw(14) << number(m.finalObjective, 6) << std::setw(12) << number(m.totalSeconds)
                << std::setw(13) << shown(problem.speedupOver(InputMethod::NaiveAdam, m.method), 3) << std::setw(11)
                << shown(problem.speedupOver(InputMethod::NaiveGradientDescent, m.method), 3) << "\n";
        }
    }
    out << "\nspeedup (naive Adam / JIIO-Anderson, time to the same objective): " << speedupText(report.speedup) << "\n";
    out << "speedup (naive GD / JIIO-Anderson): " << speedupText(report.speedupOverGradientDescent) << "\n";
    return out.str();
}

std::string benchmarkJson(const BenchmarkReport& report)
{
    // NaN (a missed target) becomes null.
    auto value = [](double number) { return std::isfinite(number) ? nlohmann::json(number) : nlohmann::json(); };
    nlohmann::json problems = nlohmann::json::array();
    for (const auto& problem : report.problems) {
        nlohmann::json methods = nlohmann::json::array();
        for (const auto& m : problem.methods)
            methods.push_back({
                {"method", toString(m.method)},
                {"learning_rate", value(m.learningRate)},
                {"reached", m.reached},
                {"seconds_to_target", value(m.secondsToTarget)},
                {"iterations_to_target", m.iterationsToTarget},
                {"f_evals_to_target", m.functionEvaluationsToTarget},
                {"vjps_to_target", m.vjpsToTarget},
                {"final_objective", value(m.finalObjective)},
                {"total_seconds", value(m.totalSeconds)},
                {"speedup_vs_naive_adam", value(problem.speedupOver(InputMethod::NaiveAdam, m.method))},
                {"speedup_vs_naive_gd", value(problem.speedupOver(InputMethod::NaiveGradientDescent, m.method))},
            });
        problems.push_back({{"name", problem.name}, {"target_objective", value(problem.targetObjective)},
                            {"methods", methods}});
    }
    const nlohmann::json document = {
        {"model", report.model},
        {"speedup", value(report.speedup)},
        {"speedup_over_gd", value(report.speedupOverGradientDescent)},
        {"objective", "at the true equilibrium of each method's input"},
        {"threads", report.threads},
        {"problems", problems},
    };
    return document.dump(2) + "\n";
}

} // namespace jiio
