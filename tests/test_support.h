#pragma once
// Shared helpers for the test suites.
#include "core/models/deq_model.h"

#include <QString>

#include <functional>
#include <vector>

namespace jiio::test {

// A small random model that solves quickly (double precision when asked, for
// finite-difference checks), optionally seeing the observation.
ModelConfig tinyConfig(int channels = 1);
DeqModel tinyModel(int channels = 1, bool doublePrecision = false, uint64_t seed = 7,
                   bool observationInjection = false);

// A small image prior model (the optimised input is the image), untrained.
ModelConfig tinyImagePriorConfig(int channels);

// A small random classifier of 12x12 gray images into 3 classes.
DeqModel tinyClassifier(bool doublePrecision = false, uint64_t seed = 7);

// A small random few-shot model of 12x12 gray images, up to 3 ways, a task
// vector of 4 modulation dimensions and a 4-dimensional embedding per class.
DeqModel tinyFewShotModel(bool doublePrecision = false, uint64_t seed = 7);

// Multiplies the weight-norm gains of the cell's convolutions: > 1 makes the
// cell expand.
void scaleCellGains(DeqModel& model, double factor);

// A random direction in a model's parameter space (torch::randn from `seed`),
// for finite-difference checks of parameter gradients.
class ParameterDirection {
public:
    ParameterDirection(DeqModel& model, uint64_t seed);
    // The parameters' accumulated .grad along the direction.
    double gradientAlong() const;
    // (loss(theta + h d) - loss(theta - h d)) / 2h; the parameters are restored after.
    double centralDifference(double h, const std::function<double()>& loss);

private:
    void shift(double by);
    DeqModel& model_;
    std::vector<torch::Tensor> directions_;
};

// Path of the jiio executable built alongside the tests.
QString cliPath();

// A decimal-comma locale (de_DE.UTF-8) compiled with localedef from Debian's
// `locales` into a folder of the test's own: set LOCPATH to it and LC_ALL to
// kCommaLocale. Empty, with the reason in `why`, when it cannot be made.
inline constexpr const char* kCommaLocale = "de_DE.UTF-8";
QString commaLocaleFolder(QString* why = nullptr);

} // namespace jiio::test
