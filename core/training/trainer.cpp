#include "training/trainer.h"

#include "error.h"
#include "io/metrics.h"
#include "jiio/bilevel_gradient.h"
#include "jiio/implicit_diff.h"
#include "jiio/solve_defaults.h"
#include "models/checkpoint.h"
#include "models/model_device.h"
#include "numbers.h"
#include "tasks/restoration/corruption.h"
#include "tasks/restoration/delivered_error.h"
#include "tasks/restoration/known_pixels.h"
#include "tasks/restoration/restoration_layout.h"
#include "training/data_parallel.h"
#include "training/training_log.h"
#include "training/training_state.h"

#include <chrono>
#include <filesystem>
#include <optional>
#include <sstream>

namespace jiio {

namespace {

// The delivered error (MSE on the [-1, 1] range) whose gradient the decibel
// loss leaves as it is: 0.01 is 26 dB, about a validation's mean; a step at
// 31 dB has its gradient scaled up about three times, one at 21 dB down.
constexpr double kDecibelReference = 0.01;

// The same corruption as a user's: masks of varied kinds, Gaussian noise.
torch::Tensor randomKnownMask(int64_t batch, int64_t side, std::mt19937_64& random)
{
    std::uniform_int_distribution<int> kind(0, 2);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    std::vector<torch::Tensor> masks;
    for (int64_t i = 0; i < batch; ++i) {
        const auto maskKind = MaskKind(kind(random));
        const double amount = maskKind == MaskKind::Blocks    ? 4 + unit(random) * side / 3.0
                              : maskKind == MaskKind::Strokes ? 2 + unit(random) * 10
                                                              : 0.2 + 0.6 * unit(random);
        cv::Mat missing = makeMask(int(side), int(side), maskKind, amount, random());
        auto tensor = torch::from_blob(missing.data, {1, 1, side, side}, torch::kUInt8).eq(0).to(torch::kFloat32);
        masks.push_back(tensor.clone());
    }
    return torch::cat(masks);
}

// The lowest relative state residual of a solve.
class LowestResidual final : public SolveObserver {
public:
    void onIteration(const IterationStats& stats) override
    {
        if (std::isfinite(stats.residualZ))
            lowest = std::min(lowest, stats.residualZ);
    }
    double lowest = std::numeric_limits<double>::infinity();
};

double psnrOf(const torch::Tensor& prediction, const torch::Tensor& clean)
{
    // In [0, 1] units: the normalised range [-1, 1] halves the error.
    const double mse = (prediction.clamp(-1, 1) - clean).square().mean().item<double>() / 4.0;
    return 10.0 * std::log10(1.0 / std::max(mse, 1e-12));
}

} // namespace

torch::Tensor addSavedGaussianNoise(const torch::Tensor& clean, double sigma, const torch::Tensor& standardNoise)
{
    const auto noisy = clean + (2.0 * sigma / 255.0) * standardNoise;
    return ((noisy.clamp(-1, 1) + 1) * 127.5).round() / 127.5 - 1;
}

torch::Tensor addSavedGaussianNoise(const torch::Tensor& clean, double sigma)
{
    return addSavedGaussianNoise(clean, sigma, randnLikeFromCpu(clean));
}

std::string TrainingOptions::toText() const
{
    auto out = classicStream();
    out.precision(17);
    out << "steps = " << steps << "\nbatch_size = " << batchSize << "\nlearning_rate = " << learningRate
        << "\ngradient_clip = " << gradientClip << "\njacobian_weight = " << jacobianWeight
        << "\ngain_weight = " << gainWeight << "\ngain_target = " << gainTarget
        << "\ninpaint_fraction = " << inpaintFraction << "\nsigma_min = " << sigmaMin << "\nsigma_max = " << sigmaMax
        << "\nadjoint_iterations = " << adjointIterations << "\ncheckpoint_every = " << checkpointEvery
        << "\nvalidate_every = " << validateEvery << "\nseed = " << seed << "\njiio_alpha_x = " << jiio.alphaX
        << "\njiio_alpha_x_late = " << jiio.alphaXLate << "\nunrolled_steps = " << unrolledSteps
        << "\nunroll_depth = " << unrollDepth << "\nmax_state_residual = " << maxStateResidual
        << "\nbilevel = " << (bilevel ? 1 : 0) << "\nbilevel_cg_iterations = " << bilevelCgIterations
        << "\ndecibel_loss = " << (decibelLoss ? 1 : 0) << "\n";
    return out.str();
}

Trainer::Trainer(DeqModel model, TrainingOptions options, std::unique_ptr<TrainingSource> data,
                 std::string checkpointPath)
    : model_(std::move(model)), options_(std::move(options)), data_(std::move(data)),
      checkpointPath_(std::move(checkpointPath)), random_(options_.seed)
{
    if (options_.steps < 1 || options_.batchSize < 1)
        throw Error("training needs at least one step and a batch of at least one");
    if (options_.unrolledSteps > 0 && options_.unrollDepth < 1)
        throw Error("unrolled warm-up needs a depth of at least one");
    options_.jiio.maxIterations = model_->config().jiioIterations;
    if (options_.bilevel) {
        if (options_.bilevelCgIterations < 1)
            throw Error("bilevel training needs at least one conjugate-gradient iteration");
        const auto deployed = solveDefaults(model_->config(), InputMethod::JiioAnderson);
        options_.jiio.maxIterations = deployed.iterations;
        options_.jiio.tolerance = deployed.tolerance;
    }
    optimizer_ = std::make_unique<torch::optim::Adam>(model_->parameters(),
                                                      torch::optim::AdamOptions(options_.learningRate));
    torch::manual_seed(options_.seed);
}

Trainer::CorruptedBatch Trainer::corrupt(const torch::Tensor& clean, std::mt19937_64& random,
                                         double inpaintFraction) const
{
    CorruptedBatch batch;
    if (model_->config().kind == ModelKind::Generative) { // fit the code to the clean image
        batch.task = Task::Reconstruct;
        batch.observed = clean;
        return batch;
    }
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    if (unit(random) < inpaintFraction) {
        batch.task = Task::Inpaint;
        batch.known = randomKnownMask(clean.size(0), clean.size(2), random).to(clean.device());
        batch.observed = clean * batch.known;
    } else {
        batch.task = Task::Denoise;
        batch.sigma = options_.sigmaMin + unit(random) * (options_.sigmaMax - options_.sigmaMin);
        batch.observed = addSavedGaussianNoise(clean, batch.sigma);
    }
    return batch;
}

std::unique_ptr<RestorationObjective> Trainer::objectiveFor(const CorruptedBatch& batch) const
{
    return RestorationObjective::forModel(model_->config(), batch.task, batch.observed, batch.known, batch.sigma);
}

torch::Tensor Trainer::unrolledLoss(const torch::Tensor& latent, const StateLayout& layout, const torch::Tensor& clean)
{
    const auto injection = model_->inject(latent, layout);
    auto z = torch::zeros({clean.size(0), layout.zSize}, clean.options());
    for (int k = 0; k < options_.unrollDepth; ++k)
        z = model_->cell(z, injection, layout);
    return (model_->readout(z, latent, layout) - clean).square().mean();
}

void Trainer::useDataParallel(std::shared_ptr<DataParallel> parallel)
{
    if (parallel)
        parallel->shard(options_.batchSize); // throws when the batch does not divide among the ranks
    parallel_ = std::move(parallel);
}

void Trainer::placeOn(const torch::Device& device)
{
    placeTraining(model_, *optimizer_, device);
}

bool Trainer::isLeader() const
{
    return !parallel_ || parallel_->isLeader();
}

double Trainer::trainStep(bool stopRequested)
{
    model_->train();
    auto clean = data_->sample(options_.batchSize, random_).to(modelDevice(model_));
    auto batch = corrupt(clean, random_, options_.inpaintFraction);
    if (parallel_) { // the global batch was drawn alike everywhere; this rank trains on its rows
        const auto [begin, end] = parallel_->shard(clean.size(0));
        clean = clean.slice(0, begin, end);
        batch.observed = batch.observed.slice(0, begin, end);
        if (batch.known.defined())
            batch.known = batch.known.slice(0, begin, end);
    }
    const auto objective = objectiveFor(batch);
    const auto layout = restorationLayout(model_, *objective);

    // The Jacobian penalty looks at one random point of the trajectory, so the
    // cell stays contractive where the solver actually goes, not only at z*.
    // A bilevel step's solve stops at a tolerance, mostly long before its
    // budget: its point is drawn from the evaluations it makes.
    JiioOptions inner = options_.jiio;
    if (options_.bilevel)
        inner.captureSeed = random_() | 1;
    else
        inner.captureEvaluation = std::uniform_int_distribution<int>(1, std::max(1, inner.maxIterations))(random_);
    LowestResidual watcher;
    auto solved = runJiio(model_, layout, *objective, inner, watcher, restorationStart(model_, *objective));

    optimizer_->zero_grad();
    double loss = 0;
    // The loss is the error of the readout with the known pixels as observed
    // (inpainting returns them so), so only the holes are trained. It is the
    // image a user gets except an image prior's inpainting, which returns x*
    // (see validate()).
    auto deliveredError = [&](const torch::Tensor& prediction) {
        return (keepKnownPixels(prediction, batch.observed, batch.known) - clean).square().mean();
    };
    // Implicit gradients assume z* is an equilibrium. When the cell has lost
    // contraction the solve does not get there and those gradients would push
    // further the wrong way: such a step trains only the Jacobian penalty,
    // which pulls the cell back.
    const bool equilibrium = watcher.lowest < options_.maxStateResidual;
    const bool lossTrained = equilibrium || step_ < options_.unrolledSteps; // its gradient is in .grad
    if (!lossTrained) {
        ++unconvergedSteps_;
        loss = deliveredError(solved.prediction).item<double>();
    } else if (step_ < options_.unrolledSteps) {
        auto unrolled = unrolledLoss(solved.latent, layout, clean);
        unrolled.backward();
        loss = unrolled.item<double>();
    } else {
        FixedPointOptions adjoint;
        adjoint.method = FixedPointMethod::Anderson;
        adjoint.maxIterations = options_.adjointIterations;
        adjoint.tolerance = 1e-4;
        // The adjoint starts from zero, not from JIIO's mu*: mu* belongs to the
        // inner objective (the observation, summed over pixels), the training
        // loss to the clean image as a mean; warm-starting from it pointed the
        // wrong way (cosine -0.02 with the true adjoint) and cost iterations.
        if (options_.bilevel) {
            const DeliveredError delivered(*objective, clean, batch.observed, batch.known);
            BilevelOptions bilevel;
            bilevel.cgIterations = options_.bilevelCgIterations;
            bilevel.adjoint = adjoint;
            const auto report = bilevelBackward(model_, layout, *objective, delivered, solved.latent, solved.state,
                                                bilevel);
            loss = report.loss;
            lastAdjointResidual_ = report.adjointResidual;
        } else {
            const auto backward =
                implicitBackward(model_, layout, solved.state, solved.latent, deliveredError, adjoint);
            loss = backward.loss.item<double>();
            lastAdjointResidual_ = backward.adjoint.residual;
        }
    }
    if (options_.decibelLoss && lossTrained && std::isfinite(loss) && loss > 0) {
        // The penalties below are added after this, at their own weight.
        const double scale = kDecibelReference / loss;
        for (auto& parameter : model_->parameters())
            if (parameter.grad().defined())
                parameter.grad().mul_(scale);
    }
    if (options_.jacobianWeight > 0 || options_.gainWeight > 0) {
        // A diverged trajectory is no place to measure contraction: out there
        // the activations saturate, and shrinking the gain at such a point
        // grows it near the start. Without an equilibrium, the penalties look
        // at the lowest-residual iterate instead (early in the trajectory).
        const bool captured = equilibrium && solved.capturedState.defined();
        const auto graph = cellGraph(model_, layout, captured ? solved.capturedState : solved.state,
                                     captured ? solved.capturedLatent : solved.latent);
        contractionPenalty(graph, options_.jacobianWeight, options_.gainWeight, options_.gainTarget).backward();
    }
    if (parallel_) {
        const auto agreed = parallel_->averageGradients(model_->parameters(), loss, stopRequested);
        loss = agreed.meanLoss;
        stopAgreed_ = agreed.stop;
    }
    const double norm = torch::nn::utils::clip_grad_norm_(model_->parameters(), options_.gradientClip);
    setLearningRate(*optimizer_, cosineLearningRate(options_.learningRate, step_, options_.steps));
    // A non-finite loss or gradient (a diverged inner solve) would poison the
    // parameters and Adam's moments: skip the update, keep the step count.
    if (std::isfinite(loss) && std::isfinite(norm))
        optimizer_->step();
    else
        ++skippedSteps_;
    ++step_;
    return loss;
}

double Trainer::validate()
{
    model_->eval();
    const auto clean = data_->validation().to(modelDevice(model_));
    std::mt19937_64 fixed(777); // the same masks at every validation
    // Restoration: one inpainting pass (masks of every kind), and denoising at
    // light, medium and the heaviest training noise with the same noise every
    // time; the score weighs inpainting and denoising alike. One noise level
    // drawn once, as before, hid trades between levels: a fine-tune that gained
    // 0.8 dB at sigma 50 and lost 0.6 at sigma 15 and on holes validated as
    // well as its start (jiio eval: 0.25 dB worse over the six corruptions).
    std::vector<CorruptedBatch> batches{corrupt(clean, fixed, 1.0)};
    std::vector<double> weights{1.0};
    std::vector<std::string> names{model_->config().kind == ModelKind::Restoration ? "holes" : "reconstruction"};
    if (model_->config().kind == ModelKind::Restoration) {
        const auto noiseGenerator = at::detail::createCPUGenerator(778);
        const auto noise =
            torch::randn(clean.sizes(), noiseGenerator, clean.options().device(torch::kCPU)).to(clean.device());
        const double range = options_.sigmaMax - options_.sigmaMin;
        for (double at : {0.25, 0.5, 1.0}) {
            CorruptedBatch denoised;
            denoised.sigma = options_.sigmaMin + at * range;
            denoised.observed = addSavedGaussianNoise(clean, denoised.sigma, noise);
            batches.push_back(denoised);
            weights.push_back(1.0 / 3.0);
            names.push_back("noise " + std::to_string(int(std::lround(denoised.sigma))));
        }
    }
    double total = 0, weightSum = 0;
    validationParts_.clear();
    for (size_t pass = 0; pass < batches.size(); ++pass) {
        const auto& batch = batches[pass];
        NullObserver quiet;
        const auto objective = objectiveFor(batch);
        auto result = runJiio(model_, restorationLayout(model_, *objective), *objective, options_.jiio, quiet,
                              restorationStart(model_, *objective));
        // Scored as a user gets it: what the objective delivers, known pixels as observed.
        auto prediction =
            keepKnownPixels(objective->restoredImage(result.prediction, result.latent), batch.observed, batch.known);
        const double psnr = psnrOf(prediction, clean);
        validationParts_.push_back({names[pass], psnr});
        total += weights[pass] * psnr;
        weightSum += weights[pass];
        if (pass == 0) {
            const int64_t shown = std::min<int64_t>(4, clean.size(0));
            samples_ = {step_, batch.observed.narrow(0, 0, shown).detach(),
                        prediction.narrow(0, 0, shown).detach().clamp(-1, 1), clean.narrow(0, 0, shown)};
        }
    }
    return total / weightSum;
}

std::string Trainer::bestModelPath() const
{
    const std::filesystem::path checkpoint(checkpointPath_);
    return (checkpoint.parent_path() / (checkpoint.stem().string() + "-best" + checkpoint.extension().string()))
        .string();
}

void Trainer::stampProvenance()
{
    model_->setProvenance("training_data", data_->describe());
    model_->setProvenance("training_steps", std::to_string(step_));
}

void Trainer::keepIfBest(double validationPsnr)
{
    if (!std::isfinite(validationPsnr) || (std::isfinite(bestValidation_) && validationPsnr <= bestValidation_))
        return;
    bestValidation_ = validationPsnr;
    bestStep_ = step_;
    stampProvenance();
    saveModel(bestModelPath(), model_);
}

void Trainer::saveCheckpoint()
{
    stampProvenance();
    saveModel(checkpointPath_, model_, [&](torch::serialize::OutputArchive& archive) {
        writeTrainingState(archive, {step_, options_.toText(), bestValidation_, bestStep_}, *optimizer_, random_);
    });
}

TrainingOptions TrainingOptions::fromText(const std::string& text)
{
    TrainingOptions options;
    options.gainWeight = 0; // checkpoints from before the gain penalty keep their recipe
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        const auto eq = line.find(" = ");
        if (eq == std::string::npos)
            continue;
        const std::string key = line.substr(0, eq);
        const std::string text = line.substr(eq + 3);
        const auto number = parseDouble(text);
        if (!number)
            throw Error("training options: '" + key + "' is not a number");
        const double value = *number;
        if (key == "steps")
            options.steps = int(value);
        else if (key == "batch_size")
            options.batchSize = int(value);
        else if (key == "learning_rate")
            options.learningRate = value;
        else if (key == "gradient_clip")
            options.gradientClip = value;
        else if (key == "jacobian_weight")
            options.jacobianWeight = value;
        else if (key == "gain_weight")
            options.gainWeight = value;
        else if (key == "gain_target")
            options.gainTarget = value;
        else if (key == "inpaint_fraction")
            options.inpaintFraction = value;
        else if (key == "sigma_min")
            options.sigmaMin = value;
        else if (key == "sigma_max")
            options.sigmaMax = value;
        else if (key == "adjoint_iterations")
            options.adjointIterations = int(value);
        else if (key == "checkpoint_every")
            options.checkpointEvery = int(value);
        else if (key == "validate_every")
            options.validateEvery = int(value);
        else if (key == "seed")
            options.seed = parseUnsigned(text).value_or(uint64_t(value));
        else if (key == "jiio_alpha_x")
            options.jiio.alphaX = value;
        else if (key == "jiio_alpha_x_late")
            options.jiio.alphaXLate = value;
        else if (key == "unrolled_steps")
            options.unrolledSteps = int(value);
        else if (key == "unroll_depth")
            options.unrollDepth = int(value);
        else if (key == "max_state_residual")
            options.maxStateResidual = value;
        else if (key == "bilevel")
            options.bilevel = value != 0;
        else if (key == "bilevel_cg_iterations")
            options.bilevelCgIterations = int(value);
        else if (key == "decibel_loss")
            options.decibelLoss = value != 0;
    }
    return options;
}

