// A training run killed with SIGKILL resumes from its last checkpoint and
// loses at most one checkpoint interval (slow: it trains for real).
#include "cli_runner.h"
#include "test_support.h"

#include <QtTest>

#include <opencv2/imgcodecs.hpp>

#include <csignal>

using namespace jiio::test;

class TestTrainKill : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void killedRunResumesFromItsLastCheckpoint()
    {
        QTemporaryDir dir;
        for (int i = 0; i < 5; ++i) {
            cv::Mat image(48, 48, CV_8UC3);
            cv::randu(image, cv::Scalar::all(0), cv::Scalar::all(255));
            cv::imwrite(dir.filePath(QString("p%1.png").arg(i)).toStdString(), image);
        }
        const QString model = dir.filePath("model.pt");
        const QString output = dir.filePath("run.pt");
        QCOMPARE(runCli({"init", "--output", model, "--width", "8", "--latent-channels", "4", "--jiio-iters", "3"})
                     .exitCode,
                 0);
        const QStringList common{"--data", dir.path(), "--patch", "32", "--batch", "2"};
        const int interval = 3;

        QProcess training;
        training.setProgram(cliPath());
        training.setArguments(QStringList{"train", "--output", output, "--init", model, "--steps", "400",
                                          "--checkpoint-every", QString::number(interval), "--validate-every", "1000"}
                              + common);
        training.start();
        QVERIFY(training.waitForStarted());
        // Wait for a few checkpoints, then kill without warning.
        QString log;
        QElapsedTimer clock;
        clock.start();
        while (log.count("checkpoint at step") < 3 && clock.elapsed() < 300000) {
            training.waitForReadyRead(1000);
            log += QString::fromLocal8Bit(training.readAllStandardError());
        }
        ::kill(pid_t(training.processId()), SIGKILL);
        training.waitForFinished();
        log += QString::fromLocal8Bit(training.readAllStandardError());
        QRegularExpression progress(R"((\d+)/400 loss)");
        int lastStep = 0;
        for (auto it = progress.globalMatch(log); it.hasNext();)
            lastStep = it.next().captured(1).toInt();
        QVERIFY(lastStep >= 3 * interval);

        auto resumed = runCli(QStringList{"train", "--output", output, "--resume"} + common, 5000);
        // It prints where it resumes, then keeps training: let it run briefly.
        QRegularExpression resumedAt(R"(resuming at step (\d+) of 400)");
        const auto match = resumedAt.match(resumed.err);
        QVERIFY2(match.hasMatch(), qPrintable(resumed.err));
        const int resumeStep = match.captured(1).toInt();
        qInfo("killed after step %d, resumed at step %d (checkpoint interval %d)", lastStep, resumeStep, interval);
        QVERIFY(resumeStep % interval == 0);
        QVERIFY(resumeStep > lastStep - interval - 1);
        QVERIFY(resumeStep <= lastStep);
    }
};

QTEST_GUILESS_MAIN(TestTrainKill)
#include "test_train_kill.moc"
