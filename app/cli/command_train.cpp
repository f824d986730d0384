// `jiio train`: trains a model through JIIO, with checkpoints and resume.
#include "cli_options.h"
#include "commands.h"
#include "train_classifier.h"
#include "train_distributed.h"
#include "train_meta.h"
#include "train_run.h"

#include "core/models/checkpoint.h"
#include "core/stop_signals.h"
#include "core/training/data_parallel.h"
#include "core/training/trainer.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>

#include <unistd.h>

namespace jiio::cli {

namespace {

// On a terminal, one line redrawn in place; into a file or pipe, a plain line
// for the first step, each validation and each checkpoint, and otherwise at
// most every half minute, so logs stay readable (every step is in the run's
// CSV log anyway).
class ProgressBar : public TrainingObserver {
public:
    void onProgress(const TrainingProgress& p) override
    {
        last_ = p;
        const bool validated = std::isfinite(p.validationPsnr) || std::isfinite(p.validationAccuracy);
        const bool due = std::chrono::steady_clock::now() - lastLine_ >= std::chrono::seconds(30);
        if (terminal_ || validated || due || p.step == 1 || p.step == p.steps)
            print(p);
    }
    void onCheckpoint(int step, const std::string& path) override
    {
        if (!terminal_ && printedStep_ != last_.step && last_.step > 0)
            print(last_); // the step the checkpoint holds
        std::fprintf(stderr, "%scheckpoint at step %d written to %s\n", terminal_ ? "\n" : "", step, path.c_str());
    }
    // Ctrl-C or SIGTERM: finish the current step, checkpoint, stop.
    bool stopRequested() const override { return stopSignalReceived() != 0; }

private:
    void print(const TrainingProgress& p)
    {
        lastLine_ = std::chrono::steady_clock::now();
        printedStep_ = p.step;
        const bool validated = std::isfinite(p.validationPsnr) || std::isfinite(p.validationAccuracy);
        const int width = 30;
        const int filled = p.steps > 0 ? width * p.step / p.steps : 0;
        if (terminal_)
            std::fprintf(stderr, "\r[%s%s] ", std::string(size_t(filled), '#').c_str(),
                         std::string(size_t(width - filled), '.').c_str());
        std::fprintf(stderr, "%d/%d loss %.5f lr %.2e %.2f steps/s ETA %.0f s", p.step, p.steps, p.loss,
                     p.learningRate, p.stepsPerSecond, p.etaSeconds);
        if (std::isfinite(p.adjointResidual))
            std::fprintf(stderr, " adjoint residual %.1e", p.adjointResidual);
        if (std::isfinite(p.validationPsnr))
            std::fprintf(stderr, "  validation PSNR %.2f dB", p.validationPsnr);
        if (p.validationParts.size() > 1) {
            std::fputs(" (", stderr);
            for (size_t i = 0; i < p.validationParts.size(); ++i)
                std::fprintf(stderr, "%s%s %.2f", i ? ", " : "", p.validationParts[i].name.c_str(),
                             p.validationParts[i].psnr);
            std::fputc(')', stderr);
        }
        if (std::isfinite(p.validationAccuracy))
            std::fprintf(stderr, "  validation accuracy %.2f %%", p.validationAccuracy);
        if (!terminal_ || validated)
            std::fputc('\n', stderr);
        std::fflush(stderr);
    }

