#pragma once
#include "training_worker.h"

#include <QThread>
#include <QWidget>

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace jiio::widgets {
class TrainingPlot;
}

namespace jiio::workbench {

// The training tab: data, model size and schedule; Start / Stop / Resume of a
// run in a worker thread with live loss and validation curves, a sample grid
// and a progress bar; "Use this model" hands the checkpoint to the restore view.
class TrainingView : public QWidget {
    Q_OBJECT
public:
    explicit TrainingView(QWidget* parent = nullptr);
    ~TrainingView() override;

    TrainingJob job() const;     // the form as a job
    void setJob(const TrainingJob& job);
    // Where runs compute: the device chosen in the solver settings.
    void setDevice(const QString& device) { device_ = device; }
    // The form is kept in QSettings between sessions (saved at each start).
    void loadSettings();
    void saveSettings() const;
    bool isRunning() const { return running_; }
    QString lastCheckpoint() const { return checkpoint_; }

    QPushButton* startButton() const { return start_; }
    QPushButton* stopButton() const { return stop_; }
    QPushButton* useButton() const { return use_; }
    widgets::TrainingPlot* plot() const { return plot_; }
    QLabel* samplesLabel() const { return samples_; }
    QProgressBar* progressBar() const { return progress_; }
    // The run's latest validation, each corruption's PSNR too; shown with
    // every step's progress until the next one.
    QString lastValidationText() const { return lastValidation_; }

    QPushButton* compareButton() const { return compare_; }

public Q_SLOTS:
    void start();
    void resume(const QString& checkpoint);
    // Draws another run's log (a checkpoint's "<stem>.log.csv") beside the
    // current curves; false with a message in the status line if it cannot.
    bool compareWith(const QString& logPath);
    void stop();
    // Stops after the current step and blocks until the run has written its
    // checkpoint (quitting during training).
    void stopAndWait();

Q_SIGNALS:
    void useModelRequested(const QString& checkpoint);
    void trainingFinished(const QString& summary);
    void trainingFailed(const QString& message);
    void jobRequested(const jiio::workbench::TrainingJob& job);

private:
    QString device_ = "cpu";
    void buildForm();
    void launch(const TrainingJob& job);
    void onProgress(const TrainingStatus& status);
    void onFinished(const QString& checkpoint, const QString& summary);
    void onFailed(const QString& message);
    void setRunning(bool running);
    void updateDataControls();
    // A resumed run's curve so far, from its log, up to (not including) `step`.
    void drawLoggedSteps(const QString& checkpoint, int beforeStep);

    QComboBox* kind_;
    QComboBox* data_;
    QLineEdit* folder_;
    QPushButton* browse_;
    QComboBox* channels_;
    QDoubleSpinBox* inpaintShare_;
    QSpinBox* width_;
    QSpinBox* latent_;
    QSpinBox* batch_;
    QSpinBox* patch_;
    QSpinBox* jiioIterations_;
    QDoubleSpinBox* learningRate_;
    QSpinBox* steps_;
    QSpinBox* validateEvery_;
    QLineEdit* output_;
    QPushButton* start_;
    QPushButton* stop_;
    QPushButton* resume_;
    QPushButton* use_;
    QPushButton* compare_;
    widgets::TrainingPlot* plot_;
    QLabel* samples_;
    QProgressBar* progress_;
    QLabel* status_;

    QThread thread_;
    TrainingWorker* worker_;
    bool running_ = false;
    QString checkpoint_;
    QString resumedFrom_; // until the resumed run's first step is drawn
    QString lastValidation_;
};

} // namespace jiio::workbench
