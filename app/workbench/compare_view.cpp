#include "compare_view.h"

#include "image_convert.h"

#include "core/io/atomic_file.h"
#include "core/io/metrics.h"
#include "core/numbers.h"
#include "widgets/convergence_plot.h"

#include <QCheckBox>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QMessageBox>
#include <QPushButton>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

namespace jiio::workbench {

namespace {
enum Column { Thumbnail, Method, Objective, Psnr, Ssim, Iterations, FunctionEvaluations, Seconds, ColumnCount };
}

CompareView::CompareView(QWidget* parent) : QWidget(parent)
{
    // Two rows, so the tab stays narrow enough beside the settings dock.
    auto* controls = new QHBoxLayout;
    auto* actions = new QHBoxLayout;
    for (const auto& [id, label] : {std::pair<QString, QString>{"jiio-anderson", tr("JIIO – Anderson")},
                                    {"jiio-picard", tr("JIIO – Picard")},
                                    {"naive-adam", tr("Naive – Adam")},
                                    {"naive-gd", tr("Naive – GD")}}) {
        auto* box = new QCheckBox(label);
        box->setProperty("method", id);
        box->setChecked(id == "jiio-anderson" || id == "naive-adam");
        methods_.push_back(box);
        controls->addWidget(box);
    }
    compare_ = new QPushButton(tr("Compare"));
    stop_ = new QPushButton(tr("Stop"));
    stop_->setEnabled(false);
    auto* againstTime = new QCheckBox(tr("Against time"));
    auto* exportTable = new QPushButton(tr("Export table…"));
    auto* exportPlot = new QPushButton(tr("Export plot…"));
    controls->addStretch();
    actions->addWidget(compare_);
    actions->addWidget(stop_);
    actions->addStretch();
    actions->addWidget(againstTime);
    actions->addWidget(exportTable);
    actions->addWidget(exportPlot);

    plot_ = new widgets::ConvergencePlot;
    table_ = new QTableWidget(0, ColumnCount);
    table_->setHorizontalHeaderLabels({tr("Result"), tr("Method"), tr("Objective"), tr("PSNR [dB]"), tr("SSIM"),
                                       tr("Iterations"), tr("f-evals"), tr("Time [s]")});
    table_->setIconSize(QSize(64, 64));
    table_->verticalHeader()->setDefaultSectionSize(68);
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);

    auto* split = new QSplitter(Qt::Vertical);
    split->addWidget(plot_);
    split->addWidget(table_);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(controls);
    layout->addLayout(actions);
    layout->addWidget(split);

    connect(compare_, &QPushButton::clicked, this, [this] { Q_EMIT compareRequested(selectedMethods()); });
    connect(stop_, &QPushButton::clicked, this, &CompareView::stopRequested);
    connect(againstTime, &QCheckBox::toggled, plot_, &widgets::ConvergencePlot::setAgainstTime);
    connect(exportTable, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Export table"), {}, tr("CSV (*.csv)"));
        if (path.isEmpty())
            return;
        if (const QString error = exportCsv(path); !error.isEmpty())
            QMessageBox::warning(this, tr("Export table"), tr("The table could not be saved: %1").arg(error));
    });
    connect(exportPlot, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Export plot"), {}, tr("PNG (*.png);;PDF (*.pdf)"));
        if (!path.isEmpty())
            plot_->exportTo(path);
    });
}

QStringList CompareView::selectedMethods() const
{
    QStringList methods;
    for (auto* box : methods_)
        if (box->isChecked())
            methods << box->property("method").toString();
    return methods;
}

void CompareView::setRunning(bool running)
{
    compare_->setEnabled(!running);
    stop_->setEnabled(running);
}

void CompareView::clear()
{
    plot_->clear();
    table_->setRowCount(0);
    figures_.clear();
}

void CompareView::startRun(const QString& method)
{
    plot_->startRun(method, /*keepPrevious=*/true);
}

void CompareView::addPoint(const widgets::ConvergencePoint& point)
{
    plot_->addPoint(point);
}

void CompareView::addRow(const CompareRow& row)
{
    const int r = table_->rowCount();
    table_->insertRow(r);
    auto* thumbnail = new QTableWidgetItem;
    thumbnail->setIcon(QIcon(QPixmap::fromImage(row.result.scaled(64, 64, Qt::KeepAspectRatio, Qt::SmoothTransformation))));
    table_->setItem(r, Thumbnail, thumbnail);
    auto number = [](double value, char format, int precision) {
        return std::isfinite(value) ? QString::number(value, format, precision) : QStringLiteral("–");
    };
    double psnrValue = std::nan(""), ssimValue = std::nan("");
    if (!groundTruth_.isNull() && groundTruth_.size() == row.result.size()) {
        const cv::Mat clean = fromQImage(groundTruth_.convertToFormat(row.result.format()));
        const cv::Mat result = fromQImage(row.result);
        psnrValue = psnr(clean, result);
        ssimValue = ssim(clean, result);
    }
    const QStringList cells = {row.method,
                               number(row.objective, 'g', 6),
                               number(psnrValue, 'f', 2),
                               number(ssimValue, 'f', 4),
                               row.iterations ? QString::number(row.iterations) : QStringLiteral("–"),
                               row.functionEvaluations ? QString::number(row.functionEvaluations) : QStringLiteral("–"),
                               QString::number(row.seconds, 'f', 3)};
    for (int c = 0; c < cells.size(); ++c)
        table_->setItem(r, Method + c, new QTableWidgetItem(cells[c]));
    figures_.push_back({row.method, row.objective, psnrValue, ssimValue, row.iterations, row.functionEvaluations,
                        row.seconds});
}

std::string CompareView::csvText() const
{
    auto value = [](double number) { return std::isfinite(number) ? formatDouble(number) : std::string(); };
    auto count = [](qint64 number) { return number > 0 ? std::to_string(number) : std::string(); };
    // A method name is quoted, with inner quotes doubled (RFC 4180).
    auto quoted = [](const QString& text) { return '"' + text.toStdString() + '"'; };
    std::string out = "method,objective,psnr_db,ssim,iterations,f_evals,time_s\n";
    for (const auto& f : figures_)
        out += quoted(QString(f.method).replace('"', "\"\"")) + ',' + value(f.objective) + ',' + value(f.psnr) + ','
            + value(f.ssim) + ',' + count(f.iterations) + ',' + count(f.functionEvaluations) + ',' + value(f.seconds)
            + '\n';
    return out;
}

QString CompareView::exportCsv(const QString& path) const
{
    try {
        writeFileAtomically(path.toStdString(), csvText());
        return {};
    } catch (const std::exception& e) {
        return QString::fromStdString(e.what());
    }
}

} // namespace jiio::workbench
