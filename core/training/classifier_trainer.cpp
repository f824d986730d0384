#include "training/classifier_trainer.h"

#include "error.h"
#include "jiio/implicit_diff.h"
#include "models/checkpoint.h"
#include "numbers.h"
#include "training/training_state.h"

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>

namespace jiio {

namespace {

constexpr int64_t kValidationBatch = 500;

LabelledImages pick(const LabelledImages& set, const torch::Tensor& index)
{
    return {set.images.index_select(0, index), set.labels.index_select(0, index)};
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
    std::map<std::string, double> values;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        const auto eq = line.find(" = ");
        if (eq == std::string::npos)
            continue;
        const auto number = parseDouble(line.substr(eq + 3));
        if (!number)
            throw Error("training options: '" + line.substr(0, eq) + "' is not a number");
        values[line.substr(0, eq)] = *number;
    }
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
    optimizer_ = std::make_unique<torch::optim::Adam>(model_->parameters(),
                                                      torch::optim::AdamOptions(options_.learningRate));
    torch::manual_seed(options_.seed);
}

double ClassifierTrainer::trainStep()
{
    model_->train();
    std::uniform_int_distribution<int64_t> draw(0, training_.size() - 1);
    std::vector<int64_t> index(size_t(options_.batchSize));
    for (auto& i : index)
        i = draw(random_);
    const auto batch = pick(training_, torch::tensor(index));
    const auto layout = classifierLayout(model_, batch.images);

    torch::Tensor perturbation = torch::zeros({batch.images.size(0), layout.latentSize}, batch.images.options());
    torch::Tensor state;
    if (options_.adversarial) {
        AttackOptions attack = options_.attack;
        attack.randomStart = true;
        attack.seed = random_();
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
        torch::Tensor penalty = torch::zeros({}, graph.state.options());
        if (options_.jacobianWeight > 0)
            penalty = penalty + options_.jacobianWeight * jacobianFrobeniusEstimate(graph).mean();
        if (options_.gainWeight > 0)
            penalty = penalty + gainPenalty(graph, options_.gainWeight, options_.gainTarget);
        penalty.backward();
    }
    const double norm = torch::nn::utils::clip_grad_norm_(model_->parameters(), options_.gradientClip);
    setLearningRate(*optimizer_, cosineLearningRate(options_.learningRate, step_, options_.steps));
    const double value = backward.loss.item<double>();
    if (std::isfinite(value) && std::isfinite(norm)) // a diverged solve must not poison Adam's moments
        optimizer_->step();
    ++step_;
    return value;
}

double ClassifierTrainer::validate()
{
    model_->eval();
    int64_t correct = 0;
    for (int64_t first = 0; first < validation_.size(); first += kValidationBatch) {
        const int64_t count = std::min(kValidationBatch, validation_.size() - first);
        const auto images = validation_.images.narrow(0, first, count);
        const auto layout = classifierLayout(model_, images);
        const auto result = classifyAt(model_, layout, torch::zeros({count, layout.latentSize}), options_.forward());
        correct += result.logits.argmax(1).eq(validation_.labels.narrow(0, first, count)).sum().item<int64_t>();
    }
    return 100.0 * double(correct) / double(validation_.size());
}

std::string ClassifierTrainer::bestModelPath() const
{
    const std::filesystem::path checkpoint(checkpointPath_);
    return (checkpoint.parent_path() / (checkpoint.stem().string() + "-best" + checkpoint.extension().string()))
        .string();
}

void ClassifierTrainer::stampProvenance()
{
    model_->setProvenance("training_data", "Fashion-MNIST (" + std::to_string(training_.size()) + " training, "
                                               + std::to_string(validation_.size()) + " validation images)");
    model_->setProvenance("training_steps", std::to_string(step_));
    model_->setProvenance("training_seconds", formatDouble(std::round(trainingSeconds_)));
    model_->setProvenance("training", options_.adversarial ? "adversarial, " + toString(options_.attack.solver)
                                                                 + " " + toString(options_.attack.norm) + " eps "
                                                                 + formatDouble(options_.attack.eps)
                                                           : "standard");
}

void ClassifierTrainer::saveCheckpoint()
{
    stampProvenance();
    saveModel(checkpointPath_, model_, [&](torch::serialize::OutputArchive& archive) {
        writeTrainingState(archive, {step_, options_.toText(), bestAccuracy_, bestStep_, trainingSeconds_},
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
    trainer.step_ = saved->state.step;
    trainer.bestAccuracy_ = saved->state.bestScore;
    trainer.bestStep_ = saved->state.bestStep;
    trainer.trainingSeconds_ = saved->state.seconds;
    trainer.random_ = saved->random;
    return trainer;
}

TrainingProgress ClassifierTrainer::run(TrainingObserver& observer)
{
    TrainingProgress progress;
    progress.steps = options_.steps;
    progress.step = step_;
    const auto start = std::chrono::steady_clock::now();
    const double secondsBefore = trainingSeconds_;
    const int firstStep = step_;
    while (step_ < options_.steps && !observer.stopRequested()) {
        progress.loss = trainStep();
        progress.adjointResidual = lastAdjointResidual_;
        progress.step = step_;
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        trainingSeconds_ = secondsBefore + elapsed;
        progress.stepsPerSecond = (step_ - firstStep) / std::max(elapsed, 1e-9);
        progress.etaSeconds = (options_.steps - step_) / std::max(progress.stepsPerSecond, 1e-9);
        progress.learningRate = optimizer_->param_groups().front().options().get_lr();
        progress.validationAccuracy = std::nan("");
        if (options_.validateEvery > 0 && (step_ % options_.validateEvery == 0 || step_ == options_.steps)) {
            progress.validationAccuracy = validate();
            if (!std::isfinite(bestAccuracy_) || progress.validationAccuracy > bestAccuracy_) {
                bestAccuracy_ = progress.validationAccuracy;
                bestStep_ = step_;
                stampProvenance();
                saveModel(bestModelPath(), model_);
            }
        }
        observer.onProgress(progress);
        if (options_.checkpointEvery > 0 && step_ % options_.checkpointEvery == 0 && step_ < options_.steps) {
            saveCheckpoint();
            observer.onCheckpoint(step_, checkpointPath_);
        }
    }
    saveCheckpoint();
    observer.onCheckpoint(step_, checkpointPath_);
    return progress;
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
