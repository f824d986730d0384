#include "main_window.h"

#include "compare_view.h"
#include "image_convert.h"
#include "model_picker.h"
#include "training_view.h"
#include "attack_view.h"
#include "fewshot_view.h"
#include "worker_thread.h"

#include "core/error.h"
#include "core/io/image_io.h"
#include "core/io/metrics.h"
#include "core/jiio/solve_defaults.h"
#include "core/models/checkpoint.h"
#include "core/models/model_locator.h"
#include "core/tasks/restoration/corruption.h"
#include "core/tasks/restoration/restoration_objective.h"

#include "widgets/convergence_plot.h"
#include "widgets/image_canvas.h"
#include "widgets/mask_layer.h"
#include "widgets/solver_settings_panel.h"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QCloseEvent>
#include <QComboBox>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QDragEnterEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
#include <QStatusBar>
#include <QToolBar>
#include <QUndoStack>
#include <QVBoxLayout>

#include <opencv2/core/version.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/version.h>

#include <cmath>

namespace jiio::workbench {

namespace {
constexpr int kMaxRecent = 8;
const char* const kImageFilter = "Images (*.png *.jpg *.jpeg *.tif *.tiff *.bmp *.webp);;All files (*)";
} // namespace

MainWindow::MainWindow(const QString& modelPath, QWidget* parent)
    : QMainWindow(parent), explicitModelPath_(modelPath), observed_(std::make_unique<ImageData>())
{
    qRegisterMetaType<SolveJob>();
    qRegisterMetaType<widgets::ConvergencePoint>();
    qRegisterMetaType<CompareRow>();
    qRegisterMetaType<cv::Mat>();
    setWindowTitle(tr("JIIO Workbench"));
    setAcceptDrops(true);
    buildUi();
    buildActions();
    onTaskChanged();
    QSettings settings;
    settings_->load(settings);
    if (!modelPath.isEmpty()) {
        loadModel(modelPath);
    } else {
        // The shipped RGB model from the start, so the model panel shows what
        // will be used; opening an image may still pick a better fit.
        try {
            loadModel(QString::fromStdString(locateDefaultRestorationModel(3)));
        } catch (const std::exception&) {
            status_->setText(tr("No shipped model found: choose one under Model."));
        }
    }
    updateActions();
}

MainWindow::~MainWindow()
{
    retireWorker(thread_, worker_);
}

void MainWindow::buildUi()
{
    mask_ = new widgets::MaskLayer(this);
    observation_ = new widgets::ImageCanvas(tr("Observation"));
    observation_->setMaskLayer(mask_);
    result_ = new widgets::ImageCanvas(tr("Reconstruction"));
    split_ = new widgets::ImageCanvas(tr("Before | after (drag the divider)"));
    difference_ = new widgets::ImageCanvas(tr("Difference"));
    truth_ = new widgets::ImageCanvas(tr("Ground truth"));
    views_ = new QTabWidget;
    views_->addTab(result_, tr("Reconstruction"));
    views_->addTab(split_, tr("Before / after"));
    views_->addTab(difference_, tr("Difference"));
    views_->addTab(truth_, tr("Ground truth"));
    views_->setTabEnabled(views_->indexOf(truth_), false);
    // Synced zoom and pan across every view.
    const QList<widgets::ImageCanvas*> canvases{observation_, result_, split_, difference_, truth_};
    for (auto* from : canvases) {
        if (from != observation_)
            from->setPaintingEnabled(false);
        for (auto* to : canvases)
            if (from != to)
                connect(from, &widgets::ImageCanvas::viewChanged, to, &widgets::ImageCanvas::setView);
    }

    plot_ = new widgets::ConvergencePlot;
    againstTime_ = new QCheckBox(tr("Plot against time"));
    connect(againstTime_, &QCheckBox::toggled, plot_, &widgets::ConvergencePlot::setAgainstTime);

    auto* images = new QSplitter(Qt::Horizontal);
    images->addWidget(observation_);
    images->addWidget(views_);
    auto* plots = new QWidget;
    auto* plotLayout = new QVBoxLayout(plots);
    plotLayout->setContentsMargins(0, 0, 0, 0);
    plotLayout->addWidget(plot_);
    plotLayout->addWidget(againstTime_);
    auto* centre = new QSplitter(Qt::Vertical);
    centre->addWidget(images);
    centre->addWidget(plots);
    centre->setStretchFactor(0, 3);
    centre->setStretchFactor(1, 2);
    compare_ = new CompareView;
    connect(compare_, &CompareView::compareRequested, this, &MainWindow::startCompare);
    connect(compare_, &CompareView::stopRequested, this, &MainWindow::stop);
    tabs_ = new QTabWidget;
    tabs_->addTab(centre, tr("Restore"));
    tabs_->addTab(compare_, tr("Compare"));
    training_ = new TrainingView;
    tabs_->addTab(training_, tr("Train"));
    connect(training_, &TrainingView::useModelRequested, this, [this](const QString& path) {
        if (loadModel(path))
            tabs_->setCurrentIndex(0);
    });
    connect(training_, &TrainingView::trainingFailed, this, &MainWindow::showError);
    attack_ = new AttackView;
    tabs_->addTab(attack_, tr("Attack"));
    fewShot_ = new FewShotView;
    tabs_->addTab(fewShot_, tr("Few-shot"));
    setCentralWidget(tabs_);

    // Task controls and solver settings in a dock.
    task_ = new QComboBox;
    task_->addItem(tr("Inpainting"), "inpaint");
    task_->addItem(tr("Denoising"), "denoise");
    task_->addItem(tr("Latent reconstruction"), "reconstruct");
    task_->setItemData(0, tr("Paint the missing pixels on the observation"), Qt::ToolTipRole);
    task_->setItemData(2, tr("Fit a generative model's latent code to the image"), Qt::ToolTipRole);
    connect(task_, &QComboBox::currentIndexChanged, this, &MainWindow::onTaskChanged);
    sigma_ = new QDoubleSpinBox;
    sigma_->setObjectName("noiseSigma");
    sigma_->setToolTip(tr("Denoising: the noise's standard deviation on the 0–255 scale, as the objective assumes it"));
    sigma_->setRange(0.5, 255);
    sigma_->setValue(25);
    sigma_->setSuffix(tr(" (0–255)"));
    auto* addNoise = new QPushButton(tr("Add synthetic noise"));
    addNoise->setToolTip(tr("Adds Gaussian noise of this σ (seed 0) and keeps the clean image as ground truth"));
    connect(addNoise, &QPushButton::clicked, this, &MainWindow::addSyntheticNoise);
    brush_ = new QSpinBox;
    brush_->setRange(1, 200);
    brush_->setValue(mask_->brushRadius());
    connect(brush_, &QSpinBox::valueChanged, mask_, &widgets::MaskLayer::setBrushRadius);
    eraser_ = new QCheckBox(tr("Eraser"));
    connect(eraser_, &QCheckBox::toggled, mask_, &widgets::MaskLayer::setErasing);

    auto* panel = new QWidget;
    auto* form = new QFormLayout;
    form->addRow(tr("Task"), task_);
    form->addRow(tr("Noise σ"), sigma_);
    form->addRow(QString(), addNoise);
    form->addRow(tr("Brush radius"), brush_);
    form->addRow(QString(), eraser_);
    settings_ = new widgets::SolverSettingsPanel;
    auto* panelLayout = new QVBoxLayout(panel);
    panelLayout->addLayout(form);
    panelLayout->addWidget(settings_);
    panelLayout->addStretch();
    settings_->setDevices(torch::cuda::is_available() ? QStringList{"cpu", "cuda"} : QStringList{"cpu"});
    // Training runs compute where solves do.
    connect(settings_, &widgets::SolverSettingsPanel::changed, training_,
            [this] { training_->setDevice(settings_->values().device); });
    auto* dock = new QDockWidget(tr("Problem and solver"));
    dock->setObjectName("settingsDock");
    dock->setWidget(panel);
    addDockWidget(Qt::LeftDockWidgetArea, dock);

    picker_ = new ModelPicker;
    connect(picker_, &ModelPicker::modelChosen, this, [this](const QString& path) {
        if (!loadModel(path) && model_)
            picker_->showModel(QString::fromStdString(model_->path)); // the current model stays
    });
    auto* modelDock = new QDockWidget(tr("Model"));
    modelDock->setObjectName("modelDock");
    modelDock->setWidget(picker_);
    addDockWidget(Qt::LeftDockWidgetArea, modelDock);

    // The restoration docks mean nothing to the attack and few-shot tabs, which
    // have their own models and settings: they step aside there and come back
    // as they were.
    connect(tabs_, &QTabWidget::currentChanged, this, [this, dock, modelDock] {
        const bool ownSettings = tabs_->currentWidget() == attack_ || tabs_->currentWidget() == fewShot_;
        for (QDockWidget* d : {dock, modelDock}) {
            if (ownSettings && !d->isHidden()) {
                d->setProperty("hiddenForOwnSettings", true);
                d->hide();
            } else if (!ownSettings && d->property("hiddenForOwnSettings").toBool()) {
                d->setProperty("hiddenForOwnSettings", false);
                d->show();
            }
        }
    });

    status_ = new QLabel(tr("Open an image to begin."));
    statusBar()->addWidget(status_, 1);
    progress_ = new QProgressBar;
    progress_->setObjectName("solveProgress");
    progress_->setMaximumWidth(260);
    progress_->setVisible(false);
    stopButton_ = new QPushButton(tr("Stop"));
    stopButton_->setToolTip(tr("Stop after the current iteration; the result so far stays"));
    stopButton_->setVisible(false);
    connect(stopButton_, &QPushButton::clicked, this, &MainWindow::stop);
    statusBar()->addPermanentWidget(progress_);
    statusBar()->addPermanentWidget(stopButton_);
}

void MainWindow::buildActions()
{
    auto* file = menuBar()->addMenu(tr("&File"));
    auto* open = file->addAction(tr("&Open image…"), QKeySequence::Open, this, &MainWindow::openDialog);
    recentMenu_ = file->addMenu(tr("Open &recent"));
    rebuildRecentMenu();
    file->addAction(tr("Open &ground truth…"), this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Open ground truth"), {}, tr(kImageFilter));
        if (!path.isEmpty())
            setGroundTruth(path);
    });
    saveAction_ = file->addAction(tr("&Save result…"), QKeySequence::Save, this, &MainWindow::saveResult);
    file->addAction(tr("Open &model…"), this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Open model"), {}, tr("Models (*.pt);;All files (*)"));
        if (!path.isEmpty())
            loadModel(path);
    });
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

    auto* edit = menuBar()->addMenu(tr("&Mask"));
    auto* undo = mask_->undoStack()->createUndoAction(this, tr("&Undo"));
    undo->setShortcut(QKeySequence::Undo);
    auto* redo = mask_->undoStack()->createRedoAction(this, tr("&Redo"));
    redo->setShortcut(QKeySequence::Redo);
    edit->addAction(undo);
    edit->addAction(redo);
    edit->addSeparator();
    edit->addAction(tr("&Clear"), mask_, &widgets::MaskLayer::clear);
    edit->addAction(tr("&Invert"), mask_, &widgets::MaskLayer::invert);
    edit->addAction(tr("&Load mask…"), this, &MainWindow::loadMaskDialog);
    edit->addAction(tr("&Save mask…"), this, &MainWindow::saveMaskDialog);

    auto* solve = menuBar()->addMenu(tr("&Solve"));
    runAction_ = solve->addAction(tr("&Run"), QKeySequence(Qt::Key_F5), this, &MainWindow::run);
    stopAction_ = solve->addAction(tr("S&top"), QKeySequence(Qt::Key_Escape), this, &MainWindow::stop);
    // The canvases share one view, so zooming the observation zooms them all.
    auto* view = menuBar()->addMenu(tr("&View"));
    view->addAction(tr("Zoom &in"), QKeySequence::ZoomIn, this, [this] { observation_->zoomBy(1.25); });
    view->addAction(tr("Zoom &out"), QKeySequence::ZoomOut, this, [this] { observation_->zoomBy(0.8); });
    view->addAction(tr("&Actual size"), QKeySequence(Qt::CTRL | Qt::Key_1), observation_,
                    &widgets::ImageCanvas::showActualSize);
    view->addAction(tr("&Fit to window"), QKeySequence(Qt::CTRL | Qt::Key_0), observation_,
                    &widgets::ImageCanvas::fitToWindow);
    view->addSeparator();
    for (auto* dock : findChildren<QDockWidget*>()) // show or hide the panels; the layout is kept on quit
        view->addAction(dock->toggleViewAction());

    edit->addSeparator();
    edit->addAction(tr("&Larger brush"), QKeySequence(Qt::Key_BracketRight), this,
                    [this] { brush_->setValue(brush_->value() + std::max(1, brush_->value() / 4)); });
    edit->addAction(tr("S&maller brush"), QKeySequence(Qt::Key_BracketLeft), this,
                    [this] { brush_->setValue(brush_->value() - std::max(1, brush_->value() / 5)); });

    auto* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About JIIO Workbench"), this, &MainWindow::showAbout);
    help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);

    auto* toolbar = addToolBar(tr("Main"));
    toolbar->setObjectName("mainToolbar");
    toolbar->addAction(open);
    toolbar->addAction(saveAction_);
    toolbar->addSeparator();
    toolbar->addAction(undo);
    toolbar->addAction(redo);
    toolbar->addSeparator();
    toolbar->addAction(runAction_);
    toolbar->addAction(stopAction_);
}

