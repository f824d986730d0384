#include "attack_view.h"

#include "image_convert.h"
#include "model_row.h"
#include "worker_thread.h"

#include "core/error.h"
#include "core/io/fashion_mnist.h"
#include "core/io/image_io.h"
#include "core/models/checkpoint.h"
#include "core/models/model_locator.h"
#include "widgets/convergence_plot.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QVBoxLayout>

#include <opencv2/imgproc.hpp>

namespace jiio::workbench {

namespace {

constexpr int kGallerySize = 24;
constexpr int kImageZoom = 4; // 28x28 images shown at 112x112, pixels kept sharp

QString className(const QStringList& names, int index)
{
    return index >= 0 && index < names.size() ? names[index] : QObject::tr("class %1").arg(index);
}

} // namespace

AttackView::AttackView(const QString& modelPath, QWidget* parent) : QWidget(parent)
{
    qRegisterMetaType<AttackJob>();
    qRegisterMetaType<AttackOutcome>();
    qRegisterMetaType<widgets::ConvergencePoint>();
    for (const auto& name : fashionMnistClassNames())
        classNames_ << QString::fromStdString(name);
    buildUi();
    loadSettings();
    fillGallery();
    QString path = modelPath;
    if (path.isEmpty()) {
        try {
            path = QString::fromStdString(locateShippedModel(kClassifierModelName));
        } catch (const Error&) {
            status_->setText(tr("No classifier found: open one (jiio train --task classify makes one)."));
        }
    }
    if (!path.isEmpty())
        loadModel(path);
    if (!galleryImages_.empty())
        selectGalleryImage(0);
    thread_.start();
}

AttackView::~AttackView()
{
    retireWorker(thread_, worker_);
}

void AttackView::buildUi()
{
    auto* controls = new QWidget;
    controls->setMaximumWidth(360);
    auto* form = new QFormLayout(controls);
    modelLabel_ = addModelRow(form, this, tr("(no classifier)"), tr("Open classifier…"), tr("Open a classifier"),
                              [this](const QString& path) { loadModel(path); });
    gallery_ = new QListWidget;
    gallery_->setObjectName("attackGallery");
    gallery_->setViewMode(QListView::IconMode);
    gallery_->setIconSize(QSize(48, 48));
    gallery_->setMovement(QListView::Static);
    gallery_->setResizeMode(QListView::Adjust);
    gallery_->setMinimumHeight(200);
    connect(gallery_, &QListWidget::currentRowChanged, this, [this](int row) { selectGalleryImage(row); });
    form->addRow(tr("Test images"), gallery_);
    auto* openImageButton = new QPushButton(tr("Open image…"));
    connect(openImageButton, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Open an image to attack"));
        if (!path.isEmpty())
            openImage(path);
    });
    form->addRow(QString(), openImageButton);

    norm_ = new QComboBox;
    norm_->addItem(tr("ℓ∞ (each pixel by at most ε)"), "linf");
    norm_->addItem(tr("ℓ2 (the whole perturbation's length)"), "l2");
    norm_->setToolTip(tr("The ball the perturbation must stay in; pixel values also stay in [0, 1]."));
    eps_ = new QDoubleSpinBox;
    eps_->setDecimals(3);
    eps_->setRange(0.001, 10.0);
    eps_->setSingleStep(0.01);
    eps_->setValue(0.1);
    eps_->setToolTip(tr("Radius of the ball, in pixel units of [0, 1]."));
    connect(norm_, &QComboBox::currentIndexChanged, this,
            [this] { eps_->setValue(norm_->currentData().toString() == "l2" ? 1.0 : 0.1); });
    solver_ = new QComboBox;
    solver_->addItem(tr("JIIO (Picard)"), "jiio-picard");
    solver_->addItem(tr("JIIO (Anderson)"), "jiio-anderson");
    solver_->addItem(tr("PGD through the DEQ"), "pgd");
    solver_->setToolTip(tr("JIIO solves the attack jointly with the equilibrium; PGD takes projected steps, "
                           "each with a forward and an adjoint equilibrium solve."));
    iterations_ = new QSpinBox;
    iterations_->setRange(1, 10000);
    iterations_->setValue(40);
    iterations_->setToolTip(tr("JIIO iterations or PGD steps."));
    form->addRow(tr("Norm"), norm_);
    form->addRow(tr("ε"), eps_);
    form->addRow(tr("Method"), solver_);
    form->addRow(tr("Iterations"), iterations_);
    run_ = new QPushButton(tr("Attack"));
    stop_ = new QPushButton(tr("Stop"));
    compare_ = new QPushButton(tr("Compare JIIO and PGD"));
    compare_->setToolTip(tr("Runs both attacks on this image with their loss curves overlaid."));
    connect(run_, &QPushButton::clicked, this, &AttackView::run);
    connect(stop_, &QPushButton::clicked, this, &AttackView::stop);
    connect(compare_, &QPushButton::clicked, this, &AttackView::runComparison);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(run_);
    buttons->addWidget(stop_);
    form->addRow(buttons);
    form->addRow(compare_);

