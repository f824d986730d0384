#include "training/meta_trainer.h"

#include "error.h"
#include "jiio/implicit_diff.h"
#include "models/checkpoint.h"
#include "models/model_device.h"
#include "numbers.h"
#include "training/data_parallel.h"
#include "training/training_state.h"

#include <map>
#include <optional>
#include <sstream>

namespace jiio {

namespace {

// Validation episodes come from their own seeds, the same at every validation.
constexpr uint64_t kValidationSeed = 0x5eed0fe1;

} // namespace

MetaTrainingOptions::MetaTrainingOptions()
{
    adaptation.iterations = 15;
    // In float32 the implicit meta-gradient's finite-difference products are
    // still too noisy to train with: a 5-way 5-shot run's validation fell
    // from 76.5 % to 57.8 % in 100 steps, where first order rose to 83.7 %
    // in 300 (README, few-shot section).
    meta.firstOrder = true;
}

std::string MetaTrainingOptions::toText() const
{
    auto out = classicStream();
    out.precision(17);
    out << "steps = " << steps << "\nepisodes_per_step = " << episodesPerStep << "\nways = " << ways
        << "\nshots = " << shots << "\nqueries = " << queries << "\ninner_method = " << int(adaptation.method)
        << "\ninner_iterations = " << adaptation.iterations << "\ninner_tolerance = " << adaptation.tolerance
        << "\ninner_lambda = " << adaptation.lambda << "\ninner_step = " << adaptation.taskStep
        << "\ninner_gram_weight = " << adaptation.taskGramWeight << "\ninner_mix_task = " << (adaptation.mixTask ? 1 : 0)
        << "\nfirst_order = " << (meta.firstOrder ? 1 : 0) << "\ncg_iterations = " << meta.cgIterations
        << "\nhvp_step = " << meta.hvpStep << "\nlearning_rate = " << learningRate
        << "\ngradient_clip = " << gradientClip << "\njacobian_weight = " << jacobianWeight
        << "\ngain_weight = " << gainWeight << "\ngain_target = " << gainTarget
        << "\nvalidation_episodes = " << validationEpisodes << "\ncheckpoint_every = " << checkpointEvery
        << "\nvalidate_every = " << validateEvery << "\nseed = " << seed << "\n";
    return out.str();
}

MetaTrainingOptions MetaTrainingOptions::fromText(const std::string& text)
{
    MetaTrainingOptions options;
    const auto values = readOptionNumbers(text);
    auto set = [&](const char* key, auto& field) {
        if (auto it = values.find(key); it != values.end())
            field = static_cast<std::decay_t<decltype(field)>>(it->second);
    };
    set("steps", options.steps);
    set("episodes_per_step", options.episodesPerStep);
    set("ways", options.ways);
    set("shots", options.shots);
    set("queries", options.queries);
    int method = int(options.adaptation.method);
    set("inner_method", method);
    if (method < 0 || method > int(InputMethod::NaiveGradientDescent))
        throw Error("training options: unknown inner method");
    options.adaptation.method = InputMethod(method);
    set("inner_iterations", options.adaptation.iterations);
    set("inner_tolerance", options.adaptation.tolerance);
    set("inner_lambda", options.adaptation.lambda);
    set("inner_step", options.adaptation.taskStep);
    // Runs written before these existed mixed v like any other number.
    options.adaptation.taskGramWeight = 1.0;
    options.adaptation.mixTask = true;
    set("inner_gram_weight", options.adaptation.taskGramWeight);
    set("inner_mix_task", options.adaptation.mixTask);
    set("first_order", options.meta.firstOrder);
    set("cg_iterations", options.meta.cgIterations);
    set("hvp_step", options.meta.hvpStep);
    set("learning_rate", options.learningRate);
    set("gradient_clip", options.gradientClip);
    set("jacobian_weight", options.jacobianWeight);
    set("gain_weight", options.gainWeight);
    set("gain_target", options.gainTarget);
    set("validation_episodes", options.validationEpisodes);
    set("checkpoint_every", options.checkpointEvery);
    set("validate_every", options.validateEvery);
    if (auto it = values.find("seed"); it != values.end())
        options.seed = uint64_t(it->second);
    return options;
}

MetaTrainer::MetaTrainer(DeqModel model, MetaTrainingOptions options, FewShotPool training, FewShotPool validation,
                         std::string checkpointPath)
    : model_(std::move(model)), options_(std::move(options)), training_(std::move(training)),
      validation_(std::move(validation)), checkpointPath_(std::move(checkpointPath)), random_(options_.seed)
{
    if (model_->config().kind != ModelKind::FewShot)
        throw Error("this is a " + toString(model_->config().kind) + " model; meta-learning trains fewshot models");
    if (options_.steps < 1 || options_.episodesPerStep < 1)
        throw Error("meta-training needs at least one step and one episode per step");
    if (options_.ways > model_->config().classes)
        throw Error(std::to_string(options_.ways) + "-way episodes, but the model reads out at most "
                    + std::to_string(model_->config().classes) + " classes");
    options_.adaptation.validate();
    counters_.steps = options_.steps;
    optimizer_ = std::make_unique<torch::optim::Adam>(model_->parameters(),
                                                      torch::optim::AdamOptions(options_.learningRate));
    torch::manual_seed(options_.seed);
}

void MetaTrainer::useDataParallel(std::shared_ptr<DataParallel> parallel)
{
    if (parallel)
        parallel->shard(options_.episodesPerStep); // throws when the episodes do not divide among the ranks
    parallel_ = std::move(parallel);
}

void MetaTrainer::placeOn(const torch::Device& device)
{
    placeTraining(model_, *optimizer_, device);
}

double MetaTrainer::computeGradients()
{
    model_->train();
    std::vector<Episode> episodes;
    for (int e = 0; e < options_.episodesPerStep; ++e)
        episodes.push_back(
            drawEpisode(training_, options_.ways, options_.shots, options_.queries, random_(), modelDevice(model_)));
    if (parallel_) { // every rank drew the same episodes; this one trains on its share
        const auto [begin, end] = parallel_->shard(int64_t(episodes.size()));
        episodes = std::vector<Episode>(episodes.begin() + begin, episodes.begin() + end);
    }
    NullObserver quiet;
    const auto adaptation = adaptTaskVectors(model_, episodes, options_.adaptation, quiet);

    optimizer_->zero_grad();
    const double lambda = options_.adaptation.lambdaFor(model_);
    const auto meta = metaBackward(model_, episodes, adaptation, lambda, options_.meta);
    lastAdjointResidual_ = meta.adjointResidual;
    if (options_.jacobianWeight > 0 || options_.gainWeight > 0) {
        const auto support = supportRows(episodes);
        const auto layout = fewShotLayout(model_, support.images);
        const auto graph = cellGraph(model_, layout, adaptation.state,
                                     adaptation.tasks.repeat_interleave(support.perEpisode, 0));
        contractionPenalty(graph, options_.jacobianWeight, options_.gainWeight, options_.gainTarget).backward();
    }
    return meta.queryLoss;
}

void MetaTrainer::applyGradients(double loss)
{
    if (!clippedAdamStep(*optimizer_, model_->parameters(), options_.gradientClip,
                         cosineLearningRate(options_.learningRate, counters_.step, options_.steps), loss))
        ++skippedSteps_;
}

double MetaTrainer::validate()
{
    model_->eval();
    double correct = 0;
    for (int e = 0; e < options_.validationEpisodes; ++e) {
        const std::vector<Episode> episode{
            drawEpisode(validation_, options_.ways, options_.shots, options_.queries, kValidationSeed + e,
                        modelDevice(model_))};
        NullObserver quiet;
        const auto adaptation = adaptTaskVectors(model_, episode, options_.adaptation, quiet);
        const auto queries = queryRows(episode);
        correct += accuracyPercent(classifyWithTasks(model_, queries, adaptation.tasks, fewShotForward()).logits,
                                   queries.labels);
    }
    return correct / std::max(options_.validationEpisodes, 1);
}

void MetaTrainer::stampProvenance()
{
    model_->setProvenance("training_data", training_.name + "; validation: " + validation_.name);
    model_->setProvenance("training_steps", std::to_string(counters_.step));
    model_->setProvenance("training_seconds", formatDouble(std::round(counters_.seconds)));
    model_->setProvenance("training", std::string("meta-learning, ") + std::to_string(options_.ways) + "-way "
                                          + std::to_string(options_.shots) + "-shot, "
                                          + toString(options_.adaptation.method) + " inner loop, "
                                          + (options_.meta.firstOrder ? "first-order" : "implicit")
                                          + " meta-gradient");
}

void MetaTrainer::saveCheckpoint()
{
    stampProvenance();
    saveModel(checkpointPath_, model_, [&](torch::serialize::OutputArchive& archive) {
        writeTrainingState(archive,
                           {counters_.step, options_.toText(), counters_.bestScore, counters_.bestStep,
                            counters_.seconds},
                           *optimizer_, random_);
    });
}

MetaTrainer MetaTrainer::resume(const std::string& checkpointPath, FewShotPool training, FewShotPool validation)
{
    std::optional<ReadTrainingState> saved;
    auto loaded = loadModel(checkpointPath, [&](torch::serialize::InputArchive& archive) {
        saved = readTrainingState(archive, checkpointPath);
    });
    MetaTrainer trainer(loaded.model, MetaTrainingOptions::fromText(saved->state.optionsText), std::move(training),
                        std::move(validation), checkpointPath);
    saved->restoreTorchRandom(); // after the constructor, which seeds the generator
    trainer.optimizer_->load(saved->optimizer);
    trainer.counters_.step = saved->state.step;
    trainer.counters_.bestScore = saved->state.bestScore;
    trainer.counters_.bestStep = saved->state.bestStep;
    trainer.counters_.seconds = saved->state.seconds;
    trainer.random_ = saved->random;
    return trainer;
}

TrainingProgress MetaTrainer::run(TrainingObserver& observer)
{
    return runTrainingLoop(counters_, accuracyTrainerHooks(*this), observer);
}

} // namespace jiio
