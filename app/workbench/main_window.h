#pragma once
#include "solve_worker.h"

#include <functional>
#include <optional>

#include <QElapsedTimer>
#include <QMainWindow>
#include <QThread>

#include <memory>

class QAction;
class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTabWidget;

namespace jiio {
struct LoadedModel;
struct ImageData;
}

namespace jiio::widgets {
class ConvergencePlot;
class ImageCanvas;
class MaskLayer;
class SolverSettingsPanel;
}

namespace jiio::workbench {

class AttackView;
class FewShotView;
class CompareView;
class ModelPicker;
class TrainingView;

// The restore view: an image, its mask or noise level, the solver settings,
// and the joint iteration running live in a worker thread.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    // modelPath empty: the shipped model for the image's channels.
    explicit MainWindow(const QString& modelPath = {}, QWidget* parent = nullptr);
    ~MainWindow() override;

    bool openImage(const QString& path);
    bool loadModel(const QString& path);
    // Writes the last result at full precision in the input's depth; false
    // (with an error shown) when there is none or the write fails.
    bool saveResultTo(const QString& path);
    bool isRunning() const { return running_; }
    QString lastError() const { return lastError_; }

    widgets::ImageCanvas* observationCanvas() const { return observation_; }
    widgets::ImageCanvas* resultCanvas() const { return result_; }
    widgets::ConvergencePlot* plot() const { return plot_; }
    widgets::MaskLayer* maskLayer() const { return mask_; }
    widgets::SolverSettingsPanel* settingsPanel() const { return settings_; }
    QAction* runAction() const { return runAction_; }
    QAction* stopAction() const { return stopAction_; }
    QProgressBar* progressBar() const { return progress_; }
    CompareView* compareView() const { return compare_; }
    TrainingView* trainingView() const { return training_; }
    AttackView* attackView() const { return attack_; }
    FewShotView* fewShotView() const { return fewShot_; }
    ModelPicker* modelPicker() const { return picker_; }
    QTabWidget* tabs() const { return tabs_; }
    // Reconstruction, before/after, difference and ground-truth views.
    QTabWidget* resultViews() const { return views_; }
    widgets::ImageCanvas* splitCanvas() const { return split_; }
    widgets::ImageCanvas* differenceCanvas() const { return difference_; }
    widgets::ImageCanvas* truthCanvas() const { return truth_; }
    QString currentModelPath() const;
    void setTask(const QString& task); // "inpaint", "denoise" or "reconstruct"
    void setSigma(double sigma);
    void addSyntheticNoise(); // keeps the clean image as ground truth
    bool setGroundTruth(const QString& path);
    // The window's geometry and its docks and toolbar as the last session
    // left them (saved on close); false when nothing was saved yet.
    bool restoreLayout();
    // Help → About: version, the Qt, LibTorch and OpenCV versions, the model.
    QString aboutText() const;
    void showAbout();

Q_SIGNALS:
    void solveRequested(const jiio::workbench::SolveJob& job);
    void solveFinished(const QString& summary);
    void solveFailed(const QString& message);
    void compareJobRequested(const jiio::workbench::SolveJob& job, const QStringList& methods);
    void compareFinished();

public Q_SLOTS:
    // "restore", "compare", "train", "attack" or "fewshot".
    bool showTab(const QString& name);
    // Starts what the visible tab does: a solve, a comparison or a training run.
    void runVisibleTab();
    void run();
    void stop();
    void startCompare(const QStringList& methods);

protected:
    void closeEvent(QCloseEvent* event) override;
    // Before an unsaved result is thrown away: Save, Discard or Cancel. True
    // when it may go (saved or discarded).
    // Asks before an unsaved result or painted mask is lost; false: keep them.
    bool mayDiscardWork();
    bool mayDiscardResult();
    bool mayDiscardMask();
    bool askBeforeLosing(const QString& question, const char* dialogName, const std::function<bool()>& save,
                         const std::function<void()>& discard);
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void buildUi();
    std::optional<SolveJob> makeJob();
    void buildActions();
    void restartWorker();
    void showError(const QString& message);
    void updateActions();
    void updateStatus(const widgets::ConvergencePoint& point);
    void onFinished(const QImage& result, const cv::Mat& fullResult, const QString& summary);
    void onFailed(const QString& message);
    void openDialog();
    void saveResult();
    void loadMaskDialog();
    bool saveMaskDialog();
    void addRecent(const QString& path);
    void rebuildRecentMenu();
    bool ensureModelFor(const ImageData& image);
    bool modelFits(const ImageData& image) const;
    void refreshComparisonViews();
    void onTaskChanged();

    std::shared_ptr<LoadedModel> model_;
    QString explicitModelPath_;
    std::unique_ptr<ImageData> observed_; // as loaded: keeps depth and alpha
    QImage groundTruth_;
    QImage lastResult_;      // as shown
    cv::Mat lastFullResult_; // float, as restored: what Save writes
    bool resultSaved_ = true; // nothing would be lost: no result, or it was saved

    widgets::ImageCanvas* observation_ = nullptr;
    widgets::ImageCanvas* result_ = nullptr;
    widgets::ImageCanvas* split_ = nullptr;
    widgets::ImageCanvas* difference_ = nullptr;
    widgets::ImageCanvas* truth_ = nullptr;
    QTabWidget* views_ = nullptr;
    widgets::ConvergencePlot* plot_ = nullptr;
    widgets::MaskLayer* mask_ = nullptr;
    widgets::SolverSettingsPanel* settings_ = nullptr;
    CompareView* compare_ = nullptr;
    TrainingView* training_ = nullptr;
    AttackView* attack_ = nullptr;
    FewShotView* fewShot_ = nullptr;
    ModelPicker* picker_ = nullptr;
    QTabWidget* tabs_ = nullptr;
    QComboBox* task_ = nullptr;
    QDoubleSpinBox* sigma_ = nullptr;
    QSpinBox* brush_ = nullptr;
    QCheckBox* eraser_ = nullptr;
    QCheckBox* againstTime_ = nullptr;
    QLabel* status_ = nullptr;
    QProgressBar* progress_ = nullptr; // iteration k of N (tile k of n) while a solve runs
    QPushButton* stopButton_ = nullptr;
    int segmentIndex_ = 0, segmentCount_ = 1;
    QMenu* recentMenu_ = nullptr;
    QAction* runAction_ = nullptr;
    QAction* stopAction_ = nullptr;
    QAction* saveAction_ = nullptr;

    QThread thread_;
    SolveWorker* worker_ = nullptr;
    bool running_ = false;
    bool comparing_ = false;
    QElapsedTimer runClock_;
    QString lastError_;
    QString inputSuffix_; // of the open image: Save's default suffix
};

} // namespace jiio::workbench