bool MainWindow::loadModel(const QString& path)
{
    try {
        auto loaded = std::make_shared<LoadedModel>(jiio::loadModel(path.toStdString()));
        if (loaded->config.kind == ModelKind::Classifier)
            throw Error("this model is a classifier: open it in the Attack tab");
        if (loaded->config.kind == ModelKind::FewShot)
            throw Error("this model is a few-shot classifier: it adapts to episodes, it does not restore images");
        if (running_)
            throw Error("stop the running solve before changing the model");
        model_ = loaded;
        settings_->setValues([&] {
            auto values = settings_->values();
            const auto defaults = solveDefaults(loaded->config, inputMethodFromString(values.method.toStdString()));
            values.iterations = defaults.iterations;
            values.tolerance = defaults.tolerance;
            return values;
        }());
        restartWorker();
        picker_->showModel(path);
        // A generative model's natural task is fitting its latent code.
        const bool generative = loaded->config.kind == ModelKind::Generative;
        if (generative && task_->currentData().toString() != "reconstruct")
            setTask("reconstruct");
        else if (!generative && task_->currentData().toString() == "reconstruct")
            setTask("inpaint");
        status_->setText(tr("Model %1 (%2, %3 channel(s), %4 parameters)")
                             .arg(QFileInfo(path).fileName())
                             .arg(QString::fromStdString(toString(loaded->config.kind)))
                             .arg(loaded->config.imageChannels)
                             .arg(loaded->model->parameterCount()));
        updateActions();
        return true;
    } catch (const std::exception& e) {
        showError(tr("Cannot use the model: %1").arg(QString::fromStdString(oneLine(e.what()))));
        return false;
    }
}

