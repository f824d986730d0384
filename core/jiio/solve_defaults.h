#pragma once
#include "jiio/input_optimization.h"
#include "models/model_config.h"

namespace jiio {

// How a model is solved when the user names no budget or tolerance.
struct SolveDefaults {
    int iterations = 0;
    double tolerance = 0;
};

// A model whose optimised input is the image (an image prior) is solved by
// JIIO until the joint residual falls below 3e-2, within five times the
// budget it was trained for: holes and light noise settle in fewer
// iterations than training used, heavy noise needs several times more (at
// sigma 50 the image is 2-3 dB better for it), and a tighter solve changes
// the image by hundredths of a dB (on 22 held-out photographs, 1e-2 instead
// of 3e-2 took up to 1.5 times longer, and its images were no better on
// average: between -0.03 and +0.06 dB per corruption). Every other model and
// method: the trained budget and a tight tolerance.
SolveDefaults solveDefaults(const ModelConfig& config, InputMethod method);

} // namespace jiio
