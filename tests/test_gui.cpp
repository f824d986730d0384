// The workbench driven as a person would, on the offscreen platform: load an
// image, paint and undo a stroke, run and stop solves, survive a bad file.
#include "app/workbench/attack_view.h"
#include "app/workbench/compare_view.h"
#include "app/workbench/fewshot_view.h"
#include "app/workbench/main_window.h"
#include "app/workbench/model_picker.h"
#include "app/workbench/training_view.h"
#include "core/models/checkpoint.h"
#include "core/tasks/meta/episodes.h"
#include "test_support.h"
#include "widgets/convergence_plot.h"
#include "widgets/image_canvas.h"
#include "widgets/mask_layer.h"
#include "widgets/solver_settings_panel.h"
#include "widgets/training_plot.h"

#include <QAction>
#include <QComboBox>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QListWidget>
#include <QSpinBox>
#include <QLabel>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QTableWidget>
#include <QUndoStack>
#include <QtTest>

#include <clocale>
#include <cstdio>

#include <opencv2/core/version.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

using namespace jiio;
using jiio::workbench::MainWindow;
using jiio::workbench::TrainingJob;
using jiio::workbench::TrainingView;

namespace {

QString writePicture(const QString& path, int rows, int cols)
{
    cv::Mat image(rows, cols, CV_8UC3);
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c)
            image.at<cv::Vec3b>(r, c) = cv::Vec3b(uchar(r * 2), uchar(c * 3), uchar((r + c) % 256));
    cv::imwrite(path.toStdString(), image);
    return path;
}

// A restoration run small enough to take a step in well under a second.
TrainingJob tinyRestorationJob(TrainingJob job, const QString& data, int batchSize)
{
    job.kind = "restoration";
    job.data = data;
    job.channels = 3;
    job.width = 8;
    job.latentChannels = 4;
    job.batchSize = batchSize;
    job.patchSize = 16;
    job.jiioIterations = 3;
    return job;
}

void setIterations(MainWindow& window, int iterations)
{
    auto values = window.settingsPanel()->values();
    values.iterations = iterations;
    values.tolerance = 1e-10; // run the whole budget
    window.settingsPanel()->setValues(values);
}

// One brush drag across the observation, as a person paints it.
void paintStroke(MainWindow& window)
{
    auto* canvas = window.observationCanvas();
    const QPoint from = canvas->toWidget(QPointF(10, 10)).toPoint();
    const QPoint to = canvas->toWidget(QPointF(50, 40)).toPoint();
    QTest::mousePress(canvas, Qt::LeftButton, {}, from);
    for (int i = 1; i <= 10; ++i)
        QTest::mouseMove(canvas, from + (to - from) * i / 10);
    QTest::mouseRelease(canvas, Qt::LeftButton, {}, to);
}

} // namespace