QString MainWindow::currentModelPath() const
{
    return model_ ? QString::fromStdString(model_->path) : QString();
}

bool MainWindow::modelFits(const ImageData& image) const
{
    if (!model_)
        return false;
    const ModelConfig& config = model_->config;
    if (config.kind == ModelKind::Generative)
        return image.colorChannels() == config.imageChannels && image.width() <= config.imageSize
            && image.height() <= config.imageSize;
    return config.imageChannels == image.colorChannels();
}

bool MainWindow::ensureModelFor(const ImageData& image)
{
    if (modelFits(image))
        return true;
    if (!explicitModelPath_.isEmpty() && model_ && model_->config.kind == ModelKind::Restoration)
        return true; // the user's model stays; the image is converted
    try {
        return loadModel(QString::fromStdString(locateDefaultRestorationModel(image.colorChannels())));
    } catch (const std::exception&) {
        return model_ != nullptr; // keep the current model; the image is converted
    }
}

void MainWindow::onTaskChanged()
{
    // Only what applies to the task can be set.
    const QString task = task_->currentData().toString();
    sigma_->setEnabled(task == "denoise");
    brush_->setEnabled(task == "inpaint");
    eraser_->setEnabled(task == "inpaint");
    // Latent reconstruction needs a generative model: bring in the shipped one.
    if (task_->currentData().toString() != "reconstruct" || running_
        || (model_ && model_->config.kind == ModelKind::Generative))
        return;
    try {
        loadModel(QString::fromStdString(locateDefaultGenerativeModel()));
    } catch (const std::exception& e) {
        showError(QString::fromStdString(oneLine(e.what())));
    }
}

