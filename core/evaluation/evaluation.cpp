#include "evaluation/evaluation.h"

#include "error.h"
#include "io/image_io.h"
#include "io/metrics.h"
#include "numbers.h"
#include "tasks/restoration/classical_restoration.h"
#include "tasks/restoration/corruption.h"
#include "tasks/restoration/restore.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iomanip>
#include <sstream>

#include <nlohmann/json.hpp>

namespace jiio {

namespace {

using Clock = std::chrono::steady_clock;

struct Corruption {
    std::string name;
    Task task;
    double sigma = 0;
    MaskKind maskKind = MaskKind::Blocks;
    double amount = 0;
};

const std::vector<Corruption>& corruptionsFor(ModelKind kind)
{
    // Generative models see small images (Fashion-MNIST): blocks and strokes
    // scaled down, and plain reconstruction of the clean image first.
    static const std::vector<Corruption> generative = {
        {"reconstruct", Task::Reconstruct},
        {"denoise sigma 25", Task::Denoise, 25},
        {"denoise sigma 50", Task::Denoise, 50},
        {"inpaint 8x8 blocks", Task::Inpaint, 0, MaskKind::Blocks, 8},
        {"inpaint strokes", Task::Inpaint, 0, MaskKind::Strokes, 3},
        {"inpaint 50% pixels", Task::Inpaint, 0, MaskKind::Pixels, 0.5},
    };
    static const std::vector<Corruption> restoration = {
        {"denoise sigma 15", Task::Denoise, 15},
        {"denoise sigma 25", Task::Denoise, 25},
        {"denoise sigma 50", Task::Denoise, 50},
        {"inpaint 32x32 blocks", Task::Inpaint, 0, MaskKind::Blocks, 32},
        {"inpaint strokes", Task::Inpaint, 0, MaskKind::Strokes, 12},
        {"inpaint 50% pixels", Task::Inpaint, 0, MaskKind::Pixels, 0.5},
    };
    return kind == ModelKind::Generative ? generative : restoration;
}

cv::Mat centreCrop(const cv::Mat& image, int side)
{
    const int w = std::min(side, image.cols);
    const int h = std::min(side, image.rows);
    return image(cv::Rect((image.cols - w) / 2, (image.rows - h) / 2, w, h)).clone();
}

// Accumulates PSNR, SSIM and time per (corruption, method).
class Table {
public:
    void add(const std::string& corruption, const std::string& method, const cv::Mat& clean, const cv::Mat& result,
             double seconds)
    {
        auto& row = find(corruption, method);
        row.psnr += psnr(clean, result);
        row.ssim += ssim(clean, result);
        row.secondsPerImage += seconds;
        ++counts_[index(corruption, method)];
    }
    std::vector<EvaluationRow> averaged() const
    {
        std::vector<EvaluationRow> out = rows_;
        for (size_t i = 0; i < out.size(); ++i) {
            const double n = std::max(1, counts_[i]);
            out[i].psnr /= n;
            out[i].ssim /= n;
            out[i].secondsPerImage /= n;
        }
        return out;
    }

private:
    size_t index(const std::string& corruption, const std::string& method)
    {
        for (size_t i = 0; i < rows_.size(); ++i)
            if (rows_[i].corruption == corruption && rows_[i].method == method)
                return i;
        rows_.push_back({corruption, method});
        counts_.push_back(0);
        return rows_.size() - 1;
    }
    EvaluationRow& find(const std::string& corruption, const std::string& method)
    {
        return rows_[index(corruption, method)];
    }
    std::vector<EvaluationRow> rows_;
    std::vector<int> counts_;
};

// One method's result on one image, kept until the whole image is scored.
struct ScoredResult {
    std::string corruption, method;
    cv::Mat result;
    double seconds = 0;
};

// Lets a solve end early when the evaluation is asked to stop.
class StopWatcher final : public SolveObserver {
public:
    explicit StopWatcher(const std::function<bool()>& stopRequested) : stopRequested_(stopRequested) {}
    void onIteration(const IterationStats&) override {}
    bool stopRequested() const override { return stopRequested_ && stopRequested_(); }

private:
    const std::function<bool()>& stopRequested_;
};

double timed(const std::function<void()>& work)
{
    const auto start = Clock::now();
    work();
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// "nlm-rgb (h=16.2)" for a tuned method, the plain name for one without a parameter.
std::string classicalName(ClassicalMethod method, double parameter)
{
    if (parameter <= 0)
        return toString(method);
    auto name = classicStream();
    name << toString(method) << (method == ClassicalMethod::TotalVariation ? " (w=" : " (h=") << std::setprecision(3)
         << parameter << ")";
    return name.str();
}

std::string methodFamily(const std::string& method)
{
    return method.substr(0, method.find(" ("));
}

// Keeps, per corruption and classical method, only its best-scoring
// parameter (the method tuned per noise level on these images).
std::vector<EvaluationRow> keepBestParameters(const std::vector<EvaluationRow>& rows)
{
    std::vector<EvaluationRow> kept;
    for (const auto& row : rows) {
        bool best = true;
        for (const auto& other : rows)
            if (other.corruption == row.corruption && methodFamily(other.method) == methodFamily(row.method)
                && other.psnr > row.psnr)
                best = false;
        if (best)
            kept.push_back(row);
    }
    return kept;
}

} // namespace

EvaluationReport evaluateModel(DeqModel& model, const std::string& modelName, const std::vector<cv::Mat>& images,
                               const SolveSettings& settings, int cropSize, uint64_t seed)
{
    return evaluateModel(model, modelName, images, settings, cropSize, seed, EvaluationControl{});
}

EvaluationReport evaluateModel(DeqModel& model, const std::string& modelName, const std::vector<cv::Mat>& images,
                               const SolveSettings& settings, int cropSize, uint64_t seed,
                               const EvaluationControl& control)
{
    if (images.empty())
        throw Error("evaluation needs at least one image");
    const int channels = model->config().imageChannels;
    Table table;
    StopWatcher watcher(control.stopRequested);
    uint64_t imageSeed = seed;
    int scored = 0;
    for (const cv::Mat& full : images) {
        if (full.channels() != channels)
            throw Error("evaluation images must have the model's channel count");
        const cv::Mat clean = centreCrop(full, cropSize);
        std::vector<ScoredResult> results;
        auto keep = [&](const std::string& corruption, const std::string& method, const cv::Mat& result,
                        double seconds) { results.push_back({corruption, method, result, seconds}); };
        for (const auto& corruption : corruptionsFor(model->config().kind)) {
            if (watcher.stopRequested())
                break;
            ++imageSeed;
            ImageData observed;
            observed.depth = CV_8U;
            RestoreRequest request;
            request.task = corruption.task;
            request.solver = settings;
            if (corruption.task == Task::Reconstruct) {
                observed.color = fromBytes(toBytes(clean)); // nothing to compare with: no classical baseline
            } else if (corruption.task == Task::Denoise) {
                request.sigma = corruption.sigma;
                // Every method sees the same 8-bit noisy image, as a saved file would be.
                observed.color = fromBytes(toBytes(addGaussianNoise(clean, corruption.sigma, imageSeed)));
            } else {
                const cv::Mat missing = makeMask(clean.rows, clean.cols, corruption.maskKind, corruption.amount, imageSeed);
                cv::Mat holes = clean.clone();
                holes.setTo(cv::Scalar::all(0), missing);
                observed.color = holes;
                request.missingMask = missing;
            }
            // Every classical method for the task, each parameter of its grid;
            // only a method's best parameter over all images is reported.
            for (auto method : classicalMethodsFor(corruption.task))
                for (double parameter : classicalParameterGrid(method, corruption.sigma)) {
                    cv::Mat result;
                    const double seconds = timed([&] {
                        result = restoreClassically(method, observed.color, request.missingMask, corruption.sigma,
                                                    parameter);
                    });
                    keep(corruption.name, classicalName(method, parameter), result, seconds);
                }
            RestoreOutcome outcome;
            const double seconds = timed([&] { outcome = restoreImage(model, observed, request, watcher); });
            keep(corruption.name, kJiioMethod, outcome.image.color, seconds);
            // The ablation: the same solve with the optimised input frozen at its start.
            RestoreRequest frozen = request;
            frozen.solver.jiio.alphaX = frozen.solver.jiio.alphaXLate = 0;
            const double frozenSeconds = timed([&] { outcome = restoreImage(model, observed, frozen, watcher); });
            keep(corruption.name, kFrozenMethod, outcome.image.color, frozenSeconds);
        }
        if (watcher.stopRequested()) // this image's solves may have been cut short
            break;
        for (const auto& r : results)
            table.add(r.corruption, r.method, clean, r.result, r.seconds);
        ++scored;
        if (control.onImageScored)
            control.onImageScored(scored, int(images.size()));
    }
    EvaluationReport report;
    report.model = modelName;
    report.images = scored;
    report.imagesRequested = int(images.size());
    report.cropSize = cropSize; // images smaller than this are used whole
    report.rows = keepBestParameters(table.averaged());
    return report;
}

std::vector<EvaluationSummaryRow> evaluationSummary(const EvaluationReport& report)
{
    std::vector<EvaluationSummaryRow> summary;
    for (const auto& row : report.rows) {
        auto it = std::find_if(summary.begin(), summary.end(),
                               [&](const auto& s) { return s.corruption == row.corruption; });
        if (it == summary.end()) {
            EvaluationSummaryRow added;
            added.corruption = row.corruption;
            summary.push_back(added);
            it = summary.end() - 1;
        }
        if (row.method == kJiioMethod)
            it->jiioPsnr = row.psnr;
        else if (row.method == kFrozenMethod)
            it->frozenPsnr = row.psnr;
        else if (it->classicalMethod.empty() || row.psnr > it->classicalPsnr) {
            it->classicalMethod = row.method;
            it->classicalPsnr = row.psnr;
        }
    }
    summary.erase(std::remove_if(summary.begin(), summary.end(), [](const auto& s) { return s.classicalMethod.empty(); }),
                  summary.end());
    return summary;
}

std::string evaluationTable(const EvaluationReport& report)
{
    auto out = classicStream();
    out << "model: " << report.model << "   images: " << report.images;
    if (report.imagesRequested > report.images)
        out << " of " << report.imagesRequested << " (stopped)";
    out << " (centre crops up to " << report.cropSize << "x" << report.cropSize << ")\n\n";
    out << std::left << std::setw(24) << "corruption" << std::setw(18) << "method" << std::right << std::setw(10)
        << "PSNR [dB]" << std::setw(8) << "SSIM" << std::setw(12) << "s/image" << "\n";
    out << std::fixed;
    for (const auto& row : report.rows)
        out << std::left << std::setw(24) << row.corruption << std::setw(18) << row.method << std::right
            << std::setw(10) << std::setprecision(2) << row.psnr << std::setw(8) << std::setprecision(4) << row.ssim
            << std::setw(12) << std::setprecision(3) << row.secondsPerImage << "\n";

    const auto summary = evaluationSummary(report);
    if (summary.empty())
        return out.str();
    out << "\n" << std::left << std::setw(24) << "corruption" << std::setw(26) << "best classical" << std::right
        << std::setw(8) << "JIIO" << std::setw(10) << "frozen x" << std::setw(12) << "vs classic" << std::setw(11)
        << "vs frozen" << "\n";
    double gap = 0;
    for (const auto& row : summary) {
        auto best = classicStream();
        best << std::fixed << std::setprecision(2) << row.classicalPsnr << " " << methodFamily(row.classicalMethod);
        out << std::left << std::setw(24) << row.corruption << std::setw(26) << best.str() << std::right
            << std::setw(8) << row.jiioPsnr << std::setw(10) << row.frozenPsnr << std::showpos << std::setw(12)
            << row.jiioPsnr - row.classicalPsnr << std::setw(11) << row.jiioPsnr - row.frozenPsnr << std::noshowpos
            << "\n";
        gap += row.jiioPsnr - row.frozenPsnr;
    }
    out << "mean gain of the input optimisation over the frozen input: " << std::showpos << gap / summary.size()
        << std::noshowpos << " dB\n";
    return out.str();
}

std::string evaluationJson(const EvaluationReport& report)
{
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& row : report.rows)
        rows.push_back({{"corruption", row.corruption},
                        {"method", row.method},
                        {"psnr_db", row.psnr},
                        {"ssim", row.ssim},
                        {"seconds_per_image", row.secondsPerImage}});
    nlohmann::json summary = nlohmann::json::array();
    double gain = 0;
    const auto best = evaluationSummary(report);
    for (const auto& row : best) {
        summary.push_back({{"corruption", row.corruption},
                           {"best_classical_method", row.classicalMethod},
                           {"best_classical_psnr_db", row.classicalPsnr},
                           {"jiio_psnr_db", row.jiioPsnr},
                           {"frozen_input_psnr_db", row.frozenPsnr},
                           {"jiio_minus_classical_db", row.jiioPsnr - row.classicalPsnr},
                           {"jiio_minus_frozen_db", row.jiioPsnr - row.frozenPsnr}});
        gain += row.jiioPsnr - row.frozenPsnr;
    }
    nlohmann::json document = {{"model", report.model},
                               {"images", report.images},
                               {"images_requested", report.imagesRequested},
                               {"crop", report.cropSize},
                               {"rows", rows},
                               {"summary", summary}};
    document["mean_gain_over_frozen_input_db"] = best.empty() ? nlohmann::json() : nlohmann::json(gain / best.size());
    return document.dump(2) + "\n";
}

} // namespace jiio
