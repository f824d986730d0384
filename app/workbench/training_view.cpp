#include "training_view.h"

#include "core/training/training_log.h"
#include "widgets/training_plot.h"

#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QDoubleSpinBox>
#include <QEventLoop>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QStandardPaths>
#include <QVBoxLayout>

namespace jiio::workbench {

namespace {

QSpinBox* spinBox(int low, int high, int value)
{
    auto* box = new QSpinBox;
    box->setRange(low, high);
    box->setValue(value);
    return box;
}

QString defaultCheckpointPath()
{
    const QString folder = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + "/training";
    QDir().mkpath(folder);
    return folder + "/model-" + QDateTime::currentDateTime().toString("yyyyMMdd-hhmmss") + ".pt";
}

QString duration(double seconds)
{
    if (!std::isfinite(seconds))
        return "–";
    const int s = int(seconds + 0.5);
    return s >= 3600 ? QString("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60)
         : s >= 60   ? QString("%1 min %2 s").arg(s / 60).arg(s % 60)
                     : QString("%1 s").arg(s);
}

} // namespace

TrainingView::TrainingView(QWidget* parent) : QWidget(parent), worker_(new TrainingWorker)
{
    qRegisterMetaType<TrainingJob>();
    qRegisterMetaType<TrainingStatus>();
    buildForm();
    worker_->moveToThread(&thread_);
    connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
    connect(this, &TrainingView::jobRequested, worker_, &TrainingWorker::train, Qt::QueuedConnection);
    connect(worker_, &TrainingWorker::started, status_, &QLabel::setText);
    connect(worker_, &TrainingWorker::progress, this, &TrainingView::onProgress);
    connect(worker_, &TrainingWorker::samples, this, [this](const QImage& grid, int step) {
        samples_->setPixmap(QPixmap::fromImage(grid));
        samples_->setToolTip(tr("Validation images at step %1: input, reconstruction, target").arg(step));
    });
    connect(worker_, &TrainingWorker::checkpointWritten, this, [this](const QString& path) { checkpoint_ = path; });
    connect(worker_, &TrainingWorker::finished, this, &TrainingView::onFinished);
    connect(worker_, &TrainingWorker::failed, this, &TrainingView::onFailed);
    thread_.start();
    loadSettings();
    setRunning(false);
}

void TrainingView::loadSettings()
{
    QSettings settings;
    settings.beginGroup("training");
    const TrainingJob d;
    TrainingJob job;
    job.kind = settings.value("kind", d.kind).toString();
    job.data = settings.value("data", d.data).toString();
    job.channels = settings.value("channels", d.channels).toInt();
    job.inpaintFraction = settings.value("inpaintFraction", d.inpaintFraction).toDouble();
    job.width = settings.value("width", d.width).toInt();
    job.latentChannels = settings.value("latentChannels", d.latentChannels).toInt();
    job.batchSize = settings.value("batchSize", d.batchSize).toInt();
    job.patchSize = settings.value("patchSize", d.patchSize).toInt();
    job.jiioIterations = settings.value("jiioIterations", d.jiioIterations).toInt();
    job.learningRate = settings.value("learningRate", d.learningRate).toDouble();
    job.steps = settings.value("steps", d.steps).toInt();
    job.validateEvery = settings.value("validateEvery", d.validateEvery).toInt();
    job.checkpointPath = output_->text(); // a fresh file name for every session
    settings.endGroup();
    setJob(job);
}

void TrainingView::saveSettings() const
{
    const TrainingJob job = this->job();
    QSettings settings;
    settings.beginGroup("training");
    settings.setValue("kind", job.kind);
    settings.setValue("data", job.data);
    settings.setValue("channels", job.channels);
    settings.setValue("inpaintFraction", job.inpaintFraction);
    settings.setValue("width", job.width);
    settings.setValue("latentChannels", job.latentChannels);
    settings.setValue("batchSize", job.batchSize);
    settings.setValue("patchSize", job.patchSize);
    settings.setValue("jiioIterations", job.jiioIterations);
    settings.setValue("learningRate", job.learningRate);
    settings.setValue("steps", job.steps);
    settings.setValue("validateEvery", job.validateEvery);
    settings.endGroup();
}

TrainingView::~TrainingView()
{
    worker_->requestStop();
    thread_.quit();
    thread_.wait();
}

void TrainingView::buildForm()
{
    kind_ = new QComboBox;
    kind_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    kind_->setMinimumContentsLength(14);
    kind_->addItem(tr("Restoration (inpainting and denoising)"), "restoration");
    kind_->addItem(tr("Generative (latent codes)"), "generative");
    data_ = new QComboBox;
    data_->addItem(tr("OpenCV sample images"), "");
    data_->addItem(tr("Fashion-MNIST"), "fashion-mnist");
    data_->addItem(tr("Image folder…"), "folder");
    folder_ = new QLineEdit;
    folder_->setPlaceholderText(tr("folder of training images"));
    browse_ = new QPushButton(tr("Browse…"));
    connect(browse_, &QPushButton::clicked, this, [this] {
        const QString folder = QFileDialog::getExistingDirectory(this, tr("Training images"), folder_->text());
        if (!folder.isEmpty())
            folder_->setText(folder);
    });
    channels_ = new QComboBox;
    channels_->addItem(tr("RGB"), 3);
    channels_->addItem(tr("Gray"), 1);
    inpaintShare_ = new QDoubleSpinBox;
    inpaintShare_->setRange(0, 1);
    inpaintShare_->setSingleStep(0.1);
    inpaintShare_->setValue(0.5);
    inpaintShare_->setToolTip(tr("Share of batches corrupted with masks; the rest get Gaussian noise"));
    width_ = spinBox(4, 256, 16);
    width_->setSingleStep(4);
    latent_ = spinBox(1, 512, 8);
    batch_ = spinBox(1, 512, 6);
    patch_ = spinBox(16, 512, 64);
    patch_->setSingleStep(16);
    jiioIterations_ = spinBox(1, 500, TrainingJob{}.jiioIterations);
    learningRate_ = new QDoubleSpinBox;
    learningRate_->setDecimals(5);
    learningRate_->setRange(1e-5, 0.1);
    learningRate_->setSingleStep(1e-4);
    learningRate_->setValue(1e-3);
    steps_ = spinBox(1, 1000000, 1000);
    validateEvery_ = spinBox(1, 100000, 50);
    output_ = new QLineEdit(defaultCheckpointPath());
    connect(kind_, &QComboBox::currentIndexChanged, this, [this] {
        // A generative model's code is a vector, not a grid: it wants more channels.
        const bool generative = kind_->currentData().toString() == "generative";
        if (generative && latent_->value() == TrainingJob{}.latentChannels)
            latent_->setValue(64);
        else if (!generative && latent_->value() == 64)
            latent_->setValue(TrainingJob{}.latentChannels);
        // Each kind's own iteration budget, unless the user has chosen one.
        const int observing = ModelConfig::newModel(ModelKind::Restoration).jiioIterations;
        const int latentOnly = ModelConfig::newModel(ModelKind::Generative).jiioIterations;
        if (jiioIterations_->value() == (generative ? observing : latentOnly))
            jiioIterations_->setValue(generative ? latentOnly : observing);
        updateDataControls();
    });
    connect(data_, &QComboBox::currentIndexChanged, this, &TrainingView::updateDataControls);

    auto* folderRow = new QHBoxLayout;
    folderRow->addWidget(folder_);
    folderRow->addWidget(browse_);
    auto* form = new QFormLayout;
    form->addRow(tr("Model"), kind_);
    form->addRow(tr("Data"), data_);
    form->addRow(QString(), folderRow);
    form->addRow(tr("Channels"), channels_);
    form->addRow(tr("Inpainting share"), inpaintShare_);
    form->addRow(tr("Width"), width_);
    form->addRow(tr("Latent channels"), latent_);
    form->addRow(tr("Batch size"), batch_);
    form->addRow(tr("Patch size"), patch_);
    form->addRow(tr("JIIO iterations"), jiioIterations_);
    form->addRow(tr("Learning rate"), learningRate_);
    form->addRow(tr("Steps"), steps_);
    form->addRow(tr("Validate every"), validateEvery_);
    form->addRow(tr("Checkpoint"), output_);

    start_ = new QPushButton(tr("Start"));
    stop_ = new QPushButton(tr("Stop"));
    resume_ = new QPushButton(tr("Resume…"));
    use_ = new QPushButton(tr("Use this model"));
    use_->setToolTip(tr("Load the last checkpoint into the restore view"));
    connect(start_, &QPushButton::clicked, this, &TrainingView::start);
    connect(stop_, &QPushButton::clicked, this, &TrainingView::stop);
    connect(resume_, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Resume training"), output_->text(),
                                                          tr("Checkpoints (*.pt);;All files (*)"));
        if (!path.isEmpty())
            resume(path);
    });
    connect(use_, &QPushButton::clicked, this, [this] { Q_EMIT useModelRequested(checkpoint_); });
    compare_ = new QPushButton(tr("Compare with…"));
    compare_->setToolTip(tr("Draw another run's curves (its .log.csv beside the checkpoint) beside this one's"));
    connect(compare_, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Compare with a training run"),
                                                          QFileInfo(output_->text()).absolutePath(),
                                                          tr("Training logs (*.log.csv);;All files (*)"));
        if (!path.isEmpty())
            compareWith(path);
    });
    auto* buttons = new QHBoxLayout;
    for (auto* button : {start_, stop_, resume_, use_, compare_})
        buttons->addWidget(button);

    samples_ = new QLabel(tr("Validation samples appear here:\ninput, reconstruction, target."));
    samples_->setAlignment(Qt::AlignCenter);
    samples_->setMinimumHeight(120);
    auto* samplesBox = new QGroupBox(tr("Validation samples (input · reconstruction · target)"));
    auto* samplesLayout = new QVBoxLayout(samplesBox);
    samplesLayout->addWidget(samples_);

    auto* settings = new QGroupBox(tr("Run"));
    auto* settingsLayout = new QVBoxLayout(settings);
    settingsLayout->addLayout(form);
    settingsLayout->addLayout(buttons);
    auto* left = new QVBoxLayout;
    left->addWidget(settings);
    left->addWidget(samplesBox, 1);

    plot_ = new widgets::TrainingPlot;
    progress_ = new QProgressBar;
    progress_->setFormat(tr("%v / %m steps"));
    status_ = new QLabel(tr("Set up a run and press Start."));
    status_->setWordWrap(true);
    auto* right = new QVBoxLayout;
    right->addWidget(plot_, 1);
    right->addWidget(progress_);
    right->addWidget(status_);
    auto* layout = new QHBoxLayout(this);
    layout->addLayout(left);
    layout->addLayout(right, 1);
    updateDataControls();
}

