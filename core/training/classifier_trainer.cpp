#include "training/classifier_trainer.h"

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

constexpr int64_t kValidationBatch = 500;

// The rows `index` of `set`, on `device`.
LabelledImages pick(const LabelledImages& set, const torch::Tensor& index, const torch::Device& device)
{
    return {set.images.index_select(0, index).to(device), set.labels.index_select(0, index).to(device)};
}

torch::Tensor crossEntropyMean(const torch::Tensor& logits, const torch::Tensor& labels)
{
    return torch::nn::functional::cross_entropy(logits, labels);
}

} // namespace

FixedPointOptions ClassifierTrainingOptions::forward() const
{
    FixedPointOptions options;
    options.method = FixedPointMethod::Anderson;
    options.maxIterations = forwardIterations;
    options.tolerance = forwardTolerance;
    return options;
}

std::string ClassifierTrainingOptions::toText() const
{
    auto out = classicStream();
    out.precision(17);
    out << "steps = " << steps << "\nbatch_size = " << batchSize << "\nlearning_rate = " << learningRate
        << "\ngradient_clip = " << gradientClip << "\njacobian_weight = " << jacobianWeight
        << "\ngain_weight = " << gainWeight << "\ngain_target = " << gainTarget
        << "\nforward_iterations = " << forwardIterations << "\nforward_tolerance = " << forwardTolerance
        << "\nadjoint_iterations = " << adjointIterations << "\nadversarial = " << (adversarial ? 1 : 0)
        << "\nattack_norm = " << int(attack.norm) << "\nattack_eps = " << attack.eps
        << "\nattack_solver = " << int(attack.solver) << "\nattack_iterations = " << attack.iterations
        << "\nattack_step = " << attack.stepSize << "\ncheckpoint_every = " << checkpointEvery
        << "\nvalidate_every = " << validateEvery << "\nseed = " << seed << "\n";
    return out.str();
}

ClassifierTrainingOptions ClassifierTrainingOptions::fromText(const std::string& text)
{
    ClassifierTrainingOptions options;
    const auto values = readOptionNumbers(text);
    auto set = [&](const char* key, auto& field) {
        if (auto it = values.find(key); it != values.end())
            field = static_cast<std::decay_t<decltype(field)>>(it->second);
    };
    set("steps", options.steps);
    set("batch_size", options.batchSize);
    set("learning_rate", options.learningRate);
    set("gradient_clip", options.gradientClip);
    set("jacobian_weight", options.jacobianWeight);
    set("gain_weight", options.gainWeight);
    set("gain_target", options.gainTarget);
    set("forward_iterations", options.forwardIterations);
    set("forward_tolerance", options.forwardTolerance);
    set("adjoint_iterations", options.adjointIterations);
    set("adversarial", options.adversarial);
    int norm = int(options.attack.norm), solver = int(options.attack.solver);
    set("attack_norm", norm);
    set("attack_solver", solver);
    if (norm < 0 || norm > 1 || solver < 0 || solver > 2)
        throw Error("training options: unknown attack norm or solver");
    options.attack.norm = AttackNorm(norm);
    options.attack.solver = AttackSolver(solver);
    set("attack_eps", options.attack.eps);
    set("attack_iterations", options.attack.iterations);
    set("attack_step", options.attack.stepSize);
    set("checkpoint_every", options.checkpointEvery);
    set("validate_every", options.validateEvery);
    if (auto it = values.find("seed"); it != values.end())
        options.seed = uint64_t(it->second);
    return options;
}

ClassifierTrainer::ClassifierTrainer(DeqModel model, ClassifierTrainingOptions options, LabelledImages training,
                                     LabelledImages validation, std::string checkpointPath)
    : model_(std::move(model)), options_(std::move(options)), training_(std::move(training)),
      validation_(std::move(validation)), checkpointPath_(std::move(checkpointPath)), random_(options_.seed)
{
    if (model_->config().kind != ModelKind::Classifier)
        throw Error("this is a " + toString(model_->config().kind) + " model; classification trains classifiers");
    if (options_.steps < 1 || options_.batchSize < 1)
        throw Error("training needs at least one step and a batch of at least one");
    if (training_.size() == 0 || validation_.size() == 0)
        throw Error("classifier training needs training and validation images");
    if (options_.adversarial)
        options_.attack.validate();
    options_.attack.inner = options_.forward();
    counters_.steps = options_.steps;
    optimizer_ = std::make_unique<torch::optim::Adam>(model_->parameters(),
                                                      torch::optim::AdamOptions(options_.learningRate));
    torch::manual_seed(options_.seed);
}

void ClassifierTrainer::useDataParallel(std::shared_ptr<DataParallel> parallel)
{
    if (parallel)
        parallel->shard(options_.batchSize); // throws when the batch does not divide among the ranks
    parallel_ = std::move(parallel);
}

void ClassifierTrainer::placeOn(const torch::Device& device)
{
    placeTraining(model_, *optimizer_, device);
}

