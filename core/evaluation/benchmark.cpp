#include "evaluation/benchmark.h"

#include "error.h"
#include "io/tensor_image.h"
#include "numbers.h"
#include "solvers/trace.h"
#include "tasks/restoration/restoration_layout.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <iomanip>
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

torch::Tensor cropPatches(const std::vector<cv::Mat>& images, int channels, const BenchmarkOptions& options)
{
    std::mt19937 random(uint32_t(options.seed));
    std::vector<torch::Tensor> patches;
    for (int i = 0; i < options.batch; ++i) {
        const cv::Mat& image = images[size_t(i) % images.size()];
        if (image.rows < options.patchSize || image.cols < options.patchSize)
            throw Error("benchmark images must be at least " + std::to_string(options.patchSize) + " pixels on a side");
        std::uniform_int_distribution<int> top(0, image.rows - options.patchSize);
        std::uniform_int_distribution<int> left(0, image.cols - options.patchSize);
        cv::Mat patch = image(cv::Rect(left(random), top(random), options.patchSize, options.patchSize));
        if (patch.channels() != channels) {
            cv::Mat converted;
            cv::cvtColor(patch, converted, channels == 1 ? cv::COLOR_RGB2GRAY : cv::COLOR_GRAY2RGB);
            patch = converted;
        }
        patches.push_back(imageToTensor(patch));
    }
    return torch::cat(patches);
}

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

struct Run {
    TraceRecorder trace;
    InputOptimizationResult result;
};

MethodResult summarise(InputMethod method, const std::vector<Run>& runs, double target)
{
    MethodResult summary;
    summary.method = method;
    std::vector<double> toTarget, totals, finals;
    std::vector<int> iterations;
    std::vector<int64_t> evaluations, vjps;
    for (const auto& run : runs) {
        totals.push_back(run.result.elapsedSeconds);
        const auto& rows = run.trace.rows();
        finals.push_back(rows.empty() ? std::nan("") : rows.back().objective);
        auto hit = std::find_if(rows.begin(), rows.end(), [&](const IterationStats& s) { return s.objective <= target; });
        if (hit == rows.end())
            continue;
        toTarget.push_back(hit->elapsedSeconds);
        iterations.push_back(hit->iteration);
        evaluations.push_back(hit->functionEvaluations);
        vjps.push_back(hit->vjpCount);
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
    const auto& config = model->config();
    if (config.kind != ModelKind::Restoration)
        throw Error("the benchmark needs a restoration model");
    if (options.patchSize % config.alignment() != 0)
        throw Error("the patch size must be a multiple of " + std::to_string(config.alignment()));
    torch::NoGradGuard noGrad;

    SolveSettings settings = options.settings;
    settings.jiio.maxIterations = options.jiioIterations > 0 ? options.jiioIterations : config.jiioIterations;
    settings.naive.steps = options.naiveSteps;

    const auto clean = cropPatches(images, config.imageChannels, options);
    BenchmarkReport report;
    report.model = modelName;
    report.threads = torch::get_num_threads();

    double naiveTotal = 0, gdTotal = 0, jiioTotal = 0;
    for (const auto& problem : makeProblems(clean, options)) {
        const auto objective =
            RestorationObjective::forModel(config, problem.task, problem.target, problem.known, options.sigma);
        const auto layout = restorationLayout(model, *objective);
        const auto start = restorationStart(model, *objective);
        std::map<InputMethod, std::vector<Run>> runs;
        // Repeats interleave the methods so slow drifts of the machine hit all alike.
        for (int repeat = 0; repeat < options.repeats; ++repeat) {
            for (auto method : kMethods) {
                settings.method = method;
                Run run;
                run.result = optimizeInput(model, layout, *objective, settings, run.trace, start);
                runs[method].push_back(std::move(run));
            }
        }
        ProblemResult result;
        result.name = problem.name;
        result.targetObjective = runs[InputMethod::NaiveAdam].front().trace.rows().back().objective;
        for (auto method : kMethods)
            result.methods.push_back(summarise(method, runs[method], result.targetObjective));
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
    out << "model: " << report.model << "   threads: " << report.threads << "\n";
    for (const auto& problem : report.problems) {
        out << "\n" << problem.name << " (target objective " << number(problem.targetObjective, 6)
            << " = naive Adam at the end of its budget)\n";
        out << std::left << std::setw(15) << "method" << std::right << std::setw(12) << "time [s]" << std::setw(8)
            << "iters" << std::setw(9) << "f-evals" << std::setw(8) << "VJPs" << std::setw(14) << "final obj."
            << std::setw(12) << "total [s]" << std::setw(13) << "naive/this" << "\n";
        for (const auto& m : problem.methods) {
            out << std::left << std::setw(15) << toString(m.method) << std::right;
            if (m.reached)
                out << std::setw(12) << number(m.secondsToTarget) << std::setw(8) << m.iterationsToTarget << std::setw(9)
                    << m.functionEvaluationsToTarget << std::setw(8) << m.vjpsToTarget;
            else
                out << std::setw(12) << "not reached" << std::setw(8) << "-" << std::setw(9) << "-" << std::setw(8) << "-";
            out << std::setw(14) << number(m.finalObjective, 6) << std::setw(12) << number(m.totalSeconds)
                << std::setw(13) << shown(problem.speedupOver(InputMethod::NaiveAdam, m.method), 3) << "\n";
        }
    }
    out << "\nspeedup (naive Adam / JIIO-Anderson, time to the same objective): " << speedupText(report.speedup) << "\n";
    out << "speedup (naive GD / JIIO-Anderson): " << speedupText(report.speedupOverGradientDescent) << "\n";
    return out.str();
}

std::string benchmarkJson(const BenchmarkReport& report)
{
    auto quoted = [](const std::string& text) {
        std::string out = "\"";
        for (char c : text) {
            if (c == '"' || c == '\\')
                out += '\\';
            out += c;
        }
        return out + "\"";
    };
    auto out = classicStream();
    out << "{\n  \"model\": " << quoted(report.model) << ",\n  \"speedup\": " << number(report.speedup, 6)
        << ",\n  \"speedup_over_gd\": " << number(report.speedupOverGradientDescent, 6)
        << ",\n  \"threads\": " << report.threads << ",\n  \"problems\": [";
    for (size_t p = 0; p < report.problems.size(); ++p) {
        const auto& problem = report.problems[p];
        out << (p ? "," : "") << "\n    {\"name\": " << quoted(problem.name)
            << ", \"target_objective\": " << number(problem.targetObjective, 9) << ", \"methods\": [";
        for (size_t i = 0; i < problem.methods.size(); ++i) {
            const auto& m = problem.methods[i];
            out << (i ? "," : "") << "\n      {\"method\": " << quoted(toString(m.method))
                << ", \"reached\": " << (m.reached ? "true" : "false")
                << ", \"seconds_to_target\": " << number(m.secondsToTarget, 6)
                << ", \"iterations_to_target\": " << m.iterationsToTarget
                << ", \"f_evals_to_target\": " << m.functionEvaluationsToTarget
                << ", \"vjps_to_target\": " << m.vjpsToTarget
                << ", \"final_objective\": " << number(m.finalObjective, 9)
                << ", \"total_seconds\": " << number(m.totalSeconds, 6)
                << ", \"speedup_vs_naive_adam\": " << number(problem.speedupOver(InputMethod::NaiveAdam, m.method), 6)
                << "}";
        }
        out << "\n    ]}";
    }
    out << "\n  ]\n}\n";
    return out.str();
}

} // namespace jiio