void MainWindow::restartWorker()
{
    replaceWorker(thread_, worker_, model_);
    connect(this, &MainWindow::solveRequested, worker_, &SolveWorker::solve, Qt::QueuedConnection);
    connect(this, &MainWindow::compareJobRequested, worker_, &SolveWorker::compare, Qt::QueuedConnection);
    connect(worker_, &SolveWorker::iteration, this, [this](const widgets::ConvergencePoint& p) {
        if (comparing_)
            compare_->addPoint(p);
        else
            plot_->addPoint(p);
        updateStatus(p);
    });
    connect(worker_, &SolveWorker::segment, this, [this](int index, int count) {
        segmentIndex_ = index;
        segmentCount_ = std::max(1, count);
    });
    connect(worker_, &SolveWorker::compareRunStarted, compare_, &CompareView::startRun);
    connect(worker_, &SolveWorker::compareRowReady, compare_, &CompareView::addRow);
    connect(worker_, &SolveWorker::compareFinished, this, [this] {
        running_ = comparing_ = false;
        compare_->setRunning(false);
        status_->setText(tr("Comparison finished."));
        updateActions();
        Q_EMIT compareFinished();
    });
    connect(worker_, &SolveWorker::preview, this, [this](const QImage& image) {
        if (!running_)
            return;
        result_->setImage(image);
        split_->setImage(image);
    });
    connect(worker_, &SolveWorker::finished, this, &MainWindow::onFinished);
    connect(worker_, &SolveWorker::failed, this, &MainWindow::onFailed);
    thread_.start();
}

