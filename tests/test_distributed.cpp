// Data-parallel training on c10d/Gloo over 127.0.0.1: two processes train as
// one process over the union of their batches, every rank ends with the same
// parameters bit for bit, and a rank that dies stops the others with a message.
#include "cli_runner.h"
#include "test_support.h"

#include "core/models/checkpoint.h"
#include "core/training/data_parallel.h"
#include "core/training/trainer.h"
#include "core/training/training_data.h"

#include <QtTest>

#include <tuple>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <arpa/inet.h>
#include <csignal>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <thread>

using namespace jiio;
using namespace jiio::test;

namespace {

// |(a - start) - (b - start)| / |a - start| over all parameters: how far two
// runs from the same start moved apart, relative to how far they moved.
double relativeUpdateDifference(DeqModel& a, DeqModel& b, DeqModel& start)
{
    double apart = 0, moved = 0;
    const auto left = a->named_parameters();
    const auto right = b->named_parameters();
    const auto origin = start->named_parameters();
    for (const auto& item : left) {
        apart += (item.value() - right[item.key()]).square().sum().item<double>();
        moved += (item.value() - origin[item.key()]).square().sum().item<double>();
    }
    return std::sqrt(apart / moved);
}

// A port free on 127.0.0.1 right now (the system picks it).
int freePort()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    const bool bound = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0
                       && ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
    if (fd >= 0)
        ::close(fd);
    return bound ? ntohs(address.sin_port) : 29600 + int(QCoreApplication::applicationPid() % 2000);
}

} // namespace

