#include "training_worker.h"

#include "image_convert.h"

#include "core/error.h"
#include "core/io/tensor_image.h"
#include "core/models/checkpoint.h"
#include "core/models/model_device.h"
#include "core/training/trainer.h"

#include <QPainter>

namespace jiio::workbench {

namespace {

// Rows of (input, reconstruction, target), each tile at least 64 pixels wide
// so that 28x28 items stay visible.
QImage sampleGrid(const TrainingSamples& samples)
{
    const int rows = int(samples.clean.size(0));
    const int side = int(samples.clean.size(3));
    const int tile = std::max(64, std::min(side, 128));
    const int gap = 4;
    QImage grid(3 * tile + 2 * gap, rows * tile + (rows - 1) * gap, QImage::Format_RGB888);
    grid.fill(Qt::darkGray);
    QPainter painter(&grid);
    const torch::Tensor columns[] = {samples.observed, samples.prediction, samples.clean};
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < 3; ++c) {
            const QImage image = toQImage(tensorToImage(columns[c].narrow(0, r, 1).clamp(-1, 1)));
            painter.drawImage(QRect(c * (tile + gap), r * (tile + gap), tile, tile),
                              image.scaled(tile, tile, Qt::KeepAspectRatio, Qt::FastTransformation));
        }
    return grid;
}

class SignalingObserver final : public TrainingObserver {
public:
    SignalingObserver(TrainingWorker& worker, const std::atomic<bool>& stop) : worker_(worker), stop_(stop) {}
    void onProgress(const TrainingProgress& p) override
    {
        TrainingStatus status;
        status.step = p.step;
        status.steps = p.steps;
        status.loss = p.loss;
        status.learningRate = p.learningRate;
        status.stepsPerSecond = p.stepsPerSecond;
        status.etaSeconds = p.etaSeconds;
        status.validationPsnr = p.validationPsnr;
        for (const auto& part : p.validationParts)
            status.validationParts.append({QString::fromStdString(part.name), part.psnr});
        Q_EMIT worker_.progress(status);
    }
    void onSamples(const TrainingSamples& samples) override
    {
        if (samples.clean.defined())
            Q_EMIT worker_.samples(sampleGrid(samples), samples.step);
    }
    void onCheckpoint(int step, const std::string& path) override
    {
        Q_EMIT worker_.checkpointWritten(QString::fromStdString(path), step);
    }
    bool stopRequested() const override { return stop_; }

private:
    TrainingWorker& worker_;
    const std::atomic<bool>& stop_;
};

ModelConfig configFor(const TrainingJob& job)
{
    ModelConfig config = ModelConfig::newModel(modelKindFromString(job.kind.toStdString()));
    const bool generative = config.kind == ModelKind::Generative;
    config.imageChannels = generative ? 1 : job.channels;
    config.width = job.width;
    config.latentChannels = job.latentChannels;
    config.jiioIterations = job.jiioIterations;
    config.groups = ModelConfig::groupsFor(config.width);
    config.provenance["created_by"] = "jiio-workbench";
    config.validate();
    return config;
}

// The training tab's data field: one folder, "fashion-mnist", or empty for the default.
std::vector<std::string> dataFolders(const QString& data)
{
    if (data.isEmpty())
        return {};
    return {data.toStdString()};
}

} // namespace

void TrainingWorker::train(const TrainingJob& job)
{
    try {
        auto warn = [](const std::string&) {}; // skipped files are normal in a folder of mixed files
        std::unique_ptr<Trainer> trainer;
        if (!job.resumeFrom.isEmpty()) {
            const std::string path = job.resumeFrom.toStdString();
            trainer = std::make_unique<Trainer>(
                Trainer::resume(path, makeTrainingSource(dataFolders(job.data), readModelConfig(path), job.patchSize, warn)));
        } else {
            if (job.checkpointPath.isEmpty())
                throw Error("choose where the checkpoint is written");
            const ModelConfig config = configFor(job);
            TrainingOptions options;
            options.steps = job.steps;
            options.batchSize = job.batchSize;
            options.learningRate = job.learningRate;
            options.inpaintFraction = job.inpaintFraction;
            options.validateEvery = job.validateEvery;
            options.checkpointEvery = job.checkpointEvery;
            options.seed = uint64_t(job.seed);
            torch::manual_seed(options.seed);
            trainer = std::make_unique<Trainer>(DeqModel(config), options,
                                                makeTrainingSource(dataFolders(job.data), config, job.patchSize, warn),
                                                job.checkpointPath.toStdString());
        }
        trainer->placeOn(parseDevice(job.device.toStdString()));
        const auto& config = trainer->model()->config();
        Q_EMIT started(tr("Training a %1 model (%2 parameters) from step %3 of %4")
                           .arg(QString::fromStdString(toString(config.kind)))
                           .arg(trainer->model()->parameterCount())
                           .arg(trainer->step())
                           .arg(trainer->options().steps));
        SignalingObserver observer(*this, stop_);
        const auto last = trainer->run(observer);
        const QString path = job.resumeFrom.isEmpty() ? job.checkpointPath : job.resumeFrom;
        const QString how = last.step >= last.steps ? tr("finished") : tr("stopped");
        QString summary = tr("Training %1 at step %2 of %3; checkpoint %4").arg(how).arg(last.step).arg(last.steps).arg(path);
        if (std::isfinite(trainer->bestValidationPsnr()))
            summary += tr("; best validation %1 dB at step %2 in %3")
                           .arg(trainer->bestValidationPsnr(), 0, 'f', 2)
                           .arg(trainer->bestStep())
                           .arg(QString::fromStdString(trainer->bestModelPath()));
        Q_EMIT finished(path, summary);
    } catch (const std::exception& e) {
        Q_EMIT failed(tr("Training failed: %1").arg(QString::fromStdString(oneLine(e.what()))));
    }
}

} // namespace jiio::workbench