void TrainingView::updateDataControls()
{
    const bool generative = kind_->currentData().toString() == "generative";
    if (generative)
        data_->setCurrentIndex(data_->findData("fashion-mnist"));
    const bool fashion = data_->currentData().toString() == "fashion-mnist";
    const bool folder = data_->currentData().toString() == "folder";
    folder_->setEnabled(folder && !running_);
    browse_->setEnabled(folder && !running_);
    data_->setEnabled(!generative && !running_);
    if (fashion)
        channels_->setCurrentIndex(channels_->findData(1));
    channels_->setEnabled(!fashion && !running_);
    inpaintShare_->setEnabled(!generative && !running_);
    patch_->setEnabled(!generative && !running_);
}

TrainingJob TrainingView::job() const
{
    TrainingJob job;
    job.kind = kind_->currentData().toString();
    const QString data = data_->currentData().toString();
    job.data = data == "folder" ? folder_->text() : data;
    job.channels = channels_->currentData().toInt();
    job.inpaintFraction = inpaintShare_->value();
    job.width = width_->value();
    job.latentChannels = latent_->value();
    job.batchSize = batch_->value();
    job.patchSize = patch_->value();
    job.jiioIterations = jiioIterations_->value();
    job.learningRate = learningRate_->value();
    job.steps = steps_->value();
    job.validateEvery = validateEvery_->value();
    job.checkpointEvery = validateEvery_->value();
    job.checkpointPath = output_->text();
    job.device = device_;
    return job;
}