class TestDistributed : public QObject {
    Q_OBJECT
private:
    QTemporaryDir dir_;
    QString data_, model_;
    const QStringList recipe_{"--steps", "3", "--batch", "4", "--patch", "24", "--jacobian-weight", "0",
                              "--gain-weight", "0", "--validate-every", "3", "--checkpoint-every", "3",
                              "--seed", "5", "--threads", "1"};

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(dir_.isValid());
        data_ = dir_.filePath("data");
        QVERIFY(QDir().mkpath(data_));
        for (int i = 0; i < 6; ++i) {
            cv::Mat image(40, 40, CV_8UC3);
            cv::randu(image, cv::Scalar::all(0), cv::Scalar::all(255));
            cv::GaussianBlur(image, image, cv::Size(5, 5), 1.5);
            cv::imwrite(dir_.filePath(QString("data/p%1.png").arg(i)).toStdString(), image);
        }
        model_ = dir_.filePath("init.pt");
        torch::manual_seed(2);
        DeqModel model(tinyImagePriorConfig(3));
        saveModel(model_.toStdString(), model);
    }

    // `jiio train --nproc 2` follows the single-process run over the same
    // global batches (the gradient average of two halves is the whole batch's
    // gradient), and only rank 0 writes.
    void twoProcessesTrainLikeOneOverTheirUnion()
    {
        const QString single = dir_.filePath("single.pt");
        const QString pair = dir_.filePath("pair/pair.pt");
        QVERIFY(QDir().mkpath(dir_.filePath("pair")));
        const auto one = runCli(QStringList{"train", "--init", model_, "--output", single, "--data", data_} + recipe_);
        QVERIFY2(one.exitCode == 0, qPrintable(one.err));
        const auto two = runCli(QStringList{"train", "--init", model_, "--output", pair, "--data", data_, "--nproc",
                                            "2"} + recipe_);
        QVERIFY2(two.exitCode == 0, qPrintable(two.err));
        QVERIFY2(two.err.contains("started 2 training processes"), qPrintable(two.err));
        QCOMPARE(two.err.count("validation PSNR"), 1); // rank 0 alone reports
        QCOMPARE(QDir(dir_.filePath("pair")).entryList(QDir::Files).size(), 3); // checkpoint, best model, log

        auto a = loadModel(single.toStdString()).model;
        auto b = loadModel(pair.toStdString()).model;
        auto start = loadModel(model_.toStdString()).model;
        const double difference = relativeUpdateDifference(a, b, start);
        qInfo("updates of one process and of two differ by %.3g of their size", difference);
        // Not to the bit: the adjoint solve stops on its batch's mean residual,
        // so two halves stop at other iterations than the whole batch, and
        // Adam's first steps magnify the tiny gradient differences. Other
        // batches (another seed) move the parameters elsewhere altogether.
        QVERIFY2(difference < 1e-2, qPrintable(QString("relative update difference %1").arg(difference)));
        QStringList reseeded = recipe_;
        reseeded[reseeded.indexOf("--seed") + 1] = "6";
        const QString other = dir_.filePath("other-batches.pt");
        QCOMPARE(runCli(QStringList{"train", "--init", model_, "--output", other, "--data", data_} + reseeded).exitCode,
                 0);
        auto c = loadModel(other.toStdString()).model;
        const double otherBatches = relativeUpdateDifference(a, c, start);
        qInfo("updates over other batches differ by %.3g", otherBatches);
        QVERIFY2(otherBatches > 20 * difference, qPrintable(QString("other batches differ by %1").arg(otherBatches)));
    }

    // Classifiers (standard and adversarial training) and few-shot models
    // train data-parallel too: two processes follow one over the same global
    // batches (or episodes), and rank 0 alone reports and writes.
    void otherTasksTrainLikeOneOverTheirUnion_data()
    {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<QStringList>("recipe");
        const QStringList common{"--steps", "3", "--jacobian-weight", "0", "--gain-weight", "0", "--validate-every",
                                 "3", "--checkpoint-every", "3", "--seed", "5", "--threads", "1"};
        QTest::newRow("classify") << "classifier" << QStringList{"--task", "classify", "--batch", "8"} + common;
        QTest::newRow("adversarial") << "classifier"
                                     << QStringList{"--task", "adversarial", "--batch", "8", "--attack", "jiio",
                                                    "--eps", "0.1", "--attack-iters", "3"} + common;
        QTest::newRow("meta") << "fewshot"
                              << QStringList{"--task", "meta", "--ways", "3", "--shots", "1", "--queries", "2",
                                             "--episodes-per-step", "2", "--inner-iters", "3"} + common;
    }
    void otherTasksTrainLikeOneOverTheirUnion()
    {
        QFETCH(QString, kind);
        QFETCH(QStringList, recipe);
        if (!QFileInfo::exists("/usr/share/datasets/fashion-mnist"))
            QSKIP("dataset-fashion-mnist is not installed");
        const QString tag = QTest::currentDataTag();
        const QString start = dir_.filePath(tag + "-init.pt");
        const QStringList size = kind == "fewshot" ? QStringList{"--width", "4", "--latent-channels", "8"}
                                                   : QStringList{"--width", "8"};
        QVERIFY(runCli(QStringList{"init", "--kind", kind, "--seed", "3", "--output", start} + size).exitCode == 0);
        const QString single = dir_.filePath(tag + "-single.pt");
        const QString folder = dir_.filePath(tag + "-pair");
        QVERIFY(QDir().mkpath(folder));
        const auto one = runCli(QStringList{"train", "--init", start, "--output", single} + recipe);
        QVERIFY2(one.exitCode == 0, qPrintable(one.err));
        const auto two = runCli(QStringList{"train", "--init", start, "--output", folder + "/pair.pt", "--nproc", "2"}
                                + recipe);
        QVERIFY2(two.exitCode == 0, qPrintable(two.err));
        QVERIFY2(two.err.contains("started 2 training processes"), qPrintable(two.err));
        QCOMPARE(two.err.count("validation accuracy"), 1); // rank 0 alone reports
        QCOMPARE(QDir(folder).entryList(QDir::Files).size(), 3); // checkpoint, best model, log

        auto a = loadModel(single.toStdString()).model;
        auto b = loadModel((folder + "/pair.pt").toStdString()).model;
        auto origin = loadModel(start.toStdString()).model;
        const double difference = relativeUpdateDifference(a, b, origin);
        qInfo("%s: updates of one process and of two differ by %.3g of their size", qPrintable(tag), difference);
        // Other batches (another seed) move the parameters elsewhere. In
        // adversarial training each rank's attack starts from its rows of the
        // whole batch's random start, so it follows the single run as closely.
        QStringList reseeded = recipe;
        reseeded[reseeded.indexOf("--seed") + 1] = "6";
        const QString other = dir_.filePath(tag + "-other.pt");
        QCOMPARE(runCli(QStringList{"train", "--init", start, "--output", other} + reseeded).exitCode, 0);
        auto c = loadModel(other.toStdString()).model;
        const double otherBatches = relativeUpdateDifference(a, c, origin);
        qInfo("%s: updates over other batches differ by %.3g", qPrintable(tag), otherBatches);
        QVERIFY2(difference < 1e-2, qPrintable(QString("relative update difference %1").arg(difference)));
        QVERIFY2(otherBatches > 4 * difference, qPrintable(QString("other batches differ by %1").arg(otherBatches)));
    }

    // Every rank holds the same parameters after the steps, to the bit (two
    // ranks in threads of this process, each with its own trainer).
    void ranksEndWithBitIdenticalParameters()
    {
        const int port = freePort();
        std::vector<DeqModel> finals(2, DeqModel{nullptr});
        std::vector<std::string> errors(2);
        auto rank = [&](int r) {
            try {
                DataParallelOptions options;
                options.worldSize = 2;
                options.rank = r;
                options.masterPort = port;
                options.timeoutSeconds = 60;
                auto parallel = std::make_shared<DataParallel>(options);
                auto model = loadModel(model_.toStdString()).model;
                TrainingOptions training;
                training.steps = 3;
                training.batchSize = 4;
                training.validateEvery = 0;
                training.checkpointEvery = 0;
                training.seed = 11; // ranks of one run share the recipe (checked), and train on other rows
                auto source = makeTrainingSource({data_.toStdString()}, model->config(), 24, [](const std::string&) {});
                const QString output = dir_.filePath(QString("bits/rank%1.pt").arg(r));
                Trainer trainer(model, training, std::move(source), output.toStdString());
                trainer.useDataParallel(parallel);
                struct Quiet : TrainingObserver {
                    void onProgress(const TrainingProgress&) override {}
                } quiet;
                trainer.run(quiet);
                finals[size_t(r)] = trainer.model();
            } catch (const std::exception& e) {
                errors[size_t(r)] = e.what();
            }
        };
        QVERIFY(QDir().mkpath(dir_.filePath("bits")));
        std::thread other(rank, 1);
        rank(0);
        other.join();
        QVERIFY2(errors[0].empty() && errors[1].empty(), (errors[0] + " / " + errors[1]).c_str());
        const auto left = finals[0]->named_parameters();
        const auto right = finals[1]->named_parameters();
        for (const auto& item : left)
            QVERIFY2(torch::equal(item.value(), right[item.key()]), item.key().c_str());
        QVERIFY(QFileInfo::exists(dir_.filePath("bits/rank0.pt")));
        QVERIFY(!QFileInfo::exists(dir_.filePath("bits/rank1.pt"))); // rank 0 alone writes
    }

    // A rank killed mid-run makes the other one fail with a message instead of
    // waiting for ever.
    void aRankThatDiesStopsTheOthers()
    {
        const QString port = QString::number(freePort());
        const QStringList common{"train", "--init", model_, "--output", dir_.filePath("dies.pt"), "--data", data_,
                                 "--steps", "100000", "--batch", "2", "--patch", "24", "--validate-every", "100000",
                                 "--checkpoint-every", "100000", "--threads", "1", "--world-size", "2",
                                 "--master-port", port, "--dist-timeout", "10"};
        QProcess leader, follower;
        for (auto [process, rank] : {std::pair{&leader, "0"}, std::pair{&follower, "1"}}) {
            process->setProgram(cliPath());
            process->setArguments(common + QStringList{"--rank", rank});
            process->start();
            QVERIFY(process->waitForStarted());
        }
        QByteArray err;
        QDeadlineTimer started(120000);
        while (!err.contains("1/100000") && !started.hasExpired()) {
            leader.waitForReadyRead(200);
            err += leader.readAllStandardError();
        }
        QVERIFY2(err.contains("1/100000"), err.constData());
        QCOMPARE(::kill(pid_t(follower.processId()), SIGKILL), 0);
        follower.waitForFinished();
        QVERIFY2(leader.waitForFinished(90000), "rank 0 kept waiting for the dead rank");
        err += leader.readAllStandardError();
        QCOMPARE(leader.exitStatus(), QProcess::NormalExit);
        QCOMPARE(leader.exitCode(), 1);
        QVERIFY2(err.contains("another training process stopped"), err.constData());
    }

    // Ranks started with different recipes (here another seed, so other
    // batches) are refused on every rank before the first step.
    void ranksThatDisagreeAreRefused()
    {
        const QString port = QString::number(freePort());
        const QStringList common{"train", "--init", model_, "--output", dir_.filePath("disagree.pt"), "--data", data_,
                                 "--steps", "3", "--batch", "2", "--patch", "24", "--threads", "1", "--world-size", "2",
                                 "--master-port", port, "--dist-timeout", "60"};
        QProcess leader, follower;
        for (auto [process, rank, seed] : {std::tuple{&leader, "0", "5"}, std::tuple{&follower, "1", "6"}}) {
            process->setProgram(cliPath());
            process->setArguments(common + QStringList{"--rank", rank, "--seed", seed});
            process->start();
            QVERIFY(process->waitForStarted());
        }
        for (QProcess* process : {&leader, &follower}) {
            QVERIFY(process->waitForFinished(120000));
            const QByteArray err = process->readAllStandardError();
            QCOMPARE(process->exitCode(), 1);
            QVERIFY2(err.contains("disagree on the run"), err.constData());
            QVERIFY2(!err.contains("1/3"), err.constData()); // no step was taken
        }
        QVERIFY(!QFileInfo::exists(dir_.filePath("disagree.pt")));
    }

    // Two ranks stopped by SIGTERM (passed on by --nproc) checkpoint after the
    // same step, and --resume with the same world size ends where the
    // uninterrupted run ends, to the bit: restoration, classifier and
    // few-shot training.
    void aStoppedRunResumesExactly_data()
    {
        QTest::addColumn<QStringList>("start");
        QTest::addColumn<QStringList>("common");
        QTest::addColumn<QStringList>("resumeData");
        QStringList recipe = recipe_;
        recipe[recipe.indexOf("--steps") + 1] = "40";
        recipe[recipe.indexOf("--validate-every") + 1] = "1000";
        recipe[recipe.indexOf("--checkpoint-every") + 1] = "1000";
        QTest::newRow("restore") << QStringList{}
                                 << QStringList{"--init", model_, "--data", data_, "--nproc", "2"} + recipe
                                 << QStringList{"--data", data_, "--patch", "24"};
        if (!QFileInfo::exists("/usr/share/datasets/fashion-mnist"))
            return;
        // The small models' steps are quick: enough of them that the stop
        // lands before the end.
        const QStringList budget{"--steps", "80", "--jacobian-weight", "0", "--gain-weight", "0", "--validate-every",
                                 "1000", "--checkpoint-every", "1000", "--seed", "5", "--threads", "1", "--nproc", "2"};
        const QString classifier = dir_.filePath("resume-classifier.pt");
        QTest::newRow("classify") << QStringList{"init", "--kind", "classifier", "--width", "8", "--output", classifier}
                                  << QStringList{"--task", "classify", "--init", classifier, "--batch", "8"} + budget
                                  << QStringList{};
        const QString fewShot = dir_.filePath("resume-fewshot.pt");
        QTest::newRow("meta") << QStringList{"init", "--kind", "fewshot", "--width", "4", "--latent-channels", "8",
                                             "--output", fewShot}
                              << QStringList{"--task", "meta", "--init", fewShot, "--ways", "3", "--shots", "1",
                                             "--queries", "2", "--episodes-per-step", "2", "--inner-iters", "3"}
                                     + budget
                              << QStringList{};
    }
    void aStoppedRunResumesExactly()
    {
        QFETCH(QStringList, start);
        QFETCH(QStringList, common);
        QFETCH(QStringList, resumeData);
        if (!start.isEmpty())
            QCOMPARE(runCli(start).exitCode, 0);
        const QString folder = dir_.filePath(QString("resume-") + QTest::currentDataTag());
        QVERIFY(QDir().mkpath(folder));
        const QString straight = folder + "/straight.pt";
        const QString stopped = folder + "/stopped.pt";
        const auto whole = runCli(QStringList{"train", "--output", straight} + common);
        QVERIFY2(whole.exitCode == 0, qPrintable(whole.err));

        QProcess run;
        run.setProgram(cliPath());
        run.setArguments(QStringList{"train", "--output", stopped} + common);
        run.start();
        QVERIFY(run.waitForStarted());
        const int steps = common.at(common.indexOf("--steps") + 1).toInt();
        const QByteArray firstStep = "1/" + QByteArray::number(steps);
        QByteArray err;
        QDeadlineTimer deadline(120000);
        while (!err.contains(firstStep) && !deadline.hasExpired()) {
            run.waitForReadyRead(100);
            err += run.readAllStandardError();
        }
        QVERIFY2(err.contains(firstStep), err.constData());
        QCOMPARE(::kill(pid_t(run.processId()), SIGTERM), 0);
        QVERIFY(run.waitForFinished(120000));
        err += run.readAllStandardError();
        QCOMPARE(run.exitCode(), 143);
        const auto at = QRegularExpression(R"(after step (\d+))").match(QString::fromUtf8(err));
        QVERIFY2(at.hasMatch() && at.captured(1).toInt() < steps, err.constData());

        const auto resumed = runCli(QStringList{"train", "--output", stopped, "--resume", "--threads", "1", "--nproc", "2"}
                                    + resumeData);
        QVERIFY2(resumed.exitCode == 0, qPrintable(resumed.err));
        QVERIFY2(resumed.err.contains("resuming at step " + at.captured(1)), qPrintable(resumed.err));
        auto a = loadModel(straight.toStdString()).model;
        auto b = loadModel(stopped.toStdString()).model;
        const auto left = a->named_parameters();
        const auto right = b->named_parameters();
        for (const auto& item : left)
            QVERIFY2(torch::equal(item.value(), right[item.key()]), item.key().c_str());
    }

    // Wrong set-ups are refused before any work, with what to do instead.
    void refusesWhatCannotWork()
    {
        const QStringList base{"train", "--init", model_, "--output", dir_.filePath("bad.pt"), "--data", data_,
                               "--steps", "1", "--patch", "24", "--threads", "1"};
        auto oddBatch = runCli(base + QStringList{"--nproc", "2", "--batch", "3"});
        QVERIFY(oddBatch.exitCode != 0);
        QVERIFY2(oddBatch.err.contains("does not divide among 2"), qPrintable(oddBatch.err));
        auto noRank = runCli(base + QStringList{"--world-size", "2"});
        QCOMPARE(noRank.exitCode, 2);
        QVERIFY2(noRank.err.contains("--rank"), qPrintable(noRank.err));
        if (QFileInfo::exists("/usr/share/datasets/fashion-mnist")) { // the meta task reads it first
            auto oddEpisodes = runCli({"train", "--task", "meta", "--output", dir_.filePath("bad.pt"), "--nproc", "2",
                                       "--episodes-per-step", "3", "--steps", "1"});
            QVERIFY(oddEpisodes.exitCode != 0);
            QVERIFY2(oddEpisodes.err.contains("does not divide among 2"), qPrintable(oddEpisodes.err));
        }
        QVERIFY(!QFileInfo::exists(dir_.filePath("bad.pt")));
    }
};

QTEST_GUILESS_MAIN(TestDistributed)
#include "test_distributed.moc"
