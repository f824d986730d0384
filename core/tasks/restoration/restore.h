#pragma once
#include "io/image_io.h"
#include "jiio/input_optimization.h"
#include "models/deq_model.h"
#include "tasks/restoration/restoration_objective.h"

#include <functional>

namespace jiio {

struct RestoreRequest {
    Task task = Task::Denoise;     // Inpaint or Denoise
    double sigma = 25;             // denoising: noise std on the 0-255 scale
    cv::Mat missingMask;           // inpainting: CV_8U, non-zero = missing
    SolveSettings solver;
    int tileBatch = 4;             // tiles solved together
    int64_t maxWholePixels = 512 * 512; // larger images are tiled
    // Live previews of the reconstruction (float [0, 1], the input's colour
    // channels), at most one per previewInterval seconds while a whole image
    // is solved, and one per finished tile batch for tiled images.
    std::function<void(const cv::Mat&)> onPreview;
    double previewInterval = 0.1;
};

struct RestoreOutcome {
    ImageData image;        // restored, with the input's alpha and depth
    int segments = 0;       // independent solves (tiles or the whole image)
    int iterations = 0;     // summed over segments
    double objective = 0;   // mean over segments of the final per-sample objective
    double seconds = 0;
    StopReason worstReason = StopReason::Converged;
};

// Checks that the model and the request fit the image; throws jiio::Error
// with a clear sentence otherwise.
void validateRestore(const ModelConfig& config, const ImageData& observed, const RestoreRequest& request);

// Restores an image of any size: whole when it is small, otherwise in
// overlapping tiles blended without seams, with memory bounded by the tile
// batch. Known pixels of an inpainting input are kept exactly. An RGB model
// restores gray images as three equal channels.
RestoreOutcome restoreImage(DeqModel& model, const ImageData& observed, const RestoreRequest& request,
                            SolveObserver& observer);

} // namespace jiio