void TrainingView::setJob(const TrainingJob& job)
{
    kind_->setCurrentIndex(std::max(0, kind_->findData(job.kind)));
    const int dataIndex = data_->findData(job.data);
    data_->setCurrentIndex(dataIndex >= 0 ? dataIndex : data_->findData("folder"));
    if (dataIndex < 0)
        folder_->setText(job.data);
    channels_->setCurrentIndex(std::max(0, channels_->findData(job.channels)));
    inpaintShare_->setValue(job.inpaintFraction);
    width_->setValue(job.width);
    latent_->setValue(job.latentChannels);
    batch_->setValue(job.batchSize);
    patch_->setValue(job.patchSize);
    jiioIterations_->setValue(job.jiioIterations);
    learningRate_->setValue(job.learningRate);
    steps_->setValue(job.steps);
    validateEvery_->setValue(job.validateEvery);
    output_->setText(job.checkpointPath);
    updateDataControls();
}

void TrainingView::start()
{
    if (running_)
        return;
    saveSettings();
    plot_->clear();
    launch(job());
}

void TrainingView::resume(const QString& checkpoint)
{
    if (running_)
        return;
    TrainingJob job = this->job();
    job.resumeFrom = checkpoint;
    plot_->clear();
    resumedFrom_ = checkpoint;
    launch(job);
}