Trainer Trainer::resume(const std::string& checkpointPath, std::unique_ptr<TrainingSource> data)
{
    std::optional<ReadTrainingState> saved;
    auto loaded = loadModel(checkpointPath, [&](torch::serialize::InputArchive& archive) {
        saved = readTrainingState(archive, checkpointPath);
    });
    Trainer trainer(loaded.model, TrainingOptions::fromText(saved->state.optionsText), std::move(data), checkpointPath);
    saved->restoreTorchRandom(); // after the constructor, which seeds the generator
    trainer.optimizer_->load(saved->optimizer);
    trainer.step_ = saved->state.step;
    trainer.bestValidation_ = saved->state.bestScore;
    trainer.bestStep_ = saved->state.bestStep;
    trainer.random_ = saved->random;
    return trainer;
}

TrainingProgress Trainer::run(TrainingObserver& observer)
{
    TrainingProgress progress;
    progress.steps = options_.steps;
    progress.step = step_;
    const auto start = std::chrono::steady_clock::now();
    const int firstStep = step_;
    if (parallel_)
        parallel_->startRun(options_.toText(), step_, model_->parameters());
    std::optional<TrainingLog> log;
    if (isLeader())
        log.emplace(checkpointPath_, step_, "validation_psnr_db");
    stopAgreed_ = false;
    // A fine-tune's start is validated first and is the best so far: a run
    // that never beats it leaves NAME-best.pt no worse than where it began (a
    // fine-tune on more photographs did not beat its start at any step).
    if (step_ == 0 && isLeader() && options_.validateEvery > 0
        && model_->config().provenance.count("fine_tuned_from") > 0)
        keepIfBest(validate());
    auto stopping = [&] { return parallel_ ? stopAgreed_ : observer.stopRequested(); };
    while (step_ < options_.steps && !stopping()) {
        lastAdjointResidual_ = std::nan("");
        progress.loss = trainStep(parallel_ && observer.stopRequested());
        progress.adjointResidual = lastAdjointResidual_;
        progress.step = step_;
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        progress.stepsPerSecond = (step_ - firstStep) / std::max(elapsed, 1e-9);
        progress.etaSeconds = (options_.steps - step_) / std::max(progress.stepsPerSecond, 1e-9);
        progress.learningRate = optimizer_->param_groups().front().options().get_lr();
        progress.validationPsnr = std::nan("");
        progress.validationParts.clear();
        const bool validating = isLeader() && options_.validateEvery > 0
                                && (step_ % options_.validateEvery == 0 || step_ == options_.steps);
        if (validating) {
            progress.validationPsnr = validate();
            progress.validationParts = validationParts_;
            keepIfBest(progress.validationPsnr);
        }
        if (log)
            log->append(progress, elapsed, skippedSteps_);
        observer.onProgress(progress);
        if (validating)
            observer.onSamples(samples_);
        if (isLeader() && options_.checkpointEvery > 0 && step_ % options_.checkpointEvery == 0
            && step_ < options_.steps) {
            saveCheckpoint();
            observer.onCheckpoint(step_, checkpointPath_);
        }
    }
    if (isLeader()) {
        saveCheckpoint();
        observer.onCheckpoint(step_, checkpointPath_);
    }
    return progress;
}

} // namespace jiio
