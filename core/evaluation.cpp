#include "evaluation.h"

#include "corruption.h"
#include "error.h"
#include "metrics.h"
#include "restore.h"

#include <opencv2/imgproc.hpp>
#include <opencv2/photo.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iomanip>
#include <sstream>

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

cv::Mat to8Bit(const cv::Mat& image)
{
    cv::Mat out;
    image.convertTo(out, CV_8U, 255.0);
    return out;
}

cv::Mat fromBytes(const cv::Mat& image)
{
    cv::Mat out;
    image.convertTo(out, CV_32F, 1.0 / 255.0);
    return out;
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

double timed(const std::function<void()>& work)
{
    const auto start = Clock::now();
    work();
    return std::chrono::duration<double>(Clock::now() - start).count();
}

const double kNlmFactors[] = {0.6, 0.8, 1.0, 1.2};

std::string nlmName(float h)
{
    std::ostringstream name;
    name << "nlm (h=" << std::setprecision(3) << h << ")";
    return name.str();
}

// Keeps, per corruption, only the best-scoring non-local-means row.
std::vector<EvaluationRow> keepBestNlm(const std::vector<EvaluationRow>& rows)
{
    std::vector<EvaluationRow> kept;
    for (const auto& row : rows) {
        if (row.method.rfind("nlm", 0) != 0) {
            kept.push_back(row);
            continue;
        }
        bool best = true;
        for (const auto& other : rows)
            if (other.corruption == row.corruption && other.method.rfind("nlm", 0) == 0 && other.psnr > row.psnr)
                best = false;
        if (best)
            kept.push_back(row);
    }
    return kept;
}

cv::Mat nonLocalMeans(const cv::Mat& noisy8, float h)
{
    cv::Mat out;
    if (noisy8.channels() == 3)
        cv::fastNlMeansDenoisingColored(noisy8, out, h, h);
    else
        cv::fastNlMeansDenoising(noisy8, out, h);
    return out;
}

} // namespace

EvaluationReport evaluateModel(DeqModel& model, const std::string& modelName, const std::vector<cv::Mat>& images,
                               const SolveSettings& settings, int cropSize, uint64_t seed)
{
    if (images.empty())
        throw Error("evaluation needs at least one image");
    const int channels = model->config().imageChannels;
    Table table;
    NullObserver quiet;
    uint64_t imageSeed = seed;
    for (const cv::Mat& full : images) {
        if (full.channels() != channels)
            throw Error("evaluation images must have the model's channel count");
        const cv::Mat clean = centreCrop(full, cropSize);
        for (const auto& corruption : corruptionsFor(model->config().kind)) {
            ++imageSeed;
            ImageData observed;
            observed.depth = CV_8U;
            RestoreRequest request;
            request.task = corruption.task;
            request.solver = settings;
            if (corruption.task == Task::Reconstruct) {
                observed.color = fromBytes(to8Bit(clean)); // nothing to compare with: no classical baseline
            } else if (corruption.task == Task::Denoise) {
                request.sigma = corruption.sigma;
                // Every method sees the same 8-bit noisy image, as a saved file would be.
                const cv::Mat noisy8 = to8Bit(addGaussianNoise(clean, corruption.sigma, imageSeed));
                observed.color = fromBytes(noisy8);
                // Every h of a grid around sigma; only the h with the best mean
                // PSNR over all images is reported (h tuned per sigma).
                for (double factor : kNlmFactors) {
                    const float h = float(factor * corruption.sigma);
                    cv::Mat result;
                    const double seconds = timed([&] { result = fromBytes(nonLocalMeans(noisy8, h)); });
                    table.add(corruption.name, nlmName(h), clean, result, seconds);
                }
            } else {
                const cv::Mat missing = makeMask(clean.rows, clean.cols, corruption.maskKind, corruption.amount, imageSeed);
                cv::Mat holes = clean.clone();
                holes.setTo(cv::Scalar::all(0), missing);
                observed.color = holes;
                request.missingMask = missing;
                const cv::Mat holes8 = to8Bit(holes);
                for (const auto& [name, flag] : {std::pair<std::string, int>{"telea", cv::INPAINT_TELEA},
                                                 std::pair<std::string, int>{"navier-stokes", cv::INPAINT_NS}}) {
                    cv::Mat result8;
                    const double seconds = timed([&] { cv::inpaint(holes8, missing, result8, 3, flag); });
                    table.add(corruption.name, name, clean, fromBytes(result8), seconds);
                }
            }
            RestoreOutcome outcome;
            const double seconds = timed([&] { outcome = restoreImage(model, observed, request, quiet); });
            table.add(corruption.name, "jiio", clean, outcome.image.color, seconds);
        }
    }
    EvaluationReport report;
    report.model = modelName;
    report.images = int(images.size());
    report.cropSize = cropSize; // images smaller than this are used whole
    report.rows = keepBestNlm(table.averaged());
    return report;
}

std::string evaluationTable(const EvaluationReport& report)
{
    std::ostringstream out;
    out << "model: " << report.model << "   images: " << report.images << " (centre crops up to "
        << report.cropSize << "x" << report.cropSize << ")\n\n";
    out << std::left << std::setw(24) << "corruption" << std::setw(18) << "method" << std::right << std::setw(10)
        << "PSNR [dB]" << std::setw(8) << "SSIM" << std::setw(12) << "s/image" << "\n";
    out << std::fixed;
    for (const auto& row : report.rows)
        out << std::left << std::setw(24) << row.corruption << std::setw(18) << row.method << std::right
            << std::setw(10) << std::setprecision(2) << row.psnr << std::setw(8) << std::setprecision(4) << row.ssim
            << std::setw(12) << std::setprecision(3) << row.secondsPerImage << "\n";
    return out.str();
}

} // namespace jiio
