#pragma once
#include "fewshot_worker.h"

#include <QThread>
#include <QWidget>

#include <optional>

class QComboBox;
class QGridLayout;
class QLabel;
class QListWidget;
class QScrollArea;
class QPushButton;
class QSpinBox;

namespace jiio::widgets {
class ConvergencePlot;
}

namespace jiio::workbench {

// The few-shot tab: a meta-trained DEQ, an episode drawn from classes it never
// trained on (Fashion-MNIST's last four) or from another domain (OpenCV's
// handwritten digits); the task vector adapts to the support images live in a
// worker thread, residuals and the inner objective plotted, then the query
// images show their predicted class, framed green where right and red where
// wrong, with the accuracy before and after adapting. Compare runs JIIO and
// the naive inner loop at the same budget with their curves overlaid.
class FewShotView : public QWidget {
    Q_OBJECT
public:
    // modelPath empty: the shipped few-shot model, when there is one.
    explicit FewShotView(const QString& modelPath = {}, QWidget* parent = nullptr);
    ~FewShotView() override;

    bool loadModel(const QString& path);
    // Draws an episode of the chosen domain, shots and seed; false (with the
    // reason in lastError) when its data is missing.
    bool drawEpisode();
    bool isRunning() const { return running_; }
    bool hasEpisode() const { return episode_.has_value(); }
    QString lastError() const { return lastError_; }
    QString modelPath() const;

    QComboBox* domainBox() const { return domain_; }
    QSpinBox* shotsBox() const { return shots_; }
    QSpinBox* seedBox() const { return seed_; }
    QComboBox* methodBox() const { return method_; }
    QSpinBox* iterationsBox() const { return iterations_; }
    QPushButton* drawButton() const { return draw_; }
    QPushButton* adaptButton() const { return adapt_; }
    QPushButton* compareButton() const { return compare_; }
    QListWidget* queryList() const { return queries_; }
    QLabel* accuracyLabel() const { return accuracy_; }
    widgets::ConvergencePlot* plot() const { return plot_; }

public Q_SLOTS:
    void adapt();
    void runComparison();
    void stop();

Q_SIGNALS:
    void adaptRequested(const jiio::workbench::FewShotJob& job);
    void compareRequested(const jiio::workbench::FewShotJob& job);
    void adaptationFinished(const jiio::workbench::FewShotOutcome& outcome);
    void comparisonFinished();
    void adaptationFailed(const QString& message);

private:
    void buildUi();
    void restartWorker();
    const FewShotPool& pool(bool crossDomain);
    int waysFor(bool crossDomain) const;
    QString slotName(int slot) const;
    void showEpisode();
    void showPredictions(const QVector<int>& predicted);
    void start(bool comparison);
    void setRunning(bool running);
    void onFinished(const FewShotOutcome& outcome);
    void fail(const QString& message);

    std::shared_ptr<LoadedModel> model_;
    FewShotWorker* worker_ = nullptr;
    QThread thread_;
    bool running_ = false;
    bool comparing_ = false;
    QString lastError_;
    std::optional<FewShotPool> fashion_, digits_; // loaded on first use
    std::optional<Episode> episode_;
    bool episodeCrossDomain_ = false;
    QStringList fashionNames_;

    QLabel* modelLabel_ = nullptr;
    QComboBox* domain_ = nullptr;
    QSpinBox* shots_ = nullptr;
    QSpinBox* queriesPerClass_ = nullptr;
    QSpinBox* seed_ = nullptr;
    QComboBox* method_ = nullptr;
    QSpinBox* iterations_ = nullptr;
    QPushButton* draw_ = nullptr;
    QPushButton* adapt_ = nullptr;
    QPushButton* stop_ = nullptr;
    QPushButton* compare_ = nullptr;
    QScrollArea* supportScroll_ = nullptr;
    QWidget* supportPanel_ = nullptr;
    QGridLayout* supportGrid_ = nullptr;
    QListWidget* queries_ = nullptr;
    QLabel* accuracy_ = nullptr;
    widgets::ConvergencePlot* plot_ = nullptr;
    QLabel* status_ = nullptr;
};

} // namespace jiio::workbench
