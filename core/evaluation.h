#pragma once
#include "deq_model.h"
#include "input_optimization.h"

#include <opencv2/core.hpp>

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

struct EvaluationReport {
    std::string model;
    int images = 0;
    int cropSize = 0;
    std::vector<EvaluationRow> rows;
};

// Runs the model through JIIO and OpenCV's classical baselines (cv::inpaint
// Telea and Navier-Stokes; non-local means with h tuned per sigma on these
// images: the h of {0.6, 0.8, 1.0, 1.2} sigma with the best mean PSNR). A
// restoration model is scored on denoising at sigma 15, 25, 50 and on
// inpainting of 32x32 blocks, text-like strokes and 50% random missing
// pixels; a generative model on reconstruction, denoising at sigma 25 and 50,
// and inpainting of 8x8 blocks, strokes and 50% pixels. Images are float
// [0, 1] with the model's channel count; each is centre-cropped to cropSize.
EvaluationReport evaluateModel(DeqModel& model, const std::string& modelName, const std::vector<cv::Mat>& images,
                               const SolveSettings& settings, int cropSize, uint64_t seed);

std::string evaluationTable(const EvaluationReport& report);

} // namespace jiio