    auto makeImageLabel = [](const QString& name) {
        auto* label = new QLabel;
        label->setObjectName(name);
        label->setFixedSize(28 * kImageZoom, 28 * kImageZoom);
        label->setAlignment(Qt::AlignCenter);
        label->setFrameShape(QFrame::StyledPanel);
        return label;
    };
    clean_ = makeImageLabel("attackClean");
    adversarial_ = makeImageLabel("attackAdversarial");
    perturbation_ = makeImageLabel("attackPerturbation");
    auto* images = new QHBoxLayout;
    for (auto [label, title] : {std::pair{clean_, tr("Clean")}, std::pair{adversarial_, tr("Adversarial")},
                                std::pair{perturbation_, tr("Perturbation (amplified)")}}) {
        auto* column = new QVBoxLayout;
        column->addWidget(new QLabel(title));
        column->addWidget(label);
        images->addLayout(column);
    }

    auto* probabilities = new QGroupBox(tr("Class probabilities"));
    auto* grid = new QGridLayout(probabilities);
    for (int k = 0; k < classNames_.size(); ++k) {
        auto* name = new QLabel(classNames_[k]);
        auto* bar = new QProgressBar;
        bar->setRange(0, 1000);
        bar->setValue(0);
        bar->setFormat(QStringLiteral("%1").arg(0.0, 0, 'f', 3));
        barNames_ << name;
        bars_ << bar;
        grid->addWidget(name, k, 0);
        grid->addWidget(bar, k, 1);
    }

    plot_ = new widgets::ConvergencePlot;
    status_ = new QLabel;
    status_->setWordWrap(true);
    auto* right = new QWidget;
    auto* rightLayout = new QVBoxLayout(right);
    // Images above their class probabilities: side by side they made the
    // window wider than a 1280-pixel screen.
    images->addStretch(1);
    rightLayout->addLayout(images);
    rightLayout->addWidget(probabilities);
    rightLayout->addWidget(plot_, 1);
    rightLayout->addWidget(status_);

    auto* splitter = new QSplitter;
    splitter->addWidget(controls);
    splitter->addWidget(right);
    splitter->setStretchFactor(1, 1);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(splitter);
    setRunning(false);
}

void AttackView::loadSettings()
{
    QSettings settings;
    settings.beginGroup("attack");
    const int norm = norm_->findData(settings.value("norm", "linf").toString());
    if (norm >= 0) {
        const QSignalBlocker keepEps(norm_); // a stored eps is not reset to the norm's default
        norm_->setCurrentIndex(norm);
    }
    eps_->setValue(settings.value("eps", eps_->value()).toDouble());
    const int solver = solver_->findData(settings.value("solver", "jiio-picard").toString());
    if (solver >= 0)
        solver_->setCurrentIndex(solver);
    iterations_->setValue(settings.value("iterations", iterations_->value()).toInt());
}

