#pragma once
#include <string>
#include <vector>

namespace jiio {

// Where shipped models are looked up, in order: the JIIO_MODELS_DIR
// environment variable, share/jiio/models beside the running executable (an
// installed copy, wherever it was moved), the models/ folder of the source
// tree this binary was built from, then the install prefix it was built for.
std::vector<std::string> modelSearchDirectories();

// The same for the sample images (JIIO_SAMPLES_DIR, share/jiio/samples beside
// the executable, resources/samples of the source tree, the install prefix).
std::vector<std::string> sampleSearchDirectories();
// The first of those folders that exists; throws jiio::Error naming them all
// when none does.
std::string locateSampleFolder();

// File name of the shipped restoration model for 1 (gray) or 3 (RGB) channels.
std::string defaultRestorationModelName(int channels);

// The path of the default restoration model for this channel count (for
// gray images the RGB model when no gray one exists); throws jiio::Error
// naming the folders searched when none exists.
std::string locateDefaultRestorationModel(int channels);

// The shipped Fashion-MNIST generative model (latent reconstruction).
inline constexpr const char* kGenerativeModelName = "fashion-generative.pt";
std::string locateDefaultGenerativeModel();

// The shipped Fashion-MNIST classifiers: standard training, and adversarial
// training with each attack.
inline constexpr const char* kClassifierModelName = "fashion-classifier.pt";
inline constexpr const char* kRobustJiioModelName = "fashion-robust-jiio.pt";
inline constexpr const char* kRobustPgdModelName = "fashion-robust-pgd.pt";
// The shipped few-shot model (meta-learning).
inline constexpr const char* kFewShotModelName = "fewshot-meta.pt";
// The path of a shipped model by file name; throws jiio::Error naming the
// folders searched when it is missing.
std::string locateShippedModel(const std::string& name);

// Every shipped model file found in the search folders (first hit per name).
std::vector<std::string> shippedModels();

} // namespace jiio
