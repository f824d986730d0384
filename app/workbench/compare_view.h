#pragma once
#include "solve_worker.h"

#include <QWidget>

#include <string>
#include <vector>

class QCheckBox;
class QPushButton;
class QTableWidget;

namespace jiio::widgets {
class ConvergencePlot;
}

namespace jiio::workbench {

// Several solver configurations and the classical baselines on one problem:
// overlaid curves, a table of final figures with thumbnails, CSV and plot
// export.
class CompareView : public QWidget {
    Q_OBJECT
public:
    explicit CompareView(QWidget* parent = nullptr);

    QStringList selectedMethods() const;
    void setGroundTruth(const QImage& clean) { groundTruth_ = clean; }
    void setRunning(bool running);

    void startRun(const QString& method);
    void addPoint(const widgets::ConvergencePoint& point);
    void addRow(const CompareRow& row);
    void clear();

    widgets::ConvergencePlot* plot() const { return plot_; }
    QTableWidget* table() const { return table_; }
    // The table's raw values (full precision, '.' decimals, empty where a
    // method has no value), written atomically. Returns an empty string on
    // success, else what went wrong.
    QString exportCsv(const QString& path) const;
    std::string csvText() const;

Q_SIGNALS:
    void compareRequested(const QStringList& methods);
    void stopRequested();

private:
    QList<QCheckBox*> methods_;
    QPushButton* compare_;
    QPushButton* stop_;
    widgets::ConvergencePlot* plot_;
    QTableWidget* table_;
    QImage groundTruth_;
    // What the table shows, unrounded: the CSV is written from these.
    struct Figures {
        QString method;
        double objective, psnr, ssim;
        int iterations;
        qint64 functionEvaluations;
        double seconds;
    };
    std::vector<Figures> figures_;
};

} // namespace jiio::workbench