void AttackView::saveSettings() const
{
    QSettings settings;
    settings.beginGroup("attack");
    settings.setValue("norm", norm_->currentData());
    settings.setValue("eps", eps_->value());
    settings.setValue("solver", solver_->currentData());
    settings.setValue("iterations", iterations_->value());
}

void AttackView::fillGallery()
{
    try {
        const auto test = loadFashionMnist(defaultFashionMnistFolder(), FashionMnistSplit::Test, kGallerySize);
        for (int64_t i = 0; i < test.size(); ++i) {
            const auto plane = test.images[i][0].contiguous();
            cv::Mat image = cv::Mat(int(plane.size(0)), int(plane.size(1)), CV_32F, plane.data_ptr()).clone();
            const int label = int(test.labels[i].item<int64_t>());
            galleryImages_.push_back(image);
            galleryLabels_.push_back(label);
            auto* item = new QListWidgetItem(QIcon(QPixmap::fromImage(toQImage(image).scaled(48, 48))),
                                             className(classNames_, label));
            gallery_->addItem(item);
        }
    } catch (const Error& e) {
        gallery_->setEnabled(false);
        gallery_->setToolTip(QString::fromStdString(e.what()));
    }
}

bool AttackView::loadModel(const QString& path)
{
    try {
        auto loaded = std::make_shared<LoadedModel>(jiio::loadModel(path.toStdString()));
        if (loaded->config.kind != ModelKind::Classifier)
            throw Error("'" + QFileInfo(path).fileName().toStdString() + "' is a " + toString(loaded->config.kind)
                        + " model; attacks need a classifier");
        loaded->model->eval();
        model_ = std::move(loaded);
        modelLabel_->setText(QFileInfo(path).fileName());
        modelLabel_->setToolTip(path);
        restartWorker();
        setRunning(false);
        return true;
    } catch (const std::exception& e) {
        fail(QString::fromStdString(oneLine(e.what())));
        return false;
    }
}

QString AttackView::modelPath() const
{
    return model_ ? QString::fromStdString(model_->path) : QString();
}

void AttackView::restartWorker()
{
    replaceWorker(thread_, worker_, model_);
    connect(this, &AttackView::attackRequested, worker_, &AttackWorker::attack, Qt::QueuedConnection);
    connect(this, &AttackView::compareRequested, worker_, &AttackWorker::compare, Qt::QueuedConnection);
    connect(worker_, &AttackWorker::runStarted, this,
            [this](const QString& solver) { plot_->startRun(solver, /*keepPrevious=*/comparing_); });
    connect(worker_, &AttackWorker::iteration, plot_, &widgets::ConvergencePlot::addPoint);
    connect(worker_, &AttackWorker::probabilities, this, &AttackView::showProbabilities);
    connect(worker_, &AttackWorker::preview, this, [this](const QImage& adversarial, const QImage& perturbation) {
        showImage(adversarial_, adversarial);
        showImage(perturbation_, perturbation);
    });
    connect(worker_, &AttackWorker::finished, this, &AttackView::onFinished);
    connect(worker_, &AttackWorker::failed, this, &AttackView::fail);
    connect(worker_, &AttackWorker::compareFinished, this, [this] {
        comparing_ = false;
        setRunning(false);
        Q_EMIT comparisonFinished();
    });
    thread_.start();
}

bool AttackView::openImage(const QString& path)
{
    try {
        cv::Mat image = readImage(path.toStdString()).color;
        if (image.channels() == 3)
            cv::cvtColor(image, image, cv::COLOR_RGB2GRAY);
        const int side = model_ ? model_->config.imageSize : 28;
        if (image.rows != side || image.cols != side)
            cv::resize(image, image, cv::Size(side, side), 0, 0, cv::INTER_AREA);
        gallery_->setCurrentRow(-1);
        setImage(image);
        return true;
    } catch (const std::exception& e) {
        fail(QString::fromStdString(oneLine(e.what())));
        return false;
    }
}

void AttackView::setImage(const cv::Mat& image, int label)
{
    image_ = image.clone();
    label_ = label;
    showImage(clean_, toQImage(image_));
    adversarial_->clear();
    perturbation_->clear();
}

