#pragma once
#include "jiio/input_optimization.h"
#include "models/deq_model.h"
#include "tasks/restoration/restoration_objective.h"
#include "training/training_data.h"

#include <cmath>
#include <memory>
#include <string>
#include <vector>

namespace jiio {

class DataParallel;

// How a model is trained through JIIO.
struct TrainingOptions {
    int steps = 2000;
    int batchSize = 8;
    double learningRate = 1e-3;     // cosine-annealed to zero over `steps`
    double gradientClip = 1.0;      // on the global gradient norm
    double jacobianWeight = 0.1;    // Hutchinson |df/dz|_F^2 regulariser
    // Hinge on the largest gain of df/dz (power iteration) above gainTarget:
    // keeps every direction contractive, which the Frobenius term alone does not.
    double gainWeight = 10.0;
    double gainTarget = 0.8;
    double inpaintFraction = 0.5;   // of the batches; the rest are denoising
    double sigmaMin = 5, sigmaMax = 50; // denoising noise range, 0-255 scale
    int adjointIterations = 20;
    // Optional warm-up: the first `unrolledSteps` steps backpropagate through
    // `unrollDepth` plain applications of f from z = 0 (at JIIO's x*) instead
    // of differentiating the equilibrium implicitly.
    int unrolledSteps = 0;
    int unrollDepth = 8;
    // A step whose JIIO solve never got the state residual below this trains
    // only the Jacobian penalty (implicit gradients need an equilibrium).
    double maxStateResidual = 0.5;
    // Differentiate through the input optimisation too (bilevelBackward): the
    // loss is the delivered image's error, x* moves with the parameters, and
    // the inner solve stops as a restoration does (the model's deployed
    // tolerance and budget) instead of after a fixed budget. Off: x* is taken
    // as given and only the readout's path to the loss is differentiated.
    bool bilevel = false;
    int bilevelCgIterations = 4;
    // Train the delivered error in decibels: each step's gradient is scaled
    // by kDecibelReference / loss (the gradient of log MSE, at the size of a
    // step whose error is the reference), so light noise and holes, whose
    // errors are small, count as much per decibel as heavy noise. Off: the
    // plain MSE, where the heaviest noise levels dominate every update.
    bool decibelLoss = false;
    int checkpointEvery = 100;      // steps
    int validateEvery = 100;        // steps
    uint64_t seed = 0;
    JiioOptions jiio;               // the inner solve (its budget = the model's)

    std::string toText() const;
    static TrainingOptions fromText(const std::string& text);
};

// Gaussian noise of standard deviation sigma (0-255 scale) added to images in
// the normalised range [-1, 1], then clipped and rounded to 8 bits: a user's
// noisy image has been saved, so training sees what `jiio restore` will.
torch::Tensor addSavedGaussianNoise(const torch::Tensor& clean, double sigma);
// The same with the standard normal noise given (shaped like `clean`).
torch::Tensor addSavedGaussianNoise(const torch::Tensor& clean, double sigma, const torch::Tensor& standardNoise);

// One corruption's share of a validation: its name ("holes", "noise 16", ...)
// and the mean PSNR of what a user gets.
struct ValidationPart {
    std::string name;
    double psnr = 0; // dB
};

struct TrainingProgress {
    int step = 0;
    int steps = 0;
    double loss = 0;            // training loss of this step (MSE, normalised range)
    double learningRate = 0;
    double stepsPerSecond = 0;
    double etaSeconds = 0;
    double validationPsnr = std::nan(""); // dB, when validated this step
    std::vector<ValidationPart> validationParts; // per corruption, when validated this step
    double validationAccuracy = std::nan(""); // percent, classifiers, when validated this step
    double adjointResidual = std::nan(""); // relative, of this step's implicit-gradient adjoint solve
};

// A few validation images as the model sees them after a validation: the
// corrupted input, the reconstruction and the clean target, [N, C, S, S] in
// the normalised range [-1, 1].
struct TrainingSamples {
    int step = 0;
    torch::Tensor observed, prediction, clean;
};

class TrainingObserver {
public:
    virtual ~TrainingObserver() = default;
    virtual void onProgress(const TrainingProgress& progress) = 0;
    virtual void onSamples(const TrainingSamples& /*samples*/) {}
    virtual void onCheckpoint(int /*step*/, const std::string& /*path*/) {}
    virtual bool stopRequested() const { return false; }
};

// Trains a model through JIIO. A restoration model sees each batch corrupted
// on the fly (inpainting or denoising); a generative model reconstructs the
// clean images from its latent code. JIIO finds (z*, x*, mu*), the loss
// compares h(z*) with the clean images, gradients come from implicit
// differentiation warm-started from mu*, and the Jacobian penalty is taken at
// a random point of the JIIO trajectory.
class Trainer {
public:
    Trainer(DeqModel model, TrainingOptions options, std::unique_ptr<TrainingSource> data, std::string checkpointPath);