bool MainWindow::openImage(const QString& path)
{
    if (running_) {
        showError(tr("Stop the running solve before opening another image."));
        return false;
    }
    if (!mayDiscardWork())
        return false;
    try {
        ImageData loaded = readImage(path.toStdString());
        ensureModelFor(loaded);
        if (model_ && model_->config.imageChannels == 1 && loaded.colorChannels() == 3) {
            // Only a gray model is at hand (an RGB model restores gray images itself).
            cv::Mat converted;
            cv::cvtColor(loaded.color, converted, cv::COLOR_RGB2GRAY);
            loaded.color = converted;
        }
        *observed_ = loaded;
        groundTruth_ = QImage();
        lastResult_ = QImage();
        lastFullResult_ = cv::Mat();
        resultSaved_ = true;
        const QImage shown = toQImage(observed_->color);
        observation_->setImage(shown);
        observation_->fitToWindow(); // all of a new image in view, whatever the last zoom
        result_->setImage(QImage());
        refreshComparisonViews();
        mask_->reset(shown.size());
        plot_->clear();
        setWindowTitle(tr("JIIO Workbench – %1").arg(QFileInfo(path).fileName()));
        status_->setText(tr("%1: %2x%3, %4 channel(s), %5-bit")
                             .arg(QFileInfo(path).fileName())
                             .arg(shown.width())
                             .arg(shown.height())
                             .arg(observed_->colorChannels())
                             .arg(observed_->depth == CV_16U ? 16 : 8));
        inputSuffix_ = QFileInfo(path).suffix();
        addRecent(path);
        updateActions();
        return true;
    } catch (const std::exception& e) {
        showError(QString::fromStdString(oneLine(e.what())));
        return false;
    }
}

void MainWindow::setTask(const QString& task)
{
    task_->setCurrentIndex(std::max(0, task_->findData(task)));
}

void MainWindow::setSigma(double sigma)
{
    sigma_->setValue(sigma);
}

void MainWindow::addSyntheticNoise()
{
    if (observed_->color.empty() || running_)
        return;
    groundTruth_ = toQImage(observed_->color);
    observed_->color = addGaussianNoise(observed_->color, sigma_->value(), 0);
    observation_->setImage(toQImage(observed_->color));
    refreshComparisonViews();
    setTask("denoise");
    status_->setText(tr("Added Gaussian noise, σ = %1; the clean image is the ground truth.").arg(sigma_->value()));
}

bool MainWindow::setGroundTruth(const QString& path)
{
    try {
        ImageData truth = readImage(path.toStdString());
        if (truth.color.size() != observed_->color.size())
            throw Error("the ground truth is " + std::to_string(truth.width()) + "x" + std::to_string(truth.height())
                        + " but the image is " + std::to_string(observed_->width()) + "x"
                        + std::to_string(observed_->height()));
        if (truth.colorChannels() != observed_->colorChannels())
            cv::cvtColor(truth.color, truth.color, truth.colorChannels() == 3 ? cv::COLOR_RGB2GRAY : cv::COLOR_GRAY2RGB);
        groundTruth_ = toQImage(truth.color);
        refreshComparisonViews();
        return true;
    } catch (const std::exception& e) {
        showError(tr("Cannot use the ground truth: %1").arg(QString::fromStdString(oneLine(e.what()))));
        return false;
    }
}

void MainWindow::refreshComparisonViews()
{
    const QImage observation = observation_->image();
    const QImage& result = result_->image();
    split_->setImage(result.isNull() ? observation : result);
    split_->setSplitImage(result.isNull() ? QImage() : observation);
    truth_->setImage(groundTruth_);
    views_->setTabEnabled(views_->indexOf(truth_), !groundTruth_.isNull());
    const bool againstTruth = !groundTruth_.isNull();
    const QImage& reference = againstTruth ? groundTruth_ : observation;
    if (result.isNull() || reference.size() != result.size()) {
        difference_->setImage(QImage());
        return;
    }
    // |result - reference|, amplified so small errors show.
    cv::Mat difference;
    cv::absdiff(fromQImage(result), fromQImage(reference), difference);
    difference_->setImage(toQImage(cv::min(difference * 4.0, 1.0)));
    difference_->setTitle(againstTruth ? tr("|result − ground truth| × 4") : tr("|result − observation| × 4"));
}

