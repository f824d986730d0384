#include "training_plot.h"

#include <qcustomplot.h>

#include <QVBoxLayout>

#include <cmath>

namespace jiio::widgets {

TrainingPlot::TrainingPlot(QWidget* parent) : QWidget(parent), plot_(new QCustomPlot)
{
    plot_->setMinimumHeight(160);
    plot_->xAxis->setLabel(tr("training step"));
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
        plot_->rescaleAxes();
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

int TrainingPlot::lossCount() const
{
    return loss_->dataCount();
}

int TrainingPlot::validationCount() const
{
    return validation_->dataCount();
}

bool TrainingPlot::exportTo(const QString& path)
{
    plot_->rescaleAxes();
    plot_->replot();
    return path.endsWith(".pdf", Qt::CaseInsensitive) ? plot_->savePdf(path) : plot_->savePng(path);
}

void TrainingPlot::scheduleReplot()
{
    if (!replotTimer_.isActive())
        replotTimer_.start();
}

} // namespace jiio::widgets