void TrainingView::drawLoggedSteps(const QString& checkpoint, int beforeStep)
{
    const QString log = QString::fromStdString(TrainingLog::pathFor(checkpoint.toStdString()));
    if (!QFileInfo::exists(log))
        return; // a checkpoint from before runs kept logs
    try {
        for (const auto& row : TrainingLog::read(log.toStdString())) {
            if (row.step >= beforeStep)
                break;
            plot_->addLoss(row.step, row.loss);
            plot_->addValidation(row.step, row.validation);
        }
    } catch (const std::exception& e) {
        status_->setText(tr("The run's earlier curve could not be read: %1").arg(QString::fromUtf8(e.what())));
    }
}

bool TrainingView::compareWith(const QString& logPath)
{
    try {
        QVector<double> steps, losses, validationSteps, validation;
        for (const auto& row : TrainingLog::read(logPath.toStdString())) {
            if (std::isfinite(row.loss) && row.loss > 0) {
                steps.push_back(row.step);
                losses.push_back(row.loss);
            }
            if (std::isfinite(row.validation)) {
                validationSteps.push_back(row.step);
                validation.push_back(row.validation);
            }
        }
        QString name = QFileInfo(logPath).fileName();
        name.chop(QString(".log.csv").size());
        plot_->setComparison(name, steps, losses, validationSteps, validation);
        return true;
    } catch (const std::exception& e) {
        status_->setText(tr("Cannot compare: %1").arg(QString::fromUtf8(e.what())));
        return false;
    }
}

void TrainingView::launch(const TrainingJob& job)
{
    checkpoint_.clear();
    lastValidation_.clear();
    progress_->setValue(0);
    status_->setText(tr("Preparing the data…"));
    setRunning(true);
    worker_->clearStopRequest();
    Q_EMIT jobRequested(job);
}

void TrainingView::stop()
{
    if (running_) {
        worker_->requestStop();
        status_->setText(tr("Stopping after this step…"));
    }
}

void TrainingView::stopAndWait()
{
    if (!running_)
        return;
    // The worker thread lives as long as the view; wait for this run's end
    // (after its checkpoint) without letting the user act meanwhile.
    QEventLoop untilTheRunEnds;
    connect(this, &TrainingView::trainingFinished, &untilTheRunEnds, &QEventLoop::quit);
    connect(this, &TrainingView::trainingFailed, &untilTheRunEnds, &QEventLoop::quit);
    worker_->requestStop();
    if (running_)
        untilTheRunEnds.exec(QEventLoop::ExcludeUserInputEvents);
}

void TrainingView::onProgress(const TrainingStatus& s)
{
    progress_->setMaximum(s.steps);
    progress_->setValue(s.step);
    if (!resumedFrom_.isEmpty()) { // the log now holds exactly the steps the checkpoint had
        drawLoggedSteps(resumedFrom_, s.step);
        resumedFrom_.clear();
    }
    plot_->addLoss(s.step, s.loss);
    plot_->addValidation(s.step, s.validationPsnr);
    QString text = tr("step %1 of %2 · loss %3 · %4 steps/s · ETA %5")
                       .arg(s.step)
                       .arg(s.steps)
                       .arg(s.loss, 0, 'g', 4)
                       .arg(s.stepsPerSecond, 0, 'f', 2)
                       .arg(duration(s.etaSeconds));
    if (std::isfinite(s.validationPsnr)) {
        QStringList parts;
        for (const auto& [name, psnr] : s.validationParts)
            parts << QStringLiteral("%1 %2").arg(name).arg(psnr, 0, 'f', 2);
        lastValidation_ = tr("validation PSNR %1 dB at step %2").arg(s.validationPsnr, 0, 'f', 2).arg(s.step);
        if (parts.size() > 1)
            lastValidation_ += QStringLiteral(" (%1)").arg(parts.join(QStringLiteral(", ")));
    }
    if (!lastValidation_.isEmpty())
        text += QStringLiteral(" · ") + lastValidation_;
    status_->setText(text);
}

void TrainingView::onFinished(const QString& checkpoint, const QString& summary)
{
    checkpoint_ = checkpoint;
    setRunning(false);
    status_->setText(summary);
    Q_EMIT trainingFinished(summary);
}

void TrainingView::onFailed(const QString& message)
{
    setRunning(false);
    status_->setText(message);
    Q_EMIT trainingFailed(message);
}

void TrainingView::setRunning(bool running)
{
    running_ = running;
    start_->setEnabled(!running);
    resume_->setEnabled(!running);
    stop_->setEnabled(running);
    use_->setEnabled(!running && !checkpoint_.isEmpty());
    for (QWidget* field : std::initializer_list<QWidget*>{kind_, width_, latent_, batch_, jiioIterations_,
                                                          learningRate_, steps_, validateEvery_, output_})
        field->setEnabled(!running);
    updateDataControls();
}

} // namespace jiio::workbench