bool AttackView::selectGalleryImage(int index)
{
    if (index < 0 || index >= int(galleryImages_.size()))
        return false;
    if (gallery_->currentRow() != index)
        gallery_->setCurrentRow(index); // comes back here through currentRowChanged
    setImage(galleryImages_[size_t(index)], galleryLabels_[size_t(index)]);
    status_->setText(tr("True class: %1").arg(className(classNames_, label_)));
    return true;
}

AttackJob AttackView::job() const
{
    AttackJob job;
    job.image = image_;
    job.label = label_;
    job.norm = norm_->currentData().toString();
    job.eps = eps_->value();
    job.solver = solver_->currentData().toString();
    job.iterations = iterations_->value();
    return job;
}

void AttackView::start(bool comparison)
{
    if (running_)
        return;
    if (!model_) {
        fail(tr("Open a classifier first."));
        return;
    }
    if (image_.empty()) {
        fail(tr("Pick a test image or open one first."));
        return;
    }
    saveSettings();
    lastError_.clear();
    probabilityUpdates_ = 0;
    comparing_ = comparison;
    if (comparison)
        plot_->clear();
    setRunning(true);
    status_->setText(comparison ? tr("Comparing JIIO and PGD…") : tr("Attacking…"));
    worker_->clearStopRequest();
    if (comparison)
        Q_EMIT compareRequested(job());
    else
        Q_EMIT attackRequested(job());
}

void AttackView::run()
{
    start(false);
}

void AttackView::runComparison()
{
    start(true);
}

void AttackView::stop()
{
    if (worker_)
        worker_->requestStop();
}

void AttackView::setRunning(bool running)
{
    running_ = running;
    run_->setEnabled(!running && model_);
    compare_->setEnabled(!running && model_);
    stop_->setEnabled(running);
}

void AttackView::showProbabilities(const QVector<double>& values)
{
    ++probabilityUpdates_;
    for (int k = 0; k < bars_.size(); ++k) {
        const double p = k < values.size() ? values[k] : 0.0;
        bars_[k]->setValue(int(std::lround(p * 1000)));
        bars_[k]->setFormat(QStringLiteral("%1").arg(p, 0, 'f', 3));
    }
}

void AttackView::showImage(QLabel* label, const QImage& image)
{
    label->setPixmap(QPixmap::fromImage(image.scaled(image.width() * kImageZoom, image.height() * kImageZoom,
                                                     Qt::IgnoreAspectRatio, Qt::FastTransformation)));
}

void AttackView::onFinished(const AttackOutcome& outcome)
{
    showImage(adversarial_, outcome.adversarial);
    showImage(perturbation_, outcome.perturbation);
    for (int k = 0; k < barNames_.size(); ++k) {
        QFont font = barNames_[k]->font();
        font.setBold(k == outcome.label);
        barNames_[k]->setFont(font);
    }
    const QString verdict = outcome.adversarialClass == outcome.label ? tr("the class held") : tr("the class changed");
    status_->setText(tr("%1: %2 (p %3) → %4 (p %5), %6; %7 s, %8 f-evaluations")
                         .arg(outcome.solver, className(classNames_, outcome.cleanClass))
                         .arg(outcome.cleanProbabilities.value(outcome.cleanClass), 0, 'f', 3)
                         .arg(className(classNames_, outcome.adversarialClass))
                         .arg(outcome.adversarialProbabilities.value(outcome.adversarialClass), 0, 'f', 3)
                         .arg(verdict)
                         .arg(outcome.seconds, 0, 'f', 2)
                         .arg(outcome.functionEvaluations));
    if (!comparing_)
        setRunning(false);
    Q_EMIT attackFinished(outcome);
}

void AttackView::fail(const QString& message)
{
    lastError_ = message;
    comparing_ = false;
    status_->setText(tr("Error: %1").arg(message));
    setRunning(false);
    Q_EMIT attackFailed(message);
}

} // namespace jiio::workbench
