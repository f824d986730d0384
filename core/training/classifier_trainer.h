#pragma once
#include "io/fashion_mnist.h"
#include "models/deq_model.h"
#include "tasks/adversarial/attack.h"
#include "training/training_loop.h"

#include <memory>
#include <random>
#include <string>

namespace jiio {

// How a classifier is trained: standard (clean images) or adversarially, each
// step attacking the batch with `attack` (JIIO or PGD, random start) and
// training on the attacked images. Gradients are implicit either way.
struct ClassifierTrainingOptions {
    int steps = 3000;
    int batchSize = 64;
    double learningRate = 2e-3; // cosine-annealed to zero over `steps`
    double gradientClip = 1.0;
    double jacobianWeight = 0.1;
    double gainWeight = 10.0;
    double gainTarget = 0.8;
    int forwardIterations = 30;
    double forwardTolerance = 1e-4;
    int adjointIterations = 20;
    bool adversarial = false;
    AttackOptions attack; // adversarial training's attack
    int checkpointEvery = 200;
    int validateEvery = 200;
    uint64_t seed = 0;

    FixedPointOptions forward() const;
    std::string toText() const;
    static ClassifierTrainingOptions fromText(const std::string& text);
};

// Trains a classifier model (ModelKind::Classifier) on labelled images
// [N, C, S, S] in [0, 1], validating accuracy on a held-out set; the best
// validation accuracy's model is kept beside the checkpoint as for Trainer.
class ClassifierTrainer {
public:
    ClassifierTrainer(DeqModel model, ClassifierTrainingOptions options, LabelledImages training,
                      LabelledImages validation, std::string checkpointPath);
    static ClassifierTrainer resume(const std::string& checkpointPath, LabelledImages training,
                                    LabelledImages validation);

    // Runs until the step budget or a stop request; progress reports the
    // step's cross-entropy as its loss and accuracies in percent.
    TrainingProgress run(TrainingObserver& observer);
    // Makes this trainer one rank of a data-parallel run (null: alone): every
    // rank draws the same global batch and trains on its rows. Throws
    // jiio::Error when the batch does not divide among the ranks.
    void useDataParallel(std::shared_ptr<DataParallel> parallel);
    // Computes on `device` from here on (the model, Adam's moments and every
    // batch; checkpoints read back on any device). Throws jiio::Error for a GPU
    // this build or machine lacks.
    void placeOn(const torch::Device& device);
    // Accuracy on the validation set in percent (clean images).
    double validate();
    void saveCheckpoint();

    int step() const { return counters_.step; }
    const ClassifierTrainingOptions& options() const { return options_; }
    DeqModel& model() { return model_; }
    double bestValidationAccuracy() const { return counters_.bestScore; }
    int bestStep() const { return counters_.bestStep; }
    std::string bestModelPath() const { return bestModelPathFor(checkpointPath_); }
    double trainingSeconds() const { return counters_.seconds; }

private:
    template <class AccuracyTrainer>
    friend TrainingHooks accuracyTrainerHooks(AccuracyTrainer& trainer);

    double computeGradients();
    void applyGradients(double loss);
    void stampProvenance();

    DeqModel model_;
    ClassifierTrainingOptions options_;
    LabelledImages training_, validation_;
    std::string checkpointPath_;
    std::unique_ptr<torch::optim::Adam> optimizer_;
    std::mt19937_64 random_;
    TrainingCounters counters_;
    double lastAdjointResidual_ = std::nan("");
    std::shared_ptr<DataParallel> parallel_;
    int skippedSteps_ = 0; // updates skipped for a non-finite loss or gradient, this session
};

// Fashion-MNIST's training split as training and validation sets: the last
// `validationImages` training images are held out (the test split stays for
// evaluation alone). A thousand keep a validation to seconds; the accuracy
// is then known to about +-1 point.
struct ClassifierData {
    LabelledImages training, validation;
};
ClassifierData fashionMnistTrainingData(const std::string& folder, int validationImages = 1000);

} // namespace jiio
