#pragma once
#include <QTimer>
#include <QWidget>

class QCustomPlot;
class QCPGraph;

namespace jiio::widgets {

// Live training curves: the per-step loss (log scale) and the validation PSNR
// (right axis) against the training step. Redraws at most every 100 ms.
class TrainingPlot : public QWidget {
    Q_OBJECT
public:
    explicit TrainingPlot(QWidget* parent = nullptr);

    void addLoss(int step, double loss);
    void addValidation(int step, double psnr);
    void clear();
    // Another run's curves, dashed and grey, for comparison (one at a time;
    // clear() keeps it, clearComparison() removes it).
    void setComparison(const QString& name, const QVector<double>& steps, const QVector<double>& losses,
                       const QVector<double>& validationSteps, const QVector<double>& validation);
    void clearComparison();
    int comparisonCount() const;

    int lossCount() const;
    int validationCount() const;
    bool exportTo(const QString& path); // PNG or PDF by extension

private:
    void scheduleReplot();
    void fitRanges();

    QCustomPlot* plot_;
    QCPGraph* loss_;
    QCPGraph* validation_;
    QCPGraph* comparisonLoss_;
    QCPGraph* comparisonValidation_;
    QTimer replotTimer_;
};

} // namespace jiio::widgets