    const bool terminal_ = isatty(fileno(stderr)) != 0;
    std::chrono::steady_clock::time_point lastLine_{};
    TrainingProgress last_;
    int printedStep_ = -1;
};

} // namespace

int runTrain(const QStringList& arguments)
{
    QCommandLineParser parser;
    TrainingOptions defaults;
    parser.addOptions({
        {"output",
         "Checkpoint to write (and to resume from with --resume). The run's log, a CSV row per step (loss, learning "
         "rate, validation, adjoint residual, time, skipped steps), goes beside it as <stem>.log.csv.",
         "file"},
        {"task",
         "restore (default: restoration or generative models), classify (a classifier on clean images), adversarial "
         "(a classifier on images attacked at every step) or meta (a few-shot model meta-trained on episodes).",
         "task", "restore"},
        {"ways", "Meta-learning: classes per episode (default 5).", "N"},
        {"shots", "Meta-learning: support images per class (default 5).", "K"},
        {"queries", "Meta-learning: query images per class (default 15).", "N"},
        {"episodes-per-step", "Meta-learning: episodes per step (default 2).", "N"},
        {"inner-iters", "Meta-learning: JIIO iterations adapting the task vector (default 15).", "N"},
        {"implicit",
         "Meta-learning: the implicit meta-gradient through the inner optimum instead of the first-order one "
         "(default)."},
        {"attack", "Adversarial training: the attack, jiio or pgd.", "attack", "jiio"},
        {"norm", "Adversarial training: the attack's ball, linf (default) or l2.", "norm", "linf"},
        {"eps", "Adversarial training: the ball's radius in pixel units (default 0.1).", "E"},
        {"attack-iters", "Adversarial training: JIIO iterations or PGD steps per attack (default 20).", "N"},
        {"init", "Start from this model (default: a new one; see 'jiio init' for its options).", "file"},
        {"resume", "Continue the run saved in --output."},
        {"data",
         "Training data: a folder of images or one image file (repeat the option for several; the images are "
         "pooled in the order given and split by image), "
         "'fashion-mnist' or a folder with its IDX files (default: OpenCV's sample images for restoration models, "
         "Fashion-MNIST for generative ones).",
         "data"},
        {"channels", "Image channels of a new model (default 3).", "C"},
        {"jiio-iters", "JIIO iteration budget to train for (default: the model's; 15 for a new one).", "N"},
        {"steps", "Training steps (default 2000; classifiers 3000).", "N"},
        {"batch", "Batch size (default 8; classifiers 64).", "N"},
        {"patch", "Patch side length (default 64).", "N"},
        {"lr", "Peak learning rate, cosine-annealed (default 1e-3; classifiers 2e-3).", "R"},
        {"jacobian-weight", "Jacobian regularisation weight (default 0.1).", "W"},
        {"gain-weight", "Weight of the penalty on the cell's largest gain above --gain-target (default 10).", "W"},
        {"gain-target", "Largest gain of df/dz the penalty allows (default 0.8).", "G"},
        {"sigma-min", "Restoration: lowest training noise level, 0-255 scale (default 5).", "S"},
        {"sigma-max", "Restoration: highest training noise level (default 50).", "S"},
        {"inpaint-fraction", "Restoration: share of the batches that are inpainting, the rest denoising (default 0.5).",
         "F"},
        {"unrolled-steps", "Warm-up steps trained by unrolling f instead of implicitly (default 0).", "N"},
        {"unroll-depth", "Applications of f per unrolled warm-up step (default 8).", "N"},
        {"bilevel",
         "Restoration: differentiate through the input optimisation as well (the optimised input moves with the "
         "weights; conjugate gradients on Hessian-vector products), each solve stopping as a restoration does. "
         "About five times slower per step."},
        {"decibel-loss",
         "Restoration: train the delivered error in decibels (each step's gradient divided by its error), so light "
         "noise and holes count as much per decibel as heavy noise."},
        {"checkpoint-every", "Steps between checkpoints (default 100).", "N"},
        {"validate-every", "Steps between validations (default 100).", "N"},
    });
    addDataParallelOptions(parser);
    addRuntimeOptions(parser);
    addDeviceOption(parser);
    if (!parseOrHelp(parser, arguments, "Train a model through JIIO with implicit gradients."))
        return 0;
    deviceFrom(parser); // a device this build or machine lacks is refused before anything starts
    if (const auto status = runLocalRanks(parser, arguments))
        return *status;
    applyRuntimeOptions(parser);
    const std::string output = toStd(requireValue(parser, "output"));
    std::vector<std::string> data;
    for (const QString& folder : parser.values("data"))
        data.push_back(toStd(folder));
    const int patch = intValue(parser, "patch", 64, 8, 1024);
    auto warn = [](const std::string& message) { std::fprintf(stderr, "warning: %s\n", message.c_str()); };

    const QString task = parser.value("task");
    if (task != "restore" && task != "classify" && task != "adversarial" && task != "meta")
        throw UsageError("--task must be restore, classify, adversarial or meta");
    for (const QString flag : {"bilevel", "decibel-loss"}) { // how a restoration run trains, fixed at its start
        if (parser.isSet(flag) && task != "restore")
            throw UsageError("--" + toStd(flag) + " trains a restoration model (--task restore)");
        if (parser.isSet(flag) && parser.isSet("resume"))
            throw UsageError("--" + toStd(flag) + " is chosen when a run starts; a resumed run keeps its own setting");
    }
    ProgressBar bar;
    if (parser.isSet("resume") && readModelConfig(output).kind == ModelKind::Classifier)
        return resumeClassifier(parser, output, bar);
    if (parser.isSet("resume") && readModelConfig(output).kind == ModelKind::FewShot)
        return resumeMeta(parser, output, bar);
    if (task == "meta" && !parser.isSet("resume"))
        return trainMeta(parser, output, bar);
    if (task != "restore" && !parser.isSet("resume"))
        return trainClassifier(parser, output, task == "adversarial", bar);
    if (parser.isSet("resume")) {
        auto trainer = Trainer::resume(output, makeTrainingSource(data, readModelConfig(output), patch, warn));
        trainer.placeOn(trainingDevice(parser));
        const auto parallel = joinDataParallelRun(parser);
        trainer.useDataParallel(parallel);
        if (!parallel || parallel->isLeader())
            std::fprintf(stderr, "resuming at step %d of %d\n", trainer.step(), trainer.options().steps);
        installStopSignalHandlers();
        if (parallel && !parallel->isLeader())
            return runQuietRank(trainer);
        const auto last = trainer.run(bar);
        return reportStop(output, last.step, trainer.options().steps);
    }
    TrainingOptions options;
    options.steps = intValue(parser, "steps", defaults.steps, 1, 10000000);
    options.batchSize = intValue(parser, "batch", defaults.batchSize, 1, 4096);
    options.learningRate = doubleValue(parser, "lr", defaults.learningRate, 0.0, 1.0);
    options.jacobianWeight = doubleValue(parser, "jacobian-weight", defaults.jacobianWeight, 0.0, 1e6);
    options.gainWeight = doubleValue(parser, "gain-weight", defaults.gainWeight, 0.0, 1e6);
    options.gainTarget = doubleValue(parser, "gain-target", defaults.gainTarget, 0.01, 10.0);
    options.sigmaMin = doubleValue(parser, "sigma-min", defaults.sigmaMin, 0.0, 255.0);
    options.sigmaMax = doubleValue(parser, "sigma-max", defaults.sigmaMax, 0.0, 255.0);
    if (options.sigmaMin > options.sigmaMax)
        throw UsageError("--sigma-min must not exceed --sigma-max");
    options.inpaintFraction = doubleValue(parser, "inpaint-fraction", defaults.inpaintFraction, 0.0, 1.0);
    options.checkpointEvery = intValue(parser, "checkpoint-every", defaults.checkpointEvery, 1, 10000000);
    options.validateEvery = intValue(parser, "validate-every", defaults.validateEvery, 1, 10000000);
    options.unrolledSteps = intValue(parser, "unrolled-steps", defaults.unrolledSteps, 0, 10000000);
    options.unrollDepth = intValue(parser, "unroll-depth", defaults.unrollDepth, 1, 1000);
    options.bilevel = parser.isSet("bilevel");
    options.decibelLoss = parser.isSet("decibel-loss");
    options.seed = uint64_t(intValue(parser, "seed", 0, 0, 2147483647));

    DeqModel model{nullptr};
    if (parser.isSet("init")) {
        model = loadModelToFineTune(toStd(parser.value("init")));
    } else {
        ModelConfig config = ModelConfig::newModel(ModelKind::Restoration);
        config.imageChannels = intValue(parser, "channels", 3, 1, 3);
        model = DeqModel(config);
    }
    if (parser.isSet("jiio-iters"))
        model->setJiioIterations(intValue(parser, "jiio-iters", 30, 1, 100000));
    auto config = model->config();
    auto source = makeTrainingSource(data, config, patch, warn);
    std::fprintf(stderr, "training a %s model on %s, %lld parameters\n", toString(config.kind).c_str(),
                 source->describe().c_str(), (long long)model->parameterCount());
    Trainer trainer(model, options, std::move(source), output);
    trainer.placeOn(trainingDevice(parser));
    const auto parallel = joinDataParallelRun(parser);
    trainer.useDataParallel(parallel);
    installStopSignalHandlers();
    if (parallel && !parallel->isLeader())
        return runQuietRank(trainer);
    const auto last = trainer.run(bar);
    if (const int status = reportStop(output, last.step, trainer.options().steps))
        return status;
    std::printf("\ntrained %d steps; model written to %s (final loss %.5f)\n", last.step, output.c_str(), last.loss);
    if (std::isfinite(trainer.bestValidationPsnr()))
        std::printf("best validation PSNR %.2f dB at step %d; that model is in %s\n", trainer.bestValidationPsnr(),
                    trainer.bestStep(), trainer.bestModelPath().c_str());
    if (trainer.unconvergedSteps() > 0)
        std::printf("%d step(s) trained only the Jacobian penalty: their inner solve did not converge\n",
                    trainer.unconvergedSteps());
    if (trainer.skippedSteps() > 0)
        std::printf("%d step(s) skipped: their loss or gradient was not finite\n", trainer.skippedSteps());
    return 0;
}

} // namespace jiio::cli