    // Continues from a checkpoint written by a Trainer: model, optimiser, step,
    // options and random state.
    static Trainer resume(const std::string& checkpointPath, std::unique_ptr<TrainingSource> data);

    // Runs until the step budget or a stop request; checkpoints periodically
    // and at the end. Returns the last progress.
    TrainingProgress run(TrainingObserver& observer);

    // Trains as one rank of a data-parallel run: every rank draws the same
    // global batch (the same seed and random streams) and trains on its own
    // rows of it, the gradients averaged across ranks, so the run follows the
    // single-process run over the whole batch. Only rank 0 validates and
    // writes; a stop requested on any rank stops all after the same step.
    void useDataParallel(std::shared_ptr<DataParallel> parallel);
    // Computes on `device` from here on (the model, Adam's moments and every
    // batch; checkpoints read back on any device). Throws jiio::Error for a GPU
    // this build or machine lacks.
    void placeOn(const torch::Device& device);

    int step() const { return step_; }
    // Steps whose update was skipped because the loss or gradient was not finite.
    int skippedSteps() const { return skippedSteps_; }
    // Steps that trained only the Jacobian penalty: the inner solve did not converge.
    int unconvergedSteps() const { return unconvergedSteps_; }
    // Each validation that beats all earlier ones writes the model alone (no
    // training state) to bestModelPath(): a run that degrades late keeps its
    // best model. A fine-tune (a model with fine_tuned_from) validates its
    // start before the first step, so that is the best until a step beats it.
    // NaN before the first validation.
    double bestValidationPsnr() const { return bestValidation_; }
    int bestStep() const { return bestStep_; }
    std::string bestModelPath() const; // CHECKPOINT-best.pt beside the checkpoint
    DeqModel& model() { return model_; }
    const TrainingOptions& options() const { return options_; }
    // Mean PSNR on the validation set, the same corruptions every time:
    // restoration models half inpainting (masks of every kind) and half
    // denoising (a third each at the lowest noise plus a quarter, half and all
    // of the training range); generative models reconstruction.
    double validate();
    // The last validate() per corruption (its weighted mean is what validate()
    // returned): trades between noise levels and holes show here.
    const std::vector<ValidationPart>& lastValidationParts() const { return validationParts_; }
    // Up to four validation images from the last validate() (first pass:
    // inpainting for restoration models, reconstruction for generative ones).
    const TrainingSamples& lastSamples() const { return samples_; }
    void saveCheckpoint();

private:
    // A batch corrupted for inpainting (with probability inpaintFraction) or
    // denoising, drawing from `random` (and torch's generator for noise).
    struct CorruptedBatch {
        Task task = Task::Denoise;
        torch::Tensor observed;
        torch::Tensor known; // inpainting only
        double sigma = 0;    // denoising only
    };
    CorruptedBatch corrupt(const torch::Tensor& clean, std::mt19937_64& random, double inpaintFraction) const;
    std::unique_ptr<RestorationObjective> objectiveFor(const CorruptedBatch& batch) const;
    double trainStep(bool stopRequested);
    bool isLeader() const;
    void keepIfBest(double validationPsnr);
    // Records the data and step count in the model, as every written model carries them.
    void stampProvenance();
    // The warm-up loss: h after unrollDepth applications of f at x.
    torch::Tensor unrolledLoss(const torch::Tensor& latent, const StateLayout& layout, const torch::Tensor& clean);

    DeqModel model_;
    TrainingOptions options_;
    std::unique_ptr<TrainingSource> data_;
    std::string checkpointPath_;
    std::unique_ptr<torch::optim::Adam> optimizer_;
    std::mt19937_64 random_;
    int step_ = 0;
    int skippedSteps_ = 0;
    int unconvergedSteps_ = 0;
    double lastAdjointResidual_ = std::nan("");
    double bestValidation_ = std::nan("");
    int bestStep_ = 0;
    TrainingSamples samples_;
    std::vector<ValidationPart> validationParts_;
    std::shared_ptr<DataParallel> parallel_;
    bool stopAgreed_ = false; // data-parallel: the ranks agreed to stop after this step
};

} // namespace jiio
