#include "convergence_plot.h"

#include <qcustomplot.h>

#include <QPdfWriter>
#include <QVBoxLayout>

#include <cmath>

namespace jiio::widgets {

namespace {

const QColor kPalette[] = {QColor(31, 119, 180), QColor(214, 39, 40), QColor(44, 160, 44), QColor(148, 103, 189),
                           QColor(255, 127, 14), QColor(23, 190, 207)};

// Whole iterations on the x axis; time uses a plain ticker.
QSharedPointer<QCPAxisTicker> xTicker(bool againstTime)
{
    if (againstTime)
        return QSharedPointer<QCPAxisTicker>(new QCPAxisTicker);
    QSharedPointer<QCPAxisTickerFixed> iterations(new QCPAxisTickerFixed);
    iterations->setTickStep(1.0);
    iterations->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    return iterations;
}

QCustomPlot* makePlot(const QString& yLabel, bool logarithmic)
{
    auto* plot = new QCustomPlot;
    plot->setMinimumHeight(140);
    plot->yAxis->setLabel(yLabel);
    plot->xAxis->setLabel(QObject::tr("iteration"));
    if (logarithmic) {
        plot->yAxis->setScaleType(QCPAxis::stLogarithmic);
        plot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    }
    plot->xAxis->setTicker(xTicker(false));
    plot->legend->setVisible(true);
    plot->legend->setFont(QFont(plot->font().family(), 8));
    plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    return plot;
}

QCPGraph* addGraph(QCustomPlot* plot, const QString& name, const QColor& color, Qt::PenStyle style)
{
    QCPGraph* graph = plot->addGraph();
    graph->setName(name);
    graph->setPen(QPen(color, 1.6, style));
    return graph;
}

bool usable(double value, bool positive)
{
    return std::isfinite(value) && (!positive || value > 0);
}

} // namespace

ConvergencePlot::ConvergencePlot(QWidget* parent)
    : QWidget(parent), residuals_(makePlot(tr("relative residual"), true)), objective_(makePlot(tr("objective"), false))
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(residuals_, 3);
    layout->addWidget(objective_, 2);
    replotTimer_.setSingleShot(true);
    replotTimer_.setInterval(40);
    connect(&replotTimer_, &QTimer::timeout, this, &ConvergencePlot::replotNow);
}

void ConvergencePlot::startRun(const QString& label, bool keepPrevious)
{
    if (!keepPrevious)
        clear();
    const QColor color = kPalette[runs_.size() % std::size(kPalette)];
    Run run;
    run.label = label;
    const QString prefix = keepPrevious || runs_.size() > 0 ? label + ": " : QString();
    run.residualZ = addGraph(residuals_, prefix + "z", keepPrevious ? color : kPalette[0], Qt::SolidLine);
    run.residualX = addGraph(residuals_, prefix + "x", keepPrevious ? color : kPalette[1], Qt::DashLine);
    run.residualMu = addGraph(residuals_, prefix + QString::fromUtf8("μ"), keepPrevious ? color : kPalette[2], Qt::DotLine);
    run.objective = addGraph(objective_, label, color, Qt::SolidLine);
    runs_.push_back(run);
    scheduleReplot();
}

void ConvergencePlot::addPoint(const ConvergencePoint& point)
{
    if (runs_.isEmpty())
        startRun(tr("run"));
    Run& run = runs_.back();
    run.points.push_back(point);
    plotPoint(run, point);
    scheduleReplot();
}

void ConvergencePlot::clear()
{
    residuals_->clearGraphs();
    objective_->clearGraphs();
    runs_.clear();
    scheduleReplot();
}

void ConvergencePlot::rebuildData(Run& run)
{
    for (auto* graph : {run.residualZ, run.residualX, run.residualMu, run.objective})
        graph->data()->clear();
    for (const auto& p : run.points)
        plotPoint(run, p);
}

void ConvergencePlot::plotPoint(Run& run, const ConvergencePoint& p)
{
    const double x = againstTime_ ? p.seconds : p.iteration;
    if (usable(p.residualZ, true))
        run.residualZ->addData(x, p.residualZ);
    if (usable(p.residualX, true))
        run.residualX->addData(x, p.residualX);
    if (usable(p.residualMu, true))
        run.residualMu->addData(x, p.residualMu);
    if (usable(p.objective, false))
        run.objective->addData(x, p.objective);
}

void ConvergencePlot::setAgainstTime(bool againstTime)
{
    if (againstTime == againstTime_)
        return;
    againstTime_ = againstTime;
    for (Run& run : runs_)
        rebuildData(run);
    const QString label = againstTime_ ? tr("time [s]") : tr("iteration");
    for (auto* plot : {residuals_, objective_}) {
        plot->xAxis->setLabel(label);
        plot->xAxis->setTicker(xTicker(againstTime_));
    }
    scheduleReplot();
}

int ConvergencePlot::pointCount() const
{
    return runs_.isEmpty() ? 0 : int(runs_.back().points.size());
}

void ConvergencePlot::scheduleReplot()
{
    if (!replotTimer_.isActive())
        replotTimer_.start();
}

void ConvergencePlot::replotNow()
{
    for (auto* plot : {residuals_, objective_}) {
        plot->rescaleAxes();
        plot->replot(QCustomPlot::rpQueuedReplot);
    }
}

bool ConvergencePlot::exportTo(const QString& path)
{
    replotNow();
    // Both plots stacked in one file.
    const int w = std::max(residuals_->width(), 640);
    const int h1 = std::max(residuals_->height(), 300);
    const int h2 = std::max(objective_->height(), 200);
    if (path.endsWith(".pdf", Qt::CaseInsensitive)) {
        // One vector page, the page measured in points so that the plots keep
        // their on-screen proportions and line widths.
        QPdfWriter pdf(path);
        pdf.setResolution(72);
        pdf.setPageMargins(QMarginsF(0, 0, 0, 0));
        pdf.setPageSize(QPageSize(QSizeF(w, h1 + h2), QPageSize::Point));
        pdf.setCreator(QStringLiteral("JIIO Workbench"));
        QCPPainter painter;
        if (!painter.begin(&pdf))
            return false;
        residuals_->toPainter(&painter, w, h1);
        painter.translate(0, h1);
        objective_->toPainter(&painter, w, h2);
        return painter.end();
    }
    QImage image(w, h1 + h2, QImage::Format_RGB32);
    image.fill(Qt::white);
    QPainter painter(&image);
    painter.drawPixmap(0, 0, residuals_->toPixmap(w, h1));
    painter.drawPixmap(0, h1, objective_->toPixmap(w, h2));
    painter.end();
    return image.save(path);
}

} // namespace jiio::widgets