std::optional<SolveJob> MainWindow::makeJob()
{
    if (running_)
        return std::nullopt;
    if (observed_->color.empty()) {
        showError(tr("Open an image first."));
        return std::nullopt;
    }
    if (!model_) {
        showError(tr("No model is loaded (File → Open model…)."));
        return std::nullopt;
    }
    SolveJob job;
    job.task = task_->currentData().toString();
    job.sigma = sigma_->value();
    job.observation = observed_->color.clone();
    if (job.task == "inpaint") {
        if (mask_->isEmpty()) {
            showError(tr("Paint the missing pixels first (left button on the observation)."));
            return std::nullopt;
        }
        job.missingMask = maskToMat(mask_->mask());
    }
    if (job.task == "reconstruct" && model_->config.kind != ModelKind::Generative) {
        showError(tr("Latent reconstruction needs a generative model (choose one under Model)."));
        return std::nullopt;
    }
    job.settings = settings_->values();
    QSettings settings;
    settings_->save(settings);
    return job;
}

void MainWindow::startCompare(const QStringList& methods)
{
    const auto job = makeJob();
    if (!job)
        return;
    compare_->clear();
    compare_->setGroundTruth(groundTruth_);
    compare_->setRunning(true);
    running_ = comparing_ = true;
    runClock_.start();
    updateActions();
    worker_->clearStopRequest();
    Q_EMIT compareJobRequested(*job, methods);
}

void MainWindow::run()
{
    const auto job = makeJob();
    if (!job)
        return;
    plot_->startRun(job->settings.method);
    running_ = true;
    runClock_.start();
    updateActions();
    worker_->clearStopRequest();
    Q_EMIT solveRequested(*job);
}

bool MainWindow::showTab(const QString& name)
{
    const QHash<QString, QWidget*> pages{{"restore", tabs_->widget(0)}, {"compare", compare_}, {"train", training_},
                                         {"attack", attack_}, {"fewshot", fewShot_}};
    if (!pages.contains(name))
        return false;
    tabs_->setCurrentWidget(pages.value(name));
    return true;
}

void MainWindow::runVisibleTab()
{
    if (tabs_->currentWidget() == compare_)
        startCompare(compare_->selectedMethods());
    else if (tabs_->currentWidget() == training_)
        training_->start();
    else if (tabs_->currentWidget() == attack_)
        attack_->run();
    else if (tabs_->currentWidget() == fewShot_)
        fewShot_->adapt();
    else
        run();
}

void MainWindow::stop()
{
    if (running_ && worker_)
        worker_->requestStop();
}

void MainWindow::onFinished(const QImage& result, const cv::Mat& fullResult, const QString& summary)
{
    running_ = false;
    lastResult_ = result;
    lastFullResult_ = fullResult;
    resultSaved_ = fullResult.empty();
    result_->setImage(result);
    refreshComparisonViews();
    QString text = tr("Done: %1").arg(summary);
    if (!groundTruth_.isNull()) {
        const double value = psnr(fromQImage(groundTruth_), fromQImage(result));
        text += tr(" — PSNR %1 dB against the clean image").arg(value, 0, 'f', 2);
    }
    status_->setText(text);
    updateActions();
    Q_EMIT solveFinished(summary);
}

void MainWindow::onFailed(const QString& message)
{
    running_ = false;
    comparing_ = false;
    compare_->setRunning(false);
    updateActions();
    showError(message);
    Q_EMIT solveFailed(message);
}

void MainWindow::updateStatus(const widgets::ConvergencePoint& p)
{
    if (running_ && !comparing_) {
        // Iterations continue across tiles: the bar counts this tile's.
        const int budget = std::max(1, settings_->values().iterations);
        const int within = std::clamp(p.iteration - segmentIndex_ * budget, 0, budget);
        progress_->setRange(0, budget * segmentCount_);
        progress_->setValue(std::min(segmentIndex_ * budget + within, budget * segmentCount_));
        progress_->setFormat(segmentCount_ > 1
                                 ? tr("tile %1 of %2 · iteration %3 of %4")
                                       .arg(segmentIndex_ + 1)
                                       .arg(segmentCount_)
                                       .arg(within)
                                       .arg(budget)
                                 : tr("iteration %1 of %2").arg(within).arg(budget));
    }
    const double elapsed = runClock_.isValid() ? runClock_.elapsed() / 1000.0 : p.seconds;
    status_->setText(tr("iteration %1 · residual %2 · objective %3 · %4 it/s · %5 s")
                         .arg(p.iteration)
                         .arg(p.residualTotal, 0, 'e', 2)
                         .arg(std::isfinite(p.objective) ? QString::number(p.objective, 'g', 6) : QString("–"))
                         .arg(p.iteration / std::max(p.seconds, 1e-9), 0, 'f', 1)
                         .arg(elapsed, 0, 'f', 1));
}

