#pragma once
#include "jiio/input_optimization.h"
#include "models/deq_model.h"

#include <opencv2/core.hpp>

#include <functional>
#include <string>
#include <vector>

namespace jiio {

// One row of `jiio eval`: a method on one corruption, averaged over images.
struct EvaluationRow {
    std::string corruption; // e.g. "denoise sigma 25", "inpaint 32x32 blocks"
    std::string method;     // "jiio", "telea", "navier-stokes", "nlm (h=...)"
    double psnr = 0;        // dB, mean over images
    double ssim = 0;
    double secondsPerImage = 0;
};

// Method names of the model's own rows.
inline constexpr const char* kJiioMethod = "jiio";
inline constexpr const char* kFrozenMethod = "jiio, input frozen"; // alpha_x = 0: the ablation

struct EvaluationReport {
    std::string model;
    int images = 0;          // images scored (every row averages over these)
    int imagesRequested = 0; // more than `images` when the run was stopped
    int cropSize = 0;
    std::vector<EvaluationRow> rows;
};

// Who watches a long evaluation. When stopRequested returns true (it is
// polled during solves too) the evaluation ends with the images completed so
// far; a half-scored image is dropped, so every row still averages over the
// same images. onImageScored follows each completed image.
struct EvaluationControl {
    std::function<bool()> stopRequested;
    std::function<void(int scored, int total)> onImageScored;
};

// Runs the model through JIIO, the same solve with the optimised input frozen
// at its start (the ablation), and the classical methods of
// classical_restoration.h (Telea, Navier-Stokes and biharmonic inpainting;
// non-local means in Lab and on joint RGB patches and total variation, each
// with its parameter tuned per sigma on these images: the grid value with
// the best mean PSNR is reported). A
// restoration model is scored on denoising at sigma 15, 25, 50 and on
// inpainting of 32x32 blocks, text-like strokes and 50% random missing
// pixels; a generative model on reconstruction, denoising at sigma 25 and 50,
// and inpainting of 8x8 blocks, strokes and 50% pixels. Images are float
// [0, 1] with the model's channel count; each is centre-cropped to cropSize.
EvaluationReport evaluateModel(DeqModel& model, const std::string& modelName, const std::vector<cv::Mat>& images,
                               const SolveSettings& settings, int cropSize, uint64_t seed,
                               const EvaluationControl& control);
EvaluationReport evaluateModel(DeqModel& model, const std::string& modelName, const std::vector<cv::Mat>& images,
                               const SolveSettings& settings, int cropSize, uint64_t seed);


// Per corruption: the best classical method, JIIO and the frozen-input ablation.
struct EvaluationSummaryRow {
    std::string corruption;
    std::string classicalMethod;
    double classicalPsnr = 0;
    double jiioPsnr = 0;
    double frozenPsnr = 0;
};
std::vector<EvaluationSummaryRow> evaluationSummary(const EvaluationReport& report);

// The full table, then the summary with the mean gain over the frozen input.
std::string evaluationTable(const EvaluationReport& report);

// The same as JSON: model, images, crop, every row (corruption, method,
// psnr_db, ssim, seconds_per_image), the summary per corruption and
// mean_gain_over_frozen_input_db.
std::string evaluationJson(const EvaluationReport& report);

} // namespace jiio
