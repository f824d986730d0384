#pragma once
#include "models/deq_model.h"
#include "tasks/meta/adaptation.h"
#include "tasks/meta/meta_gradient.h"
#include "training/training_loop.h"

#include <memory>
#include <random>
#include <string>

namespace jiio {

// How a few-shot model is meta-trained: each step draws episodes from the
// training pool, adapts the task vector to each support set (JIIO), and takes
// an Adam step on the query loss's meta-gradient (first order by default, or
// implicit).
struct MetaTrainingOptions {
    int steps = 2000;
    int episodesPerStep = 2;
    int ways = 5;
    int shots = 5;
    int queries = 15; // per class
    AdaptationOptions adaptation;
    MetaGradientOptions meta;
    double learningRate = 1e-3; // cosine-annealed to zero over `steps`
    double gradientClip = 1.0;
    double jacobianWeight = 0.1;
    double gainWeight = 10.0;
    double gainTarget = 0.8;
    int validationEpisodes = 40;
    int checkpointEvery = 100;
    int validateEvery = 100;
    uint64_t seed = 0;

    MetaTrainingOptions();
    std::string toText() const;
    static MetaTrainingOptions fromText(const std::string& text);
};

// Trains a ModelKind::FewShot model on episodes of `training`, validating the
// adapted query accuracy on fixed episodes of `validation` (same classes,
// other images); the best validation's model is kept beside the checkpoint.
class MetaTrainer {
public:
    MetaTrainer(DeqModel model, MetaTrainingOptions options, FewShotPool training, FewShotPool validation,
                std::string checkpointPath);
    static MetaTrainer resume(const std::string& checkpointPath, FewShotPool training, FewShotPool validation);

    // Progress reports the step's query cross-entropy as its loss and the
    // validation accuracy in percent.
    TrainingProgress run(TrainingObserver& observer);
    // Makes this trainer one rank of a data-parallel run (null: alone): every
    // rank draws the same episodes and trains on its share of them. Throws
    // jiio::Error when the episodes per step do not divide among the ranks.
    void useDataParallel(std::shared_ptr<DataParallel> parallel);
    // Computes on `device` from here on (the model, Adam's moments and every
    // batch; checkpoints read back on any device). Throws jiio::Error for a GPU
    // this build or machine lacks.
    void placeOn(const torch::Device& device);
    double validate();
    void saveCheckpoint();

    int step() const { return counters_.step; }
    const MetaTrainingOptions& options() const { return options_; }
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
    MetaTrainingOptions options_;
    FewShotPool training_, validation_;
    std::string checkpointPath_;
    std::unique_ptr<torch::optim::Adam> optimizer_;
    std::mt19937_64 random_;
    TrainingCounters counters_;
    double lastAdjointResidual_ = std::nan("");
    std::shared_ptr<DataParallel> parallel_;
    int skippedSteps_ = 0; // updates skipped for a non-finite loss or gradient, this session
};

} // namespace jiio
