#include "training_plot.h"

#include <qcustomplot.h>

#include <QVBoxLayout>

#include <cmath>

namespace jiio::widgets {

TrainingPlot::TrainingPlot(QWidget* parent) : QWidget(parent), plot_(new QCustomPlot)
{
    plot_->setMinimumHeight(160);
    plot_->xAxis->setLabel(tr("training step"));
    QSharedPointer<QCPAxisTickerFixed> steps(new QCPAxisTickerFixed); // whole steps only
    steps->setTickStep(1.0);
    steps->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    plot_->xAxis->setTicker(steps);
    plot_->yAxis->setLabel(tr("training loss (MSE)"));
    plot_->yAxis->setScaleType(QCPAxis::stLogarithmic);
    plot_->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    plot_->yAxis2->setVisible(true);
    plot_->yAxis2->setLabel(tr("validation PSNR [dB]"));
    loss_ = plot_->addGraph(plot_->xAxis, plot_->yAxis);
    loss_->setName(tr("loss"));
    loss_->setPen(QPen(QColor(31, 119, 180, 170), 1.2));
    validation_ = plot_->addGraph(plot_->xAxis, plot_->yAxis2);
    validation_->setName(tr("validation PSNR"));
    validation_->setPen(QPen(QColor(214, 39, 40), 2.0));
    validation_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 6));
    comparisonLoss_ = plot_->addGraph(plot_->xAxis, plot_->yAxis);
    comparisonLoss_->setPen(QPen(QColor(90, 90, 90, 150), 1.2, Qt::DashLine));
    comparisonValidation_ = plot_->addGraph(plot_->xAxis, plot_->yAxis2);
    comparisonValidation_->setPen(QPen(QColor(90, 90, 90), 2.0, Qt::DashLine));
    comparisonValidation_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 6));
    for (auto* graph : {comparisonLoss_, comparisonValidation_})
        graph->removeFromLegend();
    plot_->legend->setVisible(true);
    plot_->legend->setFont(QFont(plot_->font().family(), 8));
    plot_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    plot_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(plot_);
    replotTimer_.setSingleShot(true);
    replotTimer_.setInterval(100);
    connect(&replotTimer_, &QTimer::timeout, this, [this] {
        fitRanges();
        plot_->replot(QCustomPlot::rpQueuedReplot);
    });
}

void TrainingPlot::addLoss(int step, double loss)
{
    if (!(std::isfinite(loss) && loss > 0))
        return;
    loss_->addData(step, loss);
    scheduleReplot();
}

void TrainingPlot::addValidation(int step, double psnr)
{
    if (!std::isfinite(psnr))
        return;
    validation_->addData(step, psnr);
    scheduleReplot();
}

void TrainingPlot::clear()
{
    loss_->data()->clear();
    validation_->data()->clear();
    scheduleReplot();
}

void TrainingPlot::setComparison(const QString& name, const QVector<double>& steps, const QVector<double>& losses,
                                 const QVector<double>& validationSteps, const QVector<double>& validation)
{
    comparisonLoss_->setData(steps, losses);
    comparisonValidation_->setData(validationSteps, validation);
    comparisonLoss_->setName(tr("loss, %1").arg(name));
    comparisonValidation_->setName(tr("validation, %1").arg(name));
    comparisonLoss_->addToLegend();
    comparisonValidation_->addToLegend();
    scheduleReplot();
}

void TrainingPlot::clearComparison()
{
    comparisonLoss_->data()->clear();
    comparisonValidation_->data()->clear();
    comparisonLoss_->removeFromLegend();
    comparisonValidation_->removeFromLegend();
    scheduleReplot();
}

int TrainingPlot::comparisonCount() const
{
    return comparisonLoss_->dataCount() + comparisonValidation_->dataCount();
}

int TrainingPlot::lossCount() const
{
    return loss_->dataCount();
}

int TrainingPlot::validationCount() const
{
    return validation_->dataCount();
}

void TrainingPlot::fitRanges()
{
    plot_->rescaleAxes();
    // A little room above and below the PSNR curve, which otherwise touches the frame.
    const QCPRange psnr = plot_->yAxis2->range();
    plot_->yAxis2->setRange(psnr.lower - 0.5, psnr.upper + 0.5);
}

bool TrainingPlot::exportTo(const QString& path)
{
    fitRanges();
    plot_->replot();
    return path.endsWith(".pdf", Qt::CaseInsensitive) ? plot_->savePdf(path) : plot_->savePng(path);
}

void TrainingPlot::scheduleReplot()
{
    if (!replotTimer_.isActive())
        replotTimer_.start();
}

} // namespace jiio::widgets
