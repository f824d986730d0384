#include "fewshot_view.h"

#include "model_row.h"
#include "worker_thread.h"

#include "core/error.h"
#include "core/io/fashion_mnist.h"
#include "core/models/checkpoint.h"
#include "core/models/model_locator.h"
#include "widgets/convergence_plot.h"

#include <QComboBox>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPainter>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QSplitter>
#include <QVBoxLayout>

namespace jiio::workbench {

namespace {

constexpr int kThumbnail = 56;        // query images: 28x28 at twice their size, pixels kept sharp
constexpr int kSupportThumbnail = 42; // support images, one row per class
constexpr int kFrame = 3;

QImage toGrayImage(const torch::Tensor& image) // [1, H, W] in [0, 1]
{
    const auto bytes = (image[0] * 255).round().clamp(0, 255).to(torch::kUInt8).contiguous();
    const int height = int(bytes.size(0)), width = int(bytes.size(1));
    return QImage(bytes.data_ptr<uint8_t>(), width, height, width, QImage::Format_Grayscale8).copy();
}

// The image enlarged to `side` pixels inside a frame of `frame` colour
// (transparent: none).
QPixmap framedThumbnail(const torch::Tensor& image, const QColor& frame, int side = kThumbnail)
{
    QPixmap pixmap(side + 2 * kFrame, side + 2 * kFrame);
    pixmap.fill(frame);
    QPainter painter(&pixmap);
    painter.drawImage(QRect(kFrame, kFrame, side, side), toGrayImage(image));
    return pixmap;
}

const QColor kRight(46, 125, 50);
const QColor kWrong(198, 40, 40);

} // namespace

FewShotView::FewShotView(const QString& modelPath, QWidget* parent) : QWidget(parent)
{
    qRegisterMetaType<FewShotJob>();
    qRegisterMetaType<FewShotOutcome>();
    qRegisterMetaType<widgets::ConvergencePoint>();
    for (const auto& name : fashionMnistClassNames())
        fashionNames_ << QString::fromStdString(name);
    buildUi();
    QString path = modelPath;
    if (path.isEmpty()) {
        try {
            path = QString::fromStdString(locateShippedModel(kFewShotModelName));
        } catch (const Error&) {
            status_->setText(tr("No few-shot model found: open one (jiio train --task meta makes one)."));
        }
    }
    if (!path.isEmpty())
        loadModel(path);
    thread_.start();
}

FewShotView::~FewShotView()
{
    retireWorker(thread_, worker_);
}

void FewShotView::buildUi()
{
    auto* controls = new QWidget;
    controls->setMaximumWidth(330);
    auto* form = new QFormLayout(controls);
    modelLabel_ = addModelRow(form, this, tr("(no few-shot model)"), tr("Open few-shot model…"),
                              tr("Open a few-shot model"), [this](const QString& path) { loadModel(path); });

    domain_ = new QComboBox;
    domain_->addItem(tr("Fashion-MNIST, unseen classes"), false);
    domain_->addItem(tr("Handwritten digits (another domain)"), true);
    domain_->setToolTip(tr("Episodes from the four Fashion-MNIST classes meta-training never saw (test split), "
                           "or from OpenCV's handwritten digits."));
    domain_->setCurrentIndex(1);
    shots_ = new QSpinBox;
    shots_->setRange(1, 20);
    shots_->setValue(5);
    shots_->setToolTip(tr("Support images per class."));
    queriesPerClass_ = new QSpinBox;
    queriesPerClass_->setRange(1, 30);
    queriesPerClass_->setValue(8);
    queriesPerClass_->setToolTip(tr("Query images per class, classified before and after adapting."));
    seed_ = new QSpinBox;
    seed_->setRange(0, 1000000);
    seed_->setToolTip(tr("The episode drawn; each new episode moves it on by one."));
    draw_ = new QPushButton(tr("New episode"));
    draw_->setToolTip(tr("Draws the classes, support and query images from the seed."));
    connect(draw_, &QPushButton::clicked, this, [this] {
        if (drawEpisode())
            seed_->setValue(seed_->value() + 1);
    });
    form->addRow(tr("Episodes from"), domain_);
    form->addRow(tr("Shots"), shots_);
    form->addRow(tr("Queries per class"), queriesPerClass_);
    form->addRow(tr("Seed"), seed_);
    form->addRow(QString(), draw_);

    method_ = new QComboBox;
    method_->addItem(tr("JIIO (Anderson)"), "jiio-anderson");
    method_->addItem(tr("Naive gradient descent"), "naive-gd");
    method_->setToolTip(tr("JIIO adapts the task vector jointly with the support images' equilibria; the naive "
                           "loop takes gradient steps, each with a forward and an adjoint equilibrium solve."));
    iterations_ = new QSpinBox;
    iterations_->setRange(1, 10000);
    iterations_->setValue(20);
    iterations_->setToolTip(tr("JIIO iterations or naive steps (default: the model's trained budget)."));
    form->addRow(tr("Method"), method_);
    form->addRow(tr("Iterations"), iterations_);
    adapt_ = new QPushButton(tr("Adapt"));
    stop_ = new QPushButton(tr("Stop"));
    compare_ = new QPushButton(tr("Compare JIIO and naive"));
    compare_->setToolTip(tr("Adapts by both methods at the same budget with their curves overlaid."));
    connect(adapt_, &QPushButton::clicked, this, &FewShotView::adapt);
    connect(stop_, &QPushButton::clicked, this, &FewShotView::stop);
    connect(compare_, &QPushButton::clicked, this, &FewShotView::runComparison);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(adapt_);
    buttons->addWidget(stop_);
    form->addRow(buttons);
    form->addRow(compare_);

    supportPanel_ = new QWidget;
    supportGrid_ = new QGridLayout(supportPanel_);
    supportGrid_->setSpacing(1);
    supportGrid_->setContentsMargins(2, 2, 2, 2);
    supportScroll_ = new QScrollArea;
    supportScroll_->setWidget(supportPanel_);
    supportScroll_->setWidgetResizable(true);
    auto* supportBox = new QGroupBox(tr("Support images"));
    auto* supportLayout = new QVBoxLayout(supportBox);
    supportLayout->addWidget(supportScroll_);

    queries_ = new QListWidget;
    queries_->setObjectName("fewShotQueries");
    queries_->setViewMode(QListView::IconMode);
    queries_->setIconSize(QSize(kThumbnail + 2 * kFrame, kThumbnail + 2 * kFrame));
    queries_->setMovement(QListView::Static);
    queries_->setResizeMode(QListView::Adjust);
    queries_->setSelectionMode(QAbstractItemView::NoSelection);
    queries_->setToolTip(tr("Each query's predicted class after adapting: green frame right, red wrong."));
    accuracy_ = new QLabel;
    accuracy_->setObjectName("fewShotAccuracy");
    auto* queryBox = new QGroupBox(tr("Query images"));
    auto* queryLayout = new QVBoxLayout(queryBox);
    queryLayout->addWidget(queries_);
    queryLayout->addWidget(accuracy_);

    plot_ = new widgets::ConvergencePlot;
    plot_->setMinimumWidth(240);
    status_ = new QLabel;
    status_->setWordWrap(true);
    // The episode's images in one column, the inner solve's curves beside
    // them: stacked, the three did not fit an 860-pixel-high screen.
    auto* images = new QWidget;
    auto* imagesLayout = new QVBoxLayout(images);
    imagesLayout->setContentsMargins(0, 0, 0, 0);
    imagesLayout->addWidget(supportBox);
    imagesLayout->addWidget(queryBox, 1);
    auto* columns = new QSplitter;
    columns->addWidget(images);
    columns->addWidget(plot_);
    columns->setStretchFactor(0, 3);
    columns->setStretchFactor(1, 2);
    auto* right = new QWidget;
    auto* rightLayout = new QVBoxLayout(right);
    rightLayout->addWidget(columns, 1);
    rightLayout->addWidget(status_);

    auto* splitter = new QSplitter;
    splitter->addWidget(controls);
    splitter->addWidget(right);
    splitter->setStretchFactor(1, 1);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(splitter);
    setRunning(false);
}

bool FewShotView::loadModel(const QString& path)
{
    try {
        auto loaded = std::make_shared<LoadedModel>(jiio::loadModel(path.toStdString()));
        if (loaded->config.kind != ModelKind::FewShot)
            throw Error("'" + QFileInfo(path).fileName().toStdString() + "' is a " + toString(loaded->config.kind)
                        + " model; few-shot adaptation needs a few-shot model (jiio train --task meta)");
        loaded->model->eval();
        model_ = std::move(loaded);
        modelLabel_->setText(QFileInfo(path).fileName());
        modelLabel_->setToolTip(path);
        iterations_->setValue(model_->config.jiioIterations);
        restartWorker();
        setRunning(false);
        if (episode_ && episode_->ways != waysFor(episodeCrossDomain_))
            episode_.reset(); // the next adaptation draws one the model can read out
        return true;
    } catch (const std::exception& e) {
        fail(QString::fromStdString(oneLine(e.what())));
        return false;
    }
}

QString FewShotView::modelPath() const
{
    return model_ ? QString::fromStdString(model_->path) : QString();
}

void FewShotView::restartWorker()
{
    replaceWorker(thread_, worker_, model_);
    connect(this, &FewShotView::adaptRequested, worker_, &FewShotWorker::adapt, Qt::QueuedConnection);
    connect(this, &FewShotView::compareRequested, worker_, &FewShotWorker::compare, Qt::QueuedConnection);
    connect(worker_, &FewShotWorker::runStarted, this, [this](const QString& method) {
        plot_->startRun(method, /*keepPrevious=*/comparing_);
        status_->setText(tr("Adapting by %1…").arg(method));
    });
    connect(worker_, &FewShotWorker::iteration, plot_, &widgets::ConvergencePlot::addPoint);
    connect(worker_, &FewShotWorker::finished, this, &FewShotView::onFinished);
    connect(worker_, &FewShotWorker::failed, this, &FewShotView::fail);
    connect(worker_, &FewShotWorker::compareFinished, this, [this] {
        comparing_ = false;
        setRunning(false);
        Q_EMIT comparisonFinished();
    });
    thread_.start();
}

const FewShotPool& FewShotView::pool(bool crossDomain)
{
    auto& slot = crossDomain ? digits_ : fashion_;
    if (!slot)
        slot = crossDomain ? loadOpenCvDigits(defaultDigitsPath()) : fashionMetaSplit(defaultFashionMnistFolder()).test;
    return *slot;
}

int FewShotView::waysFor(bool crossDomain) const
{
    const int classes = model_ ? model_->config.classes : 5;
    return crossDomain ? std::min(classes, 10) : std::min(classes, 4);
}

QString FewShotView::slotName(int slot) const
{
    if (!episode_ || slot < 0 || slot >= int(episode_->classes.size()))
        return tr("?");
    const int id = int(episode_->classes[size_t(slot)]);
    if (episodeCrossDomain_)
        return tr("digit %1").arg(id);
    return id < fashionNames_.size() ? fashionNames_[id] : tr("class %1").arg(id);
}

bool FewShotView::drawEpisode()
{
    if (running_)
        return false;
    try {
        const bool crossDomain = domain_->currentData().toBool();
        const auto& from = pool(crossDomain);
        episode_ = jiio::drawEpisode(from, waysFor(crossDomain), shots_->value(), queriesPerClass_->value(),
                                     uint64_t(seed_->value()));
        episodeCrossDomain_ = crossDomain;
        lastError_.clear();
        showEpisode();
        plot_->clear();
        status_->setText(tr("Episode %1 from %2: %3-way %4-shot. Adapt to classify the queries.")
                             .arg(seed_->value())
                             .arg(QString::fromStdString(from.name))
                             .arg(episode_->ways)
                             .arg(episode_->shots));
        return true;
    } catch (const std::exception& e) {
        fail(QString::fromStdString(oneLine(e.what())));
        return false;
    }
}

void FewShotView::showEpisode()
{
    while (QLayoutItem* item = supportGrid_->takeAt(0)) {
        delete item->widget();
        delete item;
    }
    for (int slot = 0; slot < episode_->ways; ++slot) {
        supportGrid_->addWidget(new QLabel(slotName(slot)), slot, 0);
        int column = 1;
        for (int64_t i = 0; i < episode_->supportLabels.size(0); ++i) {
            if (episode_->supportLabels[i].item<int64_t>() != slot)
                continue;
            auto* thumbnail = new QLabel;
            thumbnail->setPixmap(framedThumbnail(episode_->supportImages[i], Qt::transparent, kSupportThumbnail));
            supportGrid_->addWidget(thumbnail, slot, column++);
        }
    }
    supportGrid_->setColumnStretch(supportGrid_->columnCount(), 1);
    // Every class's row in view (up to five; more scroll).
    const int rowHeight = kSupportThumbnail + 2 * kFrame + supportGrid_->spacing();
    supportScroll_->setMinimumHeight(std::min(episode_->ways, 5) * rowHeight + 2 * supportScroll_->frameWidth() + 6);
    queries_->clear();
    for (int64_t i = 0; i < episode_->queryImages.size(0); ++i) {
        auto* item = new QListWidgetItem(QIcon(framedThumbnail(episode_->queryImages[i], Qt::transparent)), tr("?"));
        item->setToolTip(tr("true class: %1").arg(slotName(int(episode_->queryLabels[i].item<int64_t>()))));
        queries_->addItem(item);
    }
    accuracy_->clear();
}

void FewShotView::showPredictions(const QVector<int>& predicted)
{
    for (int i = 0; i < queries_->count() && i < predicted.size(); ++i) {
        const int truth = int(episode_->queryLabels[i].item<int64_t>());
        const bool right = predicted[i] == truth;
        auto* item = queries_->item(i);
        item->setIcon(QIcon(framedThumbnail(episode_->queryImages[i], right ? kRight : kWrong)));
        item->setText(slotName(predicted[i]));
        item->setToolTip(tr("true class: %1, predicted: %2").arg(slotName(truth), slotName(predicted[i])));
    }
}

void FewShotView::start(bool comparison)
{
    if (running_)
        return;
    if (!model_) {
        fail(tr("Open a few-shot model first."));
        return;
    }
    if (!episode_ && !drawEpisode())
        return;
    lastError_.clear();
    comparing_ = comparison;
    if (comparison)
        plot_->clear();
    setRunning(true);
    FewShotJob job;
    job.episode = *episode_;
    job.method = method_->currentData().toString();
    job.iterations = iterations_->value();
    worker_->clearStopRequest();
    if (comparison)
        Q_EMIT compareRequested(job);
    else
        Q_EMIT adaptRequested(job);
}

void FewShotView::adapt()
{
    start(false);
}

void FewShotView::runComparison()
{
    start(true);
}

void FewShotView::stop()
{
    if (worker_)
        worker_->requestStop();
}

void FewShotView::setRunning(bool running)
{
    running_ = running;
    adapt_->setEnabled(!running && model_);
    compare_->setEnabled(!running && model_);
    draw_->setEnabled(!running);
    stop_->setEnabled(running);
}

void FewShotView::onFinished(const FewShotOutcome& outcome)
{
    showPredictions(outcome.after);
    const QString method = outcome.method == "naive-gd" ? tr("naive gradient descent") : tr("JIIO");
    accuracy_->setText(tr("Accuracy before adapting (v₀): %1 %  →  after %2: <b>%3 %</b>")
                           .arg(outcome.accuracyBefore, 0, 'f', 1)
                           .arg(method)
                           .arg(outcome.accuracyAfter, 0, 'f', 1));
    status_->setText(tr("%1: %2 iterations (%3), %4 s, %5 f-evaluations, inner objective %6")
                         .arg(outcome.method)
                         .arg(outcome.iterations)
                         .arg(outcome.stopReason)
                         .arg(outcome.seconds, 0, 'f', 2)
                         .arg(outcome.functionEvaluations)
                         .arg(outcome.objective, 0, 'f', 4));
    if (!comparing_)
        setRunning(false);
    Q_EMIT adaptationFinished(outcome);
}

void FewShotView::fail(const QString& message)
{
    lastError_ = message;
    comparing_ = false;
    status_->setText(tr("Error: %1").arg(message));
    setRunning(false);
    Q_EMIT adaptationFailed(message);
}

} // namespace jiio::workbench
