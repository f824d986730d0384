#pragma once
#include "tasks/restoration/restoration_objective.h"

#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace jiio {

// The methods a user would pick instead of a learned model.
enum class ClassicalMethod {
    Telea,          // cv::inpaint, fast marching
    NavierStokes,   // cv::inpaint, fluid dynamics
    Biharmonic,     // the smooth fill minimising |Laplacian|^2 with known pixels fixed
    NlmColored,     // cv::fastNlMeansDenoisingColored (patches compared in Lab)
    NlmRgb,         // cv::fastNlMeansDenoising on the 3-channel image (joint RGB patches)
    TotalVariation, // Chambolle's projection algorithm
};

std::string toString(ClassicalMethod method);
ClassicalMethod classicalMethodFromString(const std::string& text);
// The classical methods for a task, strongest last.
std::vector<ClassicalMethod> classicalMethodsFor(Task task);

// The parameter grid a method is tuned over for a noise level (sigma on the
// 0-255 scale): non-local means' filter strength h, total variation's
// weight; a single 0 for methods without one.
std::vector<double> classicalParameterGrid(ClassicalMethod method, double sigma);
// The parameter a method uses when none is tuned: the grid's usual best.
double defaultClassicalParameter(ClassicalMethod method, double sigma);

// Restores a float image in [0, 1] (gray or RGB). Inpainting: missingMask is
// CV_8U with non-zero at missing pixels, and known pixels come back
// unchanged. Denoising: sigma is the noise level; `parameter` 0 takes the
// default for it. Non-local means and OpenCV's inpainting work on 8-bit
// images, as they do for a user.
cv::Mat restoreClassically(ClassicalMethod method, const cv::Mat& observed, const cv::Mat& missingMask, double sigma,
                           double parameter = 0);

// The building blocks, for tests and for other front ends.
cv::Mat biharmonicInpaint(const cv::Mat& image, const cv::Mat& missingMask);
// argmin_u 0.5 |u - f|^2 + weight * TV(u) per channel (isotropic TV), by
// Chambolle's projection algorithm until the relative change of the energy's
// dual falls below `tolerance` or after `maxIterations`.
cv::Mat totalVariationDenoise(const cv::Mat& image, double weight, int maxIterations = 200, double tolerance = 2e-4);

} // namespace jiio