double ClassifierTrainer::computeGradients()
{
    model_->train();
    std::uniform_int_distribution<int64_t> draw(0, training_.size() - 1);
    std::vector<int64_t> index(size_t(options_.batchSize));
    for (auto& i : index)
        i = draw(random_);
    int64_t firstRow = 0;
    if (parallel_) { // the global batch was drawn alike everywhere; this rank trains on its rows
        const auto [begin, end] = parallel_->shard(int64_t(index.size()));
        index = std::vector<int64_t>(index.begin() + begin, index.begin() + end);
        firstRow = begin;
    }
    const auto batch = pick(training_, torch::tensor(index), modelDevice(model_));
    const auto layout = classifierLayout(model_, batch.images);

    torch::Tensor perturbation = torch::zeros({batch.images.size(0), layout.latentSize}, batch.images.options());
    torch::Tensor state;
    if (options_.adversarial) {
        AttackOptions attack = options_.attack;
        attack.randomStart = true;
        attack.seed = random_();
        attack.startRows = options_.batchSize; // this rank's rows of the whole batch's start
        attack.startRowOffset = firstRow;
        NullObserver quiet;
        auto attacked = attackClassifier(model_, batch.images, batch.labels, attack, quiet);
        perturbation = attacked.perturbation;
        state = attacked.attacked.state; // the equilibrium of the attacked batch
    } else {
        state = classifyAt(model_, layout, perturbation, options_.forward()).state;
    }

    optimizer_->zero_grad();
    FixedPointOptions adjoint;
    adjoint.maxIterations = options_.adjointIterations;
    adjoint.tolerance = 1e-4;
    const auto loss = [&](const torch::Tensor& logits) { return crossEntropyMean(logits, batch.labels); };
    const auto backward = implicitBackward(model_, layout, state, perturbation, loss, adjoint);
    lastAdjointResidual_ = backward.adjoint.residual;
    if (options_.jacobianWeight > 0 || options_.gainWeight > 0) {
        const auto graph = cellGraph(model_, layout, state, perturbation);
        contractionPenalty(graph, options_.jacobianWeight, options_.gainWeight, options_.gainTarget).backward();
    }
    return backward.loss.item<double>();
}

void ClassifierTrainer::applyGradients(double loss)
{
    if (!clippedAdamStep(*optimizer_, model_->parameters(), options_.gradientClip,
                         cosineLearningRate(options_.learningRate, counters_.step, options_.steps), loss))
        ++skippedSteps_;
}

double ClassifierTrainer::validate()
{
    model_->eval();
    int64_t correct = 0;
    for (int64_t first = 0; first < validation_.size(); first += kValidationBatch) {
        const int64_t count = std::min(kValidationBatch, validation_.size() - first);
        const auto rows = pick(validation_, torch::arange(first, first + count), modelDevice(model_));
        const auto layout = classifierLayout(model_, rows.images);
        const auto result = classifyAt(model_, layout, torch::zeros({count, layout.latentSize}, rows.images.options()),
                                       options_.forward());
        correct += result.logits.argmax(1).eq(rows.labels).sum().item<int64_t>();
    }
    return 100.0 * double(correct) / double(validation_.size());
}

void ClassifierTrainer::stampProvenance()
{
    model_->setProvenance("training_data", "Fashion-MNIST (" + std::to_string(training_.size()) + " training, "
                                               + std::to_string(validation_.size()) + " validation images)");
    model_->setProvenance("training_steps", std::to_string(counters_.step));
    model_->setProvenance("training_seconds", formatDouble(std::round(counters_.seconds)));
    model_->setProvenance("training", options_.adversarial ? "adversarial, " + toString(options_.attack.solver)
                                                                 + " " + toString(options_.attack.norm) + " eps "
                                                                 + formatDouble(options_.attack.eps)
                                                           : "standard");
}

void ClassifierTrainer::saveCheckpoint()
{
    stampProvenance();
    saveModel(checkpointPath_, model_, [&](torch::serialize::OutputArchive& archive) {
        writeTrainingState(archive,
                           {counters_.step, options_.toText(), counters_.bestScore, counters_.bestStep,
                            counters_.seconds},
                           *optimizer_, random_);
    });
}

ClassifierTrainer ClassifierTrainer::resume(const std::string& checkpointPath, LabelledImages training,
                                            LabelledImages validation)
{
    std::optional<ReadTrainingState> saved;
    auto loaded = loadModel(checkpointPath, [&](torch::serialize::InputArchive& archive) {
        saved = readTrainingState(archive, checkpointPath);
    });
    ClassifierTrainer trainer(loaded.model, ClassifierTrainingOptions::fromText(saved->state.optionsText),
                              std::move(training), std::move(validation), checkpointPath);
    saved->restoreTorchRandom(); // after the constructor, which seeds the generator
    trainer.optimizer_->load(saved->optimizer);
    trainer.counters_.step = saved->state.step;
    trainer.counters_.bestScore = saved->state.bestScore;
    trainer.counters_.bestStep = saved->state.bestStep;
    trainer.counters_.seconds = saved->state.seconds;
    trainer.random_ = saved->random;
    return trainer;
}

TrainingProgress ClassifierTrainer::run(TrainingObserver& observer)
{
    return runTrainingLoop(counters_, accuracyTrainerHooks(*this), observer);
}

ClassifierData fashionMnistTrainingData(const std::string& folder, int validationImages)
{
    auto all = loadFashionMnist(folder, FashionMnistSplit::Training);
    const int64_t held = std::min<int64_t>(validationImages, all.size() / 2);
    const int64_t kept = all.size() - held;
    return {{all.images.narrow(0, 0, kept), all.labels.narrow(0, 0, kept)},
            {all.images.narrow(0, kept, held), all.labels.narrow(0, kept, held)}};
}

} // namespace jiio