void MainWindow::updateActions()
{
    const bool hasImage = !observed_->color.empty();
    runAction_->setEnabled(hasImage && model_ && !running_);
    stopAction_->setEnabled(running_);
    const bool solving = running_ && !comparing_;
    if (solving && !progress_->isVisible()) { // a new solve starts at zero
        segmentIndex_ = 0;
        segmentCount_ = 1;
        progress_->setValue(0);
    }
    progress_->setVisible(solving);
    stopButton_->setVisible(solving);
    saveAction_->setEnabled(!lastResult_.isNull() && !running_);
}

void MainWindow::showError(const QString& message)
{
    lastError_ = message;
    // Non-modal: the window stays usable and nothing blocks the event loop.
    auto* box = new QMessageBox(QMessageBox::Warning, tr("JIIO Workbench"), message, QMessageBox::Ok, this);
    box->setObjectName("errorDialog");
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

void MainWindow::openDialog()
{
    const QString path = QFileDialog::getOpenFileName(this, tr("Open image"), {}, tr(kImageFilter));
    if (!path.isEmpty())
        openImage(path);
}

void MainWindow::saveResult()
{
    if (lastFullResult_.empty())
        return;
    // A name typed without a suffix gets the input's (or PNG).
    QFileDialog dialog(this, tr("Save result"), {}, tr(kImageFilter));
    dialog.setAcceptMode(QFileDialog::AcceptSave);
    dialog.setObjectName("saveResultDialog");
    dialog.setDefaultSuffix(inputSuffix_.isEmpty() ? QString("png") : inputSuffix_);
    if (dialog.exec() == QDialog::Accepted && !dialog.selectedFiles().isEmpty())
        saveResultTo(dialog.selectedFiles().front());
}

bool MainWindow::saveResultTo(const QString& path)
{
    if (lastFullResult_.empty()) {
        showError(tr("There is no result to save yet."));
        return false;
    }
    try {
        // The full-precision result in the input's depth: a 16-bit image's
        // known pixels come back bit-identical.
        ImageData out;
        out.color = lastFullResult_.clone();
        if (out.color.channels() != observed_->colorChannels())
            cv::cvtColor(out.color, out.color, out.color.channels() == 3 ? cv::COLOR_RGB2GRAY : cv::COLOR_GRAY2RGB);
        out.depth = observed_->depth;
        out.alpha = observed_->alpha;
        writeImage(path.toStdString(), out);
        resultSaved_ = true;
        status_->setText(tr("Result saved to %1").arg(path));
        return true;
    } catch (const std::exception& e) {
        showError(QString::fromStdString(oneLine(e.what())));
        return false;
    }
}

void MainWindow::loadMaskDialog()
{
    const QString path = QFileDialog::getOpenFileName(this, tr("Load mask"), {}, tr(kImageFilter));
    if (path.isEmpty())
        return;
    if (const QString error = mask_->load(path); !error.isEmpty())
        showError(error);
}

bool MainWindow::saveMaskDialog()
{
    QFileDialog dialog(this, tr("Save mask"), {}, tr("PNG (*.png)"));
    dialog.setAcceptMode(QFileDialog::AcceptSave);
    dialog.setDefaultSuffix("png");
    if (dialog.exec() != QDialog::Accepted || dialog.selectedFiles().isEmpty())
        return false;
    const QString path = dialog.selectedFiles().front();
    if (!mask_->save(path)) {
        showError(tr("The mask could not be saved to %1.").arg(path));
        return false;
    }
    return true;
}

void MainWindow::addRecent(const QString& path)
{
    QSettings settings;
    QStringList recent = settings.value("recentFiles").toStringList();
    recent.removeAll(path);
    recent.prepend(path);
    while (recent.size() > kMaxRecent)
        recent.removeLast();
    settings.setValue("recentFiles", recent);
    rebuildRecentMenu();
}

void MainWindow::rebuildRecentMenu()
{
    recentMenu_->clear();
    const QStringList recent = QSettings().value("recentFiles").toStringList();
    for (const QString& path : recent)
        recentMenu_->addAction(QFileInfo(path).fileName(), this, [this, path] { openImage(path); });
    recentMenu_->setEnabled(!recent.isEmpty());
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    if (training_->isRunning()) {
        QMessageBox ask(QMessageBox::Question, tr("JIIO Workbench"),
                        tr("A training run is in progress. Quit anyway? It stops after the current step and writes "
                           "a checkpoint, from which Resume continues."),
                        QMessageBox::Cancel, this);
        ask.setObjectName("quitDuringTrainingDialog");
        auto* quit = ask.addButton(tr("Checkpoint and quit"), QMessageBox::AcceptRole);
        ask.setDefaultButton(QMessageBox::Cancel);
        ask.exec();
        if (ask.clickedButton() != quit) {
            event->ignore();
            return;
        }
        training_->stopAndWait();
    }
    if (!mayDiscardWork()) {
        event->ignore();
        return;
    }
    QSettings settings;
    settings_->save(settings);
    settings.setValue("window/geometry", saveGeometry());
    settings.setValue("window/state", saveState());
    stop();
    attack_->stop();
    fewShot_->stop();
    event->accept();
}

bool MainWindow::mayDiscardWork()
{
    return mayDiscardResult() && mayDiscardMask();
}

// Save / Discard / Cancel before something unsaved is lost: `save` saves
// (and may be cancelled in its file dialog), `discard` forgets; true when the
// caller may go on.
bool MainWindow::askBeforeLosing(const QString& question, const char* dialogName, const std::function<bool()>& save,
                                 const std::function<void()>& discard)
{
    QMessageBox ask(QMessageBox::Question, tr("JIIO Workbench"), question,
                    QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, this);
    ask.setObjectName(dialogName);
    ask.setDefaultButton(QMessageBox::Save);
    switch (ask.exec()) {
    case QMessageBox::Save:
        return save();
    case QMessageBox::Discard:
        discard();
        return true;
    default:
        return false;
    }
}

bool MainWindow::mayDiscardMask()
{
    return !mask_->hasUnsavedPainting()
           || askBeforeLosing(tr("The painted mask has not been saved. Save it first?"), "unsavedMaskDialog",
                              [this] { return saveMaskDialog(); }, [this] { mask_->undoStack()->setClean(); });
}

bool MainWindow::mayDiscardResult()
{
    return resultSaved_
           || askBeforeLosing(tr("The restored image has not been saved. Save it first?"), "unsavedResultDialog",
                              [this] {
                                  saveResult();
                                  return resultSaved_;
                              },
                              [this] { resultSaved_ = true; });
}

bool MainWindow::restoreLayout()
{
    const QSettings settings;
    const QByteArray geometry = settings.value("window/geometry").toByteArray();
    if (geometry.isEmpty() || !restoreGeometry(geometry))
        return false;
    restoreState(settings.value("window/state").toByteArray());
    return true;
}

QString MainWindow::aboutText() const
{
    QString model = tr("none");
    if (model_)
        model = tr("%1 (%2, %3 parameters)")
                    .arg(currentModelPath())
                    .arg(QString::fromStdString(toString(model_->config.kind)))
                    .arg(model_->model->parameterCount());
    return tr("<h3>JIIO Workbench %1</h3>"
              "<p>Joint inference and input optimisation for deep equilibrium models: restore images and watch "
              "the equilibrium, the adjoint and the optimised input converge together.</p>"
              "<p>Qt %2 · LibTorch %3 · OpenCV %4</p><p>Model: %5</p>")
        .arg(QApplication::applicationVersion(), QString::fromLatin1(qVersion()), QString::fromLatin1(TORCH_VERSION),
             QString::fromLatin1(CV_VERSION), model.toHtmlEscaped());
}

void MainWindow::showAbout()
{
    auto* box = new QMessageBox(QMessageBox::Information, tr("About JIIO Workbench"), aboutText(), QMessageBox::Ok,
                                this);
    box->setObjectName("aboutDialog");
    box->setIconPixmap(windowIcon().pixmap(64, 64));
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event)
{
    if (event->mimeData()->hasUrls())
        event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event)
{
    const auto urls = event->mimeData()->urls();
    if (!urls.isEmpty() && urls.front().isLocalFile())
        openImage(urls.front().toLocalFile());
}

} // namespace jiio::workbench