class TestGui : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;
    QString model_, image_;

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        model_ = dir_.filePath("tiny.pt");
        auto model = test::tinyModel(3);
        saveModel(model_.toStdString(), model);
        image_ = writePicture(dir_.filePath("picture.png"), 64, 64);
    }

    void loadsAnImage()
    {
        MainWindow window(model_);
        window.show();
        QVERIFY(window.openImage(image_));
        QCOMPARE(window.observationCanvas()->image().size(), QSize(64, 64));
        QVERIFY(window.runAction()->isEnabled());
        QVERIFY(!window.stopAction()->isEnabled());
    }

    // The conventions a desktop user expects: the layout survives a restart,
    // Help → About names the versions, zoom and brush keys work, every solver
    // setting explains itself, and controls that do not apply are disabled.
    void followsDesktopConventions()
    {
        QSize saved;
        {
            MainWindow first(model_);
            first.resize(1700, 900);
            first.show();
            QVERIFY(QTest::qWaitForWindowExposed(&first));
            auto* modelDock = first.findChild<QDockWidget*>("modelDock");
            QVERIFY(modelDock);
            modelDock->hide();
            saved = first.size();
            first.close(); // saves the layout
        }
        MainWindow window(model_);
        QVERIFY(window.restoreLayout());
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY(window.findChild<QDockWidget*>("modelDock")->isHidden());
        QCOMPARE(window.size(), saved);

        const QString about = window.aboutText();
        for (const QString& part : {QString(qVersion()), QString(TORCH_VERSION), QString(CV_VERSION), QString("tiny.pt")})
            QVERIFY2(about.contains(part), qPrintable(about));

        QVERIFY(window.openImage(image_));
        auto* canvas = window.observationCanvas();
        QCOMPARE(canvas->zoom(), 0.0); // a new image is fitted to the view
        auto trigger = [&](const QString& text) {
            for (QAction* action : window.findChildren<QAction*>())
                if (action->text().remove('&') == text) {
                    action->trigger();
                    return true;
                }
            return false;
        };
        QVERIFY(trigger("Actual size"));
        QCOMPARE(canvas->zoom(), 1.0);
        QVERIFY(trigger("Zoom in"));
        QCOMPARE(canvas->zoom(), 1.25);
        QCOMPARE(window.resultCanvas()->zoom(), 1.25); // the views move together
        QVERIFY(trigger("Fit to window"));
        QCOMPARE(canvas->zoom(), 0.0);
        const int radius = window.maskLayer()->brushRadius();
        QVERIFY(trigger("Larger brush"));
        QVERIFY(window.maskLayer()->brushRadius() > radius);
        QVERIFY(trigger("Smaller brush"));
        QCOMPARE(window.maskLayer()->brushRadius(), radius);

        for (QWidget* control : window.settingsPanel()->findChildren<QWidget*>())
            if (qobject_cast<QAbstractSpinBox*>(control) || qobject_cast<QComboBox*>(control))
                QVERIFY2(!control->toolTip().isEmpty(), qPrintable(control->metaObject()->className()));

        auto* sigma = window.findChild<QDoubleSpinBox*>("noiseSigma");
        window.setTask("inpaint");
        QVERIFY(sigma && !sigma->isEnabled());
        window.setTask("denoise");
        QVERIFY(sigma->isEnabled());
    }

    // Every tab page counts towards the window's minimum size: the widest one
    // (the attack view) once made the window wider than a 1280-pixel screen.
    void theWindowFitsA1280PixelScreen()
    {
        MainWindow window(model_);
        window.show();
        QVERIFY2(window.minimumSizeHint().width() <= 1280, qPrintable(QString::number(window.minimumSizeHint().width())));
    }

    void paintsAStrokeAndUndoesIt()
    {
        MainWindow window(model_);
        window.resize(1000, 700);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY(window.openImage(image_));
        paintStroke(window);
        QVERIFY(!window.maskLayer()->isEmpty());
        QCOMPARE(window.maskLayer()->undoStack()->count(), 1); // one drag, one step
        window.maskLayer()->undoStack()->undo();
        QVERIFY(window.maskLayer()->isEmpty());
        window.maskLayer()->undoStack()->redo();
        QVERIFY(!window.maskLayer()->isEmpty());
    }

    // A painted mask is not lost without asking either; a saved, loaded or
    // undone-to-empty one goes quietly.
    void asksBeforeAPaintedMaskIsLost()
    {
        MainWindow window(model_);
        window.resize(1000, 700);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY(window.openImage(image_));
        int asked = 0;
        auto answer = [&](QMessageBox::StandardButton button) {
            QTimer::singleShot(0, [&asked, button] {
                auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget());
                QVERIFY(box && box->objectName() == "unsavedMaskDialog");
                ++asked;
                box->button(button)->click();
            });
        };
        paintStroke(window);
        answer(QMessageBox::Cancel);
        QVERIFY(!window.openImage(image_));
        QCOMPARE(asked, 1);
        QVERIFY(!window.maskLayer()->isEmpty()); // kept
        answer(QMessageBox::Cancel);
        QVERIFY(!window.close());
        QCOMPARE(asked, 2);

        const QString saved = dir_.filePath("painted-mask.png");
        QVERIFY(window.maskLayer()->save(saved));
        QVERIFY(window.openImage(image_)); // saved: nothing to ask
        QVERIFY(window.maskLayer()->isEmpty());
        QCOMPARE(window.maskLayer()->load(saved), QString());
        QVERIFY(window.openImage(image_)); // loaded from a file: nothing to ask
        paintStroke(window);
        window.maskLayer()->undoStack()->undo();
        QVERIFY(window.openImage(image_)); // undone to nothing: nothing to ask
        QCOMPARE(asked, 2);

        paintStroke(window);
        answer(QMessageBox::Discard);
        QVERIFY(window.openImage(image_));
        QCOMPARE(asked, 3);
        QVERIFY(window.maskLayer()->isEmpty());
    }

    // An unsaved result is not lost without asking: opening another image or
    // closing the window offers Save, Discard or Cancel; a saved one goes quietly.
    void asksBeforeAnUnsavedResultIsLost()
    {
        MainWindow window(model_);
        window.show();
        QVERIFY(window.openImage(image_));
        QVERIFY(window.openImage(image_)); // no result yet: no question
        window.setTask("denoise");
        window.setSigma(20);
        setIterations(window, 3);
        QSignalSpy finished(&window, &MainWindow::solveFinished);
        window.run();
        QTRY_VERIFY_WITH_TIMEOUT(finished.size() == 1, 60000);
        int asked = 0;
        auto answer = [&](QMessageBox::StandardButton button) {
            QTimer::singleShot(0, [&asked, button] {
                auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget());
                QVERIFY(box && box->objectName() == "unsavedResultDialog");
                ++asked;
                box->button(button)->click();
            });
        };
        answer(QMessageBox::Cancel);
        QVERIFY(!window.openImage(image_));
        QCOMPARE(asked, 1);
        QVERIFY(!window.resultCanvas()->image().isNull()); // kept
        answer(QMessageBox::Cancel);
        QVERIFY(!window.close());
        QCOMPARE(asked, 2);

        QVERIFY(window.saveResultTo(dir_.filePath("asked.png")));
        QVERIFY(window.openImage(image_)); // saved: nothing to ask
        QCOMPARE(asked, 2);

        window.run();
        QTRY_VERIFY_WITH_TIMEOUT(finished.size() == 2, 60000);
        answer(QMessageBox::Discard);
        QVERIFY(window.openImage(image_));
        QCOMPARE(asked, 3);
        QVERIFY(window.resultCanvas()->image().isNull());
    }

    void runsASolveLiveAndShowsTheResult()
    {
        MainWindow window(model_);
        window.show();
        QVERIFY(window.openImage(image_));
        window.setTask("denoise");
        window.setSigma(20);
        setIterations(window, 6);
        QSignalSpy finished(&window, &MainWindow::solveFinished);
        QSignalSpy failed(&window, &MainWindow::solveFailed);
        QVERIFY(window.progressBar()->isHidden());
        window.run();
        QVERIFY2(window.isRunning(), qPrintable(window.lastError()));
        QVERIFY(!window.runAction()->isEnabled());
        QVERIFY(window.progressBar()->isVisible()); // with Stop beside it
        QTRY_VERIFY_WITH_TIMEOUT(finished.size() + failed.size() > 0, 60000);
        QVERIFY2(failed.isEmpty(), qPrintable(window.lastError()));
        QCOMPARE(window.plot()->pointCount(), 6);
        QVERIFY(window.progressBar()->isHidden());
        QCOMPARE(window.progressBar()->maximum(), 6);
        QCOMPARE(window.progressBar()->value(), 6);
        QCOMPARE(window.progressBar()->format(), QString("iteration 6 of 6"));
        const QImage result = window.resultCanvas()->image();
        QCOMPARE(result.size(), QSize(64, 64));
        QVERIFY(result.convertToFormat(QImage::Format_RGB888)
                != window.observationCanvas()->image().convertToFormat(QImage::Format_RGB888));
        QVERIFY(!window.isRunning());
    }

    // Save writes the restored image at the input's depth from the
    // full-precision result, not from the 8-bit picture on screen: a 16-bit
    // image's known pixels come back bit-identical.
    void savesA16BitResultWithKnownPixelsUnchanged()
    {
        cv::Mat deep(48, 48, CV_16UC3);
        cv::randu(deep, 0, 65536);
        const QString input = dir_.filePath("deep.png");
        QVERIFY(cv::imwrite(input.toStdString(), deep));
        cv::Mat missing = cv::Mat::zeros(48, 48, CV_8U);
        missing(cv::Rect(10, 12, 16, 14)).setTo(255);
        const QString maskPath = dir_.filePath("deep-mask.png");
        QVERIFY(cv::imwrite(maskPath.toStdString(), missing));

        MainWindow window(model_);
        window.show();
        QVERIFY(window.openImage(input));
        window.setTask("inpaint");
        QVERIFY(window.maskLayer()->load(maskPath).isEmpty());
        setIterations(window, 3);
        QSignalSpy finished(&window, &MainWindow::solveFinished);
        QSignalSpy failed(&window, &MainWindow::solveFailed);
        window.run();
        QTRY_VERIFY_WITH_TIMEOUT(finished.size() + failed.size() > 0, 60000);
        QVERIFY2(failed.isEmpty(), qPrintable(window.lastError()));

        const QString output = dir_.filePath("deep-restored.png");
        QVERIFY2(window.saveResultTo(output), qPrintable(window.lastError()));
        const cv::Mat saved = cv::imread(output.toStdString(), cv::IMREAD_UNCHANGED);
        QCOMPARE(saved.depth(), CV_16U);
        QCOMPARE(saved.size(), deep.size());
        cv::Mat differs;
        cv::compare(saved.reshape(1), deep.reshape(1), differs, cv::CMP_NE);
        const cv::Mat known = missing == 0;
        cv::Mat knownChannels;
        cv::merge(std::vector<cv::Mat>{known, known, known}, knownChannels);
        QCOMPARE(cv::countNonZero(differs & knownChannels.reshape(1)), 0);
        // The filled pixels changed: the solve ran, it was not a copy.
        QVERIFY(cv::countNonZero(differs) > 0);
    }

    void inpaintingNeedsAMask()
    {
        MainWindow window(model_);
        window.show();
        QVERIFY(window.openImage(image_));
        window.setTask("inpaint");
        window.run();
        QVERIFY(!window.isRunning());
        QVERIFY(window.lastError().contains("Paint the missing pixels"));
    }

    void stopTakesEffectPromptlyAndTheGuiStaysResponsive()
    {
        const QString big = writePicture(dir_.filePath("big.png"), 192, 192);
        MainWindow window(model_);
        window.show();
        QVERIFY(window.openImage(big));
        window.setTask("denoise");
        setIterations(window, 100000);
        // Counted, not timed: the event loop keeps turning while the solve
        // runs, and Stop ends it within a few iterations (the one in progress
        // and any whose points were already queued), not the 100000 asked for.
        int ticks = 0;
        QTimer ticker;
        ticker.setInterval(10);
        connect(&ticker, &QTimer::timeout, [&] { ++ticks; });
        QSignalSpy finished(&window, &MainWindow::solveFinished);
        window.run();
        ticker.start();
        QTRY_VERIFY_WITH_TIMEOUT(window.plot()->pointCount() >= 3, 60000);
        const int ticksWhileSolving = ticks;
        const int pointsAtStop = window.plot()->pointCount();
        window.stop();
        QVERIFY(finished.wait(60000));
        ticker.stop();
        qInfo("%d timer ticks during the solve; %d iterations after Stop", ticksWhileSolving,
              window.plot()->pointCount() - pointsAtStop);
        QVERIFY(ticksWhileSolving > 0);
        QVERIFY(window.plot()->pointCount() <= pointsAtStop + 4);
        QVERIFY(finished.first().first().toString().contains("stopped"));
    }

    // An image prior model: the panel offers JIIO's defaults for it (five
    // times the trained budget, stop at 3e-2), and a comparison gives each
    // method its own: naive GD keeps the trained budget.
    void comparesEachMethodAtItsOwnDefaults()
    {
        const QString path = dir_.filePath("tiny-prior.pt");
        ModelConfig config = test::tinyImagePriorConfig(3);
        config.jiioIterations = 3;
        DeqModel prior(config);
        saveModel(path.toStdString(), prior);
        MainWindow window(model_);
        window.show();
        QVERIFY2(window.loadModel(path), qPrintable(window.lastError()));
        QCOMPARE(window.settingsPanel()->values().iterations, 15);
        QCOMPARE(window.settingsPanel()->values().tolerance, 3e-2);
        QVERIFY(window.openImage(image_));
        window.setTask("denoise");
        window.setSigma(20);
        QSignalSpy finished(&window, &MainWindow::compareFinished);
        window.startCompare({"jiio-anderson", "naive-gd"});
        QVERIFY(finished.wait(60000));
        auto* table = window.compareView()->table();
        QCOMPARE(table->item(1, 1)->text(), QString("naive-gd"));
        QCOMPARE(table->item(1, 5)->text(), QString("3")); // the trained budget, not the panel's 15
        QVERIFY(table->item(0, 5)->text().toInt() <= 15);
    }

    void comparesTwoMethodsAndTheBaseline()
    {
        MainWindow window(model_);
        window.show();
        QVERIFY(window.openImage(image_));
        window.setSigma(20);
        window.addSyntheticNoise(); // ground truth known: PSNR in the table
        setIterations(window, 4);
        QSignalSpy finished(&window, &MainWindow::compareFinished);
        window.startCompare({"jiio-anderson", "naive-gd"});
        QVERIFY(finished.wait(60000));
        auto* table = window.compareView()->table();
        QCOMPARE(table->rowCount(), 5); // two methods and the three classical denoisers
        QCOMPARE(table->item(0, 1)->text(), QString("jiio-anderson"));
        QCOMPARE(table->item(1, 1)->text(), QString("naive-gd"));
        QCOMPARE(table->item(2, 1)->text(), QString("nlm-colored"));
        QCOMPARE(table->item(3, 1)->text(), QString("nlm-rgb"));
        QCOMPARE(table->item(4, 1)->text(), QString("tv-chambolle"));
        QVERIFY(table->item(4, 3)->text().toDouble() > 20); // total variation removes noise
        QVERIFY(table->item(0, 3)->text().toDouble() > 0); // PSNR
        QCOMPARE(table->item(0, 5)->text(), QString("4"));  // iterations
        QCOMPARE(window.compareView()->plot()->runCount(), 2);
        const QString csv = dir_.filePath("compare.csv");
        QCOMPARE(window.compareView()->exportCsv(csv), QString());
        QFile file(csv);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QList<QByteArray> lines = file.readAll().split('\n');
        QCOMPARE(lines.size(), 7); // header, five rows, the final newline
        // Raw values: the seconds the table rounds to three decimals come out
        // whole, and the classical rows leave objective and iterations empty.
        const QList<QByteArray> jiioRow = lines[1].split(',');
        QCOMPARE(jiioRow[0], QByteArray("\"jiio-anderson\""));
        QCOMPARE(jiioRow[4], QByteArray("4"));
        QVERIFY(jiioRow[6].toDouble() > 0);
        QVERIFY2(jiioRow[6].split('.').value(1).size() > 3, jiioRow[6].constData()); // more than the table shows
        const QList<QByteArray> tvRow = lines[5].split(',');
        QCOMPARE(tvRow[0], QByteArray("\"tv-chambolle\""));
        QVERIFY(tvRow[1].isEmpty() && tvRow[4].isEmpty());
        QVERIFY(tvRow[2].toDouble() > 20);
        // A folder that is not there: a clear error, nothing written.
        const QString error = window.compareView()->exportCsv(dir_.filePath("no-such-folder/compare.csv"));
        QVERIFY(!error.isEmpty());
        QVERIFY(window.compareView()->plot()->exportTo(dir_.filePath("compare.png")));
        const QImage png(dir_.filePath("compare.png"));
        QVERIFY(!png.isNull());
        // The PDF is one vector page the size of both plots stacked, as the PNG.
        QVERIFY(window.compareView()->plot()->exportTo(dir_.filePath("compare.pdf")));
        QFile pdf(dir_.filePath("compare.pdf"));
        QVERIFY(pdf.open(QIODevice::ReadOnly));
        const QByteArray bytes = pdf.readAll();
        QVERIFY(bytes.startsWith("%PDF"));
        const auto box = QRegularExpression(R"(/MediaBox \[0 0 ([0-9.]+) ([0-9.]+)\])").match(QString::fromLatin1(bytes));
        QVERIFY2(box.hasMatch(), "no page size in the PDF");
        QCOMPARE(qRound(box.captured(1).toDouble()), png.width());
        QCOMPARE(qRound(box.captured(2).toDouble()), png.height());
        QCOMPARE(bytes.count("/Type /Page\n") + bytes.count("/Type /Page\r"), 1);
    }

    void aCorruptImageShowsAnErrorAndKeepsTheCurrentOne()
    {
        MainWindow window(model_);
        window.show();
        QVERIFY(window.openImage(image_));
        QFile bad(dir_.filePath("bad.png"));
        QVERIFY(bad.open(QIODevice::WriteOnly));
        bad.write("\x89PNG\r\n\x1a\n this is not really a PNG");
        bad.close();
        QVERIFY(!window.openImage(bad.fileName()));
        QVERIFY(window.lastError().contains("not an image or a corrupt file"));
        auto* dialog = window.findChild<QMessageBox*>("errorDialog");
        QVERIFY(dialog && dialog->isVisible());
        QVERIFY(dialog->text().contains("corrupt"));
        QCOMPARE(window.observationCanvas()->image().size(), QSize(64, 64)); // untouched
    }

    void comparisonViewsShowSplitDifferenceAndGroundTruth()
    {
        MainWindow window(model_);
        window.show();
        QVERIFY(window.openImage(image_));
        QVERIFY(!window.resultViews()->isTabEnabled(window.resultViews()->indexOf(window.truthCanvas())));
        window.setSigma(20);
        window.addSyntheticNoise();
        QVERIFY(window.resultViews()->isTabEnabled(window.resultViews()->indexOf(window.truthCanvas())));
        QCOMPARE(window.truthCanvas()->image().size(), QSize(64, 64));
        setIterations(window, 4);
        QSignalSpy finished(&window, &MainWindow::solveFinished);
        window.run();
        QVERIFY(finished.wait(60000));
        QCOMPARE(window.differenceCanvas()->image().size(), QSize(64, 64));
        QVERIFY(window.differenceCanvas()->image() != QImage());
        // Drag the before/after divider to a quarter of the image.
        auto* split = window.splitCanvas();
        window.resultViews()->setCurrentWidget(split);
        QTRY_VERIFY(split->isVisible());
        const QPoint start = split->toWidget(QPointF(32, 32)).toPoint();
        const QPoint end = split->toWidget(QPointF(16, 32)).toPoint();
        QTest::mousePress(split, Qt::LeftButton, {}, start);
        QTest::mouseMove(split, end);
        QTest::mouseRelease(split, Qt::LeftButton, {}, end);
        QVERIFY(std::abs(split->splitFraction() - 0.25) < 0.05);
        // A ground truth of another size is refused; the current one stays.
        const QString other = writePicture(dir_.filePath("other.png"), 32, 32);
        QVERIFY(!window.setGroundTruth(other));
        QCOMPARE(window.truthCanvas()->image().size(), QSize(64, 64));
    }

    void modelPickerShowsTheCardAndKeepsTheModelOnABadFile()
    {
        MainWindow window(model_);
        window.show();
        auto* picker = window.modelPicker();
        QVERIFY(picker->cardText().contains("kind = restoration")); // no card: the configuration
        QFile card(dir_.filePath("tiny.md"));
        QVERIFY(card.open(QIODevice::WriteOnly));
        card.write("# Tiny model\n\nA model card for the test.\n");
        card.close();
        picker->showModel(model_);
        QVERIFY(picker->cardText().contains("A model card for the test"));
        QFile bad(dir_.filePath("broken.pt"));
        QVERIFY(bad.open(QIODevice::WriteOnly));
        bad.write(QByteArray(64, 'y'));
        bad.close();
        Q_EMIT picker->modelChosen(bad.fileName());
        QVERIFY(window.lastError().contains("Cannot use the model"));
        QCOMPARE(window.currentModelPath(), model_);
        QCOMPARE(picker->currentPath(), model_);
    }

    void presetsAreSavedAppliedAndDeleted()
    {
        widgets::SolverSettingsPanel panel;
        auto values = panel.values();
        values.iterations = 77;
        values.alphaX = 0.02;
        panel.setValues(values);
        panel.savePreset("my test preset");
        QVERIFY(panel.presetNames().contains("my test preset"));
        QVERIFY(panel.applyPreset("Quick preview (15 iterations)"));
        QCOMPARE(panel.values().iterations, 15);
        QVERIFY(panel.applyPreset("my test preset"));
        QCOMPARE(panel.values().iterations, 77);
        QCOMPARE(panel.values().alphaX, 0.02);
        widgets::SolverSettingsPanel another; // presets persist through QSettings
        QVERIFY(another.presetNames().contains("my test preset"));
        QVERIFY(!panel.deletePreset("Defaults (JIIO – Anderson)"));
        QVERIFY(panel.deletePreset("my test preset"));
        QVERIFY(!panel.presetNames().contains("my test preset"));
    }

    void reconstructsWithAGenerativeModel()
    {
        auto config = test::tinyConfig(1);
        config.kind = ModelKind::Generative;
        config.imageSize = 32;
        torch::manual_seed(5);
        DeqModel generative(config);
        const QString path = dir_.filePath("generative.pt");
        saveModel(path.toStdString(), generative);
        cv::Mat item(28, 28, CV_8U, cv::Scalar(0));
        cv::circle(item, {14, 14}, 9, cv::Scalar(200), cv::FILLED);
        const QString itemPath = dir_.filePath("item.png");
        cv::imwrite(itemPath.toStdString(), item);

        MainWindow window(path);
        window.show();
        QVERIFY(window.openImage(itemPath));
        QCOMPARE(window.currentModelPath(), path); // a small gray image keeps the generative model
        setIterations(window, 5);
        QSignalSpy finished(&window, &MainWindow::solveFinished);
        window.run();
        QVERIFY2(window.isRunning(), qPrintable(window.lastError())); // the task switched to reconstruct
        QVERIFY(finished.wait(60000));
        QCOMPARE(window.resultCanvas()->image().size(), QSize(28, 28));
        QCOMPARE(window.plot()->pointCount(), 5);
    }

    void eachModelKindStartsWithItsOwnIterationBudget()
    {
        TrainingView view;
        auto job = view.job();
        job.kind = "restoration";
        job.latentChannels = TrainingJob{}.latentChannels;
        job.jiioIterations = TrainingJob{}.jiioIterations;
        view.setJob(job);
        QCOMPARE(view.job().jiioIterations, 15); // a new restoration model sees the observation
        QComboBox* kind = nullptr;
        for (auto* combo : view.findChildren<QComboBox*>())
            if (combo->findData("generative") >= 0)
                kind = combo;
        QVERIFY(kind);
        kind->setCurrentIndex(kind->findData("generative"));
        QCOMPARE(view.job().jiioIterations, 30);
        QCOMPARE(view.job().latentChannels, 64);
        kind->setCurrentIndex(kind->findData("restoration"));
        QCOMPARE(view.job().jiioIterations, 15);
        // A budget the user chose is kept.
        job = view.job();
        job.jiioIterations = 7;
        view.setJob(job);
        kind->setCurrentIndex(kind->findData("generative"));
        QCOMPARE(view.job().jiioIterations, 7);
    }

    void trainsStopsAndUsesTheModel()
    {
        QTemporaryDir data;
        for (int i = 0; i < 5; ++i)
            writePicture(data.filePath(QString("train%1.png").arg(i)), 40 + 4 * i, 40);
        TrainingView view;
        view.resize(900, 500);
        view.show();
        auto job = tinyRestorationJob(view.job(), data.path(), 2);
        job.steps = 4;
        job.validateEvery = 2;
        job.checkpointPath = dir_.filePath("gui-trained.pt");
        view.setJob(job);
        QSignalSpy finished(&view, &TrainingView::trainingFinished);
        QSignalSpy failed(&view, &TrainingView::trainingFailed);
        QTest::mouseClick(view.startButton(), Qt::LeftButton);
        QVERIFY(view.isRunning());
        QVERIFY(!view.startButton()->isEnabled() && view.stopButton()->isEnabled());
        QTRY_VERIFY_WITH_TIMEOUT(finished.size() + failed.size() > 0, 120000);
        QVERIFY2(failed.isEmpty(), qPrintable(failed.isEmpty() ? QString() : failed.first().first().toString()));
        QCOMPARE(view.plot()->lossCount(), 4);
        QCOMPARE(view.plot()->validationCount(), 2);
        // The latest validation with each corruption's share.
        QVERIFY2(view.lastValidationText().contains("at step 4") && view.lastValidationText().contains("holes")
                     && view.lastValidationText().contains("noise 50"),
                 qPrintable(view.lastValidationText()));
        QVERIFY(!view.samplesLabel()->pixmap().isNull()); // the sample grid arrived
        QCOMPARE(view.progressBar()->value(), 4);
        QVERIFY(QFileInfo::exists(job.checkpointPath));
        QVERIFY(view.useButton()->isEnabled());

        // A long run stops promptly and can be resumed.
        job.steps = 100000;
        job.checkpointPath = dir_.filePath("gui-long.pt");
        view.setJob(job);
        QSignalSpy stopped(&view, &TrainingView::trainingFinished);
        view.start();
        QTRY_VERIFY_WITH_TIMEOUT(view.plot()->lossCount() >= 2, 60000);
        QElapsedTimer clock;
        clock.start();
        QTest::mouseClick(view.stopButton(), Qt::LeftButton);
        QVERIFY(stopped.wait(10000));
        qInfo("training stopped %lld ms after Stop", clock.elapsed());
        QVERIFY(stopped.first().first().toString().contains("stopped"));
        QVERIFY(!view.isRunning());
        const int stepsBefore = view.progressBar()->value();
        QSignalSpy resumed(&view, &TrainingView::trainingFinished);
        view.resume(job.checkpointPath);
        // The resumed run's plot starts with the curve so far, read from its log.
        QTRY_VERIFY_WITH_TIMEOUT(view.plot()->lossCount() >= stepsBefore + 1, 60000);
        view.stop();
        QVERIFY(resumed.wait(10000));

        // Another run's log is drawn beside the curves; a file that is not a log is refused.
        QCOMPARE(view.plot()->comparisonCount(), 0);
        QVERIFY(view.compareWith(dir_.filePath("gui-trained.log.csv")));
        QCOMPARE(view.plot()->comparisonCount(), 4 + 2);
        QVERIFY(!view.compareWith(job.checkpointPath));

        MainWindow window(model_);
        window.show();
        connect(&view, &TrainingView::useModelRequested, &window, &MainWindow::loadModel);
        QTest::mouseClick(view.useButton(), Qt::LeftButton);
        QCOMPARE(window.currentModelPath(), job.checkpointPath);
    }

    // A solve whose iterates blow up stops with a message; what was on
    // screen stays, and nothing non-finite is shown or kept for Save.
    void aDivergingSolveStopsWithAMessageAndKeepsTheLastGoodResult()
    {
        MainWindow window(model_);
        window.show();
        QVERIFY(window.openImage(image_));
        window.setTask("denoise");
        window.setSigma(20);
        setIterations(window, 4);
        QSignalSpy finished(&window, &MainWindow::solveFinished);
        window.run();
        QVERIFY(finished.wait(60000));
        const QImage good = window.resultCanvas()->image();
        QVERIFY(!good.isNull());

        // The same cell with every weight scaled up: its map expands, and the
        // solve's residual grows without bound.
        auto exploding = test::tinyModel(3);
        {
            torch::NoGradGuard noGrad;
            for (auto& parameter : exploding->parameters())
                parameter.mul_(30);
        }
        const QString path = dir_.filePath("exploding.pt");
        saveModel(path.toStdString(), exploding);
        QVERIFY2(window.loadModel(path), qPrintable(window.lastError()));
        setIterations(window, 60);
        QSignalSpy failed(&window, &MainWindow::solveFailed);
        window.run();
        QVERIFY(failed.wait(60000));
        QVERIFY2(failed.first().first().toString().contains("diverged"), qPrintable(window.lastError()));
        QVERIFY(!window.isRunning());
        // The canvas holds the last good picture: the earlier result or a
        // finite preview of this run, never a NaN one (all black or white).
        const QImage shown = window.resultCanvas()->image();
        QVERIFY(!shown.isNull());
        QVERIFY(window.saveResultTo(dir_.filePath("kept.png"))); // the earlier finished result
        QCOMPARE(QImage(dir_.filePath("kept.png")).convertToFormat(QImage::Format_RGB888),
                 good.convertToFormat(QImage::Format_RGB888));
    }

    // A model cannot be swapped under a running solve.
    void loadingAModelDuringASolveIsRefused()
    {
        MainWindow window(model_);
        window.show();
        QVERIFY(window.openImage(image_));
        window.setTask("denoise");
        setIterations(window, 100000);
        QSignalSpy finished(&window, &MainWindow::solveFinished); // before run(): it may converge early
        window.run();
        QVERIFY(window.isRunning());
        QVERIFY(!window.loadModel(model_));
        QVERIFY2(window.lastError().contains("stop the running solve"), qPrintable(window.lastError()));
        QVERIFY(window.isRunning());
        window.stop();
        QVERIFY(!finished.isEmpty() || finished.wait(10000));
        QVERIFY(window.loadModel(model_)); // and once it has stopped, it can
    }

    // Closing the window during training asks first; Cancel keeps the run
    // going, "Checkpoint and quit" stops it with a checkpoint on disk.
    void quittingDuringTrainingAsksThenCheckpoints()
    {
        QTemporaryDir data;
        for (int i = 0; i < 5; ++i)
            writePicture(data.filePath(QString("quit%1.png").arg(i)), 40, 40);
        MainWindow window(model_);
        window.show();
        auto job = tinyRestorationJob(window.trainingView()->job(), data.path(), 1);
        job.steps = 100000;
        job.validateEvery = 100000;
        job.checkpointPath = dir_.filePath("quit-during-training.pt");
        job.checkpointEvery = 100000; // the only checkpoint is the one quitting writes
        window.trainingView()->setJob(job);
        window.trainingView()->start();
        QTRY_VERIFY_WITH_TIMEOUT(window.trainingView()->plot()->lossCount() >= 1, 60000);

        auto answer = [&](const QString& buttonText) {
            QTimer::singleShot(0, [buttonText] {
                auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget());
                QVERIFY(box && box->objectName() == "quitDuringTrainingDialog");
                for (auto* button : box->buttons())
                    if (button->text() == buttonText)
                        button->click();
            });
        };
        answer("Cancel");
        QVERIFY(!window.close());
        QVERIFY(window.trainingView()->isRunning());
        QVERIFY(!QFileInfo::exists(job.checkpointPath));

        answer("Checkpoint and quit");
        QVERIFY(window.close());
        QVERIFY(!window.trainingView()->isRunning());
        QVERIFY(QFileInfo::exists(job.checkpointPath));
    }

    // A Qt application takes its C locale from the environment; a German
    // user's still loads every model.
    void loadsAModelUnderACommaLocale()
    {
        QString why;
        const QString locales = test::commaLocaleFolder(&why);
        QVERIFY2(!locales.isEmpty(), qPrintable(why));
        qputenv("LOCPATH", locales.toLocal8Bit());
        const std::string previous = std::setlocale(LC_ALL, nullptr);
        QVERIFY(std::setlocale(LC_ALL, test::kCommaLocale));
        char number[16];
        std::snprintf(number, sizeof number, "%.1f", 1.5);
        const QString printed = number;
        MainWindow window(model_);
        const bool loaded = window.loadModel(model_);
        std::setlocale(LC_ALL, previous.c_str());
        QCOMPARE(printed, QString("1,5")); // the locale was in force
        QVERIFY2(loaded, qPrintable(window.lastError()));
        QCOMPARE(window.currentModelPath(), model_);
    }

    // The attack tab on a small random classifier: a gallery image is
    // attacked live, the probability bars move during the solve, the
    // adversarial image and the perturbation are shown, and Compare overlays
    // JIIO's and PGD's curves.
    void attackViewRunsLiveAndComparesJiioWithPgd()
    {
        torch::manual_seed(4);
        ModelConfig config = ModelConfig::newClassifierModel(1, 28, 10);
        config.width = 8;
        config.groups = 2;
        DeqModel classifier(config);
        const QString path = dir_.filePath("tiny-classifier.pt");
        saveModel(path.toStdString(), classifier);

        workbench::AttackView view(path);
        QVERIFY2(view.lastError().isEmpty(), qPrintable(view.lastError()));
        if (view.gallery()->count() == 0) { // no Fashion-MNIST: attack an image of our own
            cv::Mat image(28, 28, CV_32F);
            cv::randu(image, 0.0, 1.0);
            view.setImage(image, 3);
        } else {
            QVERIFY(view.selectGalleryImage(2));
        }
        view.iterationsBox()->setValue(12);
        view.epsBox()->setValue(0.2);
        QSignalSpy finished(&view, &workbench::AttackView::attackFinished);
        QSignalSpy failed(&view, &workbench::AttackView::attackFailed);
        QTest::mouseClick(view.runButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(finished.size() + failed.size() > 0, 60000);
        QVERIFY2(failed.isEmpty(), qPrintable(view.lastError()));
        const int points = view.plot()->pointCount();
        QVERIFY(points >= 2 && points <= 12);
        QVERIFY(view.probabilityUpdates() >= points); // live: one per iteration, and the final one
        int total = 0;
        for (auto* bar : view.probabilityBars())
            total += bar->value();
        QVERIFY(std::abs(total - 1000) <= 10); // the bars are a distribution
        QVERIFY(!view.adversarialLabel()->pixmap().isNull());
        QVERIFY(!view.perturbationLabel()->pixmap().isNull());
        const auto outcome = finished.front().front().value<workbench::AttackOutcome>();
        QCOMPARE(outcome.adversarialProbabilities.size(), 10);

        QSignalSpy compared(&view, &workbench::AttackView::comparisonFinished);
        QTest::mouseClick(view.compareButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(compared.size() + failed.size() > 0, 120000);
        QVERIFY2(failed.isEmpty(), qPrintable(view.lastError()));
        QCOMPARE(view.plot()->runCount(), 2);

        // The restore view refuses a classifier with a pointer to the attack tab.
        MainWindow window(model_);
        QVERIFY(!window.loadModel(path));
        QVERIFY2(window.lastError().contains("Attack tab"), qPrintable(window.lastError()));

        // The form is remembered.
        QCOMPARE(workbench::AttackView(path).iterationsBox()->value(), 12);
        QCOMPARE(workbench::AttackView(path).epsBox()->value(), 0.2);

        // A restoration model is refused with a message, and the classifier stays.
        QVERIFY(!view.loadModel(model_));
        QVERIFY(view.lastError().contains("classifier"));
        QCOMPARE(view.modelPath(), path);
    }

    // The few-shot tab on a small random few-shot model and OpenCV's digits:
    // an episode is drawn from a seed, the task vector adapts live, every
    // query image gets its predicted class and the accuracy before and after
    // is shown; Compare overlays JIIO's and the naive loop's curves.
    void fewShotViewAdaptsLiveAndComparesJiioWithNaive()
    {
        if (!QFileInfo::exists(QString::fromStdString(defaultDigitsPath())))
            QSKIP("OpenCV's digits.png (package opencv-doc) is not installed");
        torch::manual_seed(5);
        ModelConfig config = ModelConfig::newFewShotModel(1, 28, 5, 8, 8);
        config.width = 8;
        config.groups = 2;
        config.jiioIterations = 7;
        DeqModel model(config);
        const QString path = dir_.filePath("tiny-fewshot.pt");
        saveModel(path.toStdString(), model);

        workbench::FewShotView view(path);
        QVERIFY2(view.lastError().isEmpty(), qPrintable(view.lastError()));
        QCOMPARE(view.iterationsBox()->value(), 7); // the model's budget
        view.domainBox()->setCurrentIndex(view.domainBox()->findData(true)); // digits
        view.shotsBox()->setValue(2);
        view.seedBox()->setValue(5);
        QTest::mouseClick(view.drawButton(), Qt::LeftButton);
        QVERIFY2(view.hasEpisode(), qPrintable(view.lastError()));
        QCOMPARE(view.seedBox()->value(), 6); // the next click draws a new episode
        const int queries = view.queryList()->count();
        QCOMPARE(queries % 5, 0); // five ways, the same queries for each
        QVERIFY(queries > 0);

        view.iterationsBox()->setValue(6);
        QSignalSpy finished(&view, &workbench::FewShotView::adaptationFinished);
        QSignalSpy failed(&view, &workbench::FewShotView::adaptationFailed);
        QTest::mouseClick(view.adaptButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(finished.size() + failed.size() > 0, 60000);
        QVERIFY2(failed.isEmpty(), qPrintable(view.lastError()));
        const int points = view.plot()->pointCount();
        QVERIFY(points >= 2 && points <= 6); // live, one per iteration
        const auto outcome = finished.front().front().value<workbench::FewShotOutcome>();
        QCOMPARE(outcome.after.size(), queries);
        QCOMPARE(outcome.before.size(), queries);
        int right = 0;
        for (int i = 0; i < queries; ++i) {
            QVERIFY(outcome.after[i] >= 0 && outcome.after[i] < 5);
            QVERIFY(view.queryList()->item(i)->text().startsWith("digit ")); // its predicted class
            right += view.queryList()->item(i)->toolTip().contains(
                "true class: " + view.queryList()->item(i)->text() + ",");
        }
        QCOMPARE(100.0 * right / queries, outcome.accuracyAfter);
        QVERIFY(view.accuracyLabel()->text().contains("before adapting"));

        QSignalSpy compared(&view, &workbench::FewShotView::comparisonFinished);
        QTest::mouseClick(view.compareButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(compared.size() + failed.size() > 0, 120000);
        QVERIFY2(failed.isEmpty(), qPrintable(view.lastError()));
        QCOMPARE(view.plot()->runCount(), 2);

        // A restoration model is refused with a message, and the few-shot model stays.
        QVERIFY(!view.loadModel(model_));
        QVERIFY(view.lastError().contains("few-shot"));
        QCOMPARE(view.modelPath(), path);

        MainWindow window(model_);
        QVERIFY(window.showTab("fewshot"));
    }

    void anInvalidModelIsAClearError()
    {
        MainWindow window(model_);
        QFile bad(dir_.filePath("bad.pt"));
        QVERIFY(bad.open(QIODevice::WriteOnly));
        bad.write(QByteArray(100, 'x'));
        bad.close();
        QVERIFY(!window.loadModel(bad.fileName()));
        QVERIFY(window.lastError().contains("corrupt or not a JIIO checkpoint"));
    }
};

QTEST_MAIN(TestGui)
#include "test_gui.moc"
