#pragma once
#include "attack_worker.h"

#include <QThread>
#include <QWidget>

#include <vector>

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QListWidget;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace jiio::widgets {
class ConvergencePlot;
}

namespace jiio::workbench {

// The attack tab: a DEQ classifier, an image from the Fashion-MNIST gallery or
// a file, the ball (norm and eps) and the method; the attack runs live in a
// worker thread, the adversarial image, the amplified perturbation and the
// class probabilities updating at every iteration, with the residual and
// objective plots. Compare runs JIIO and PGD on the same image with their
// curves overlaid.
class AttackView : public QWidget {
    Q_OBJECT
public:
    // modelPath empty: the shipped standard classifier, when there is one.
    explicit AttackView(const QString& modelPath = {}, QWidget* parent = nullptr);
    ~AttackView() override;

    bool loadModel(const QString& path);
    // The form (norm, eps, method, iterations) is kept in QSettings between
    // sessions, saved at each start.
    void loadSettings();
    void saveSettings() const;
    bool openImage(const QString& path); // gray, resized to the classifier's size
    void setImage(const cv::Mat& image, int label = -1); // float [0, 1]
    bool selectGalleryImage(int index);
    bool isRunning() const { return running_; }
    QString lastError() const { return lastError_; }
    QString modelPath() const;

    QPushButton* runButton() const { return run_; }
    QPushButton* compareButton() const { return compare_; }
    QListWidget* gallery() const { return gallery_; }
    QComboBox* normBox() const { return norm_; }
    QDoubleSpinBox* epsBox() const { return eps_; }
    QComboBox* solverBox() const { return solver_; }
    QSpinBox* iterationsBox() const { return iterations_; }
    const QVector<QProgressBar*>& probabilityBars() const { return bars_; }
    QLabel* adversarialLabel() const { return adversarial_; }
    QLabel* perturbationLabel() const { return perturbation_; }
    widgets::ConvergencePlot* plot() const { return plot_; }
    // Probability updates received during the current or last run.
    int probabilityUpdates() const { return probabilityUpdates_; }

public Q_SLOTS:
    void run();
    void runComparison();
    void stop();

Q_SIGNALS:
    void attackRequested(const jiio::workbench::AttackJob& job);
    void compareRequested(const jiio::workbench::AttackJob& job);
    void attackFinished(const jiio::workbench::AttackOutcome& outcome);
    void comparisonFinished();
    void attackFailed(const QString& message);

private:
    void buildUi();
    void fillGallery();
    void restartWorker();
    AttackJob job() const;
    void start(bool comparison);
    void setRunning(bool running);
    void showProbabilities(const QVector<double>& values);
    void showImage(QLabel* label, const QImage& image);
    void onFinished(const AttackOutcome& outcome);
    void fail(const QString& message);

    std::shared_ptr<LoadedModel> model_;
    cv::Mat image_;
    int label_ = -1;
    std::vector<cv::Mat> galleryImages_;
    std::vector<int> galleryLabels_;
    QStringList classNames_;

    QLabel* modelLabel_;
    QListWidget* gallery_;
    QComboBox* norm_;
    QDoubleSpinBox* eps_;
    QComboBox* solver_;
    QSpinBox* iterations_;
    QPushButton* run_;
    QPushButton* stop_;
    QPushButton* compare_;
    QLabel* clean_;
    QLabel* adversarial_;
    QLabel* perturbation_;
    QVector<QLabel*> barNames_;
    QVector<QProgressBar*> bars_;
    QLabel* status_;
    widgets::ConvergencePlot* plot_;

    QThread thread_;
    AttackWorker* worker_ = nullptr;
    bool running_ = false;
    bool comparing_ = false;
    int probabilityUpdates_ = 0;
    QString lastError_;
};

} // namespace jiio::workbench
