#pragma once
#include <QMetaType>
#include <QTimer>
#include <QVector>
#include <QWidget>

class QCustomPlot;
class QCPGraph;

namespace jiio::widgets {

// One solver iteration as the plots see it (a Qt-side copy of the core's
// IterationStats; NaN where a method has no such block).
struct ConvergencePoint {
    int iteration = 0;
    double seconds = 0;
    double objective = 0;
    double residualZ = 0;
    double residualX = 0;
    double residualMu = 0;
    double residualTotal = 0;
};

// Live residual (log scale) and objective curves of one or more runs, against
// iteration or time. Points may arrive at any rate: the plot redraws at most
// every 40 ms.
class ConvergencePlot : public QWidget {
    Q_OBJECT
public:
    explicit ConvergencePlot(QWidget* parent = nullptr);

    // Starts a new run's curves; earlier runs stay when `keepPrevious`.
    void startRun(const QString& label, bool keepPrevious = false);
    void addPoint(const ConvergencePoint& point);
    void clear();
    void setAgainstTime(bool againstTime);
    bool againstTime() const { return againstTime_; }

    int pointCount() const; // of the current run
    int runCount() const { return int(runs_.size()); }
    bool exportTo(const QString& path); // PNG or PDF by extension

private:
    struct Run {
        QString label;
        QVector<ConvergencePoint> points;
        QCPGraph* residualZ = nullptr;
        QCPGraph* residualX = nullptr;
        QCPGraph* residualMu = nullptr;
        QCPGraph* objective = nullptr;
    };
    void rebuildData(Run& run);
    void plotPoint(Run& run, const ConvergencePoint& point);
    void scheduleReplot();
    void replotNow();

    QCustomPlot* residuals_;
    QCustomPlot* objective_;
    QVector<Run> runs_;
    bool againstTime_ = false;
    QTimer replotTimer_;
};

} // namespace jiio::widgets

Q_DECLARE_METATYPE(jiio::widgets::ConvergencePoint)
