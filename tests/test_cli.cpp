// The jiio command line end to end: real image files in, real files out, and
// bad input answered with one line on stderr and a non-zero exit code.
#include "cli_runner.h"
#include "test_support.h"

#include <cmath>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <sys/resource.h>
#include <csignal>
#include <signal.h>

using namespace jiio::test;

namespace {

// A smooth test picture with some structure, at any depth and channel count.
cv::Mat makePicture(int rows, int cols, int channels, int depth)
{
    cv::Mat bgr(rows, cols, CV_32FC3);
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c)
            bgr.at<cv::Vec3f>(r, c) = cv::Vec3f(0.5f + 0.4f * std::sin(r * 0.05f), 0.5f + 0.4f * std::cos(c * 0.07f),
                                                float((r + c) % 64) / 64.0f);
    cv::Mat converted;
    if (channels == 1)
        cv::cvtColor(bgr, converted, cv::COLOR_BGR2GRAY);
    else if (channels == 4)
        cv::cvtColor(bgr, converted, cv::COLOR_BGR2BGRA);
    else
        converted = bgr;
    if (channels == 4) { // a non-trivial alpha plane
        std::vector<cv::Mat> planes;
        cv::split(converted, planes);
        planes[3] = cv::Scalar(0.25);
        planes[3](cv::Rect(0, 0, cols / 2, rows)) = cv::Scalar(1.0);
        cv::merge(planes, converted);
    }
    cv::Mat out;
    converted.convertTo(out, depth, depth == CV_16U ? 65535.0 : 255.0);
    return out;
}

cv::Mat blockMask(int rows, int cols)
{
    cv::Mat mask = cv::Mat::zeros(rows, cols, CV_8U);
    cv::rectangle(mask, cv::Rect(cols / 4, rows / 4, std::max(1, cols / 5), std::max(1, rows / 5)), 255, cv::FILLED);
    cv::line(mask, cv::Point(0, rows - 3), cv::Point(cols - 1, 2), 255, 2);
    return mask;
}

QByteArray fileBytes(const QString& path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

} // namespace

class TestCli : public QObject {
    Q_OBJECT

    QTemporaryDir dir_;
    QString rgbModel_, grayModel_, generativeModel_;

    QString path(const QString& name) const { return dir_.filePath(name); }
    static QJsonObject readJson(const QString& file)
    {
        QFile in(file);
        if (!in.open(QIODevice::ReadOnly))
            return {};
        return QJsonDocument::fromJson(in.readAll()).object();
    }

    QString write(const QString& name, const cv::Mat& image)
    {
        const QString file = path(name);
        if (!cv::imwrite(file.toStdString(), image))
            qFatal("cannot write test image %s", qPrintable(file));
        return file;
    }

    void expectSuccess(const CliResult& result)
    {
        QVERIFY2(!result.crashed && result.exitCode == 0,
                 qPrintable(QString("exit %1: %2").arg(result.exitCode).arg(result.err)));
    }

    // A failure must be one clear line on stderr and a non-zero exit code.
    void expectCleanFailure(const CliResult& result, const QString& expectedFragment)
    {
        QVERIFY2(!result.crashed, qPrintable(result.err));
        QVERIFY(result.exitCode != 0);
        const QString err = result.err.trimmed();
        QVERIFY2(!err.isEmpty() && !err.contains('\n'), qPrintable("stderr: " + result.err));
        QVERIFY2(err.contains(expectedFragment, Qt::CaseInsensitive), qPrintable("stderr: " + err));
    }

    // A CLI run stopped by Ctrl-C: how it ended and all it wrote.
    struct Interrupted {
        int exitCode = -1;
        QByteArray out, err;
    };
    // Runs the CLI until `channel` shows `text`, then sends SIGINT; the run
    // must end by itself (not be killed by the signal).
    void interruptOnceShown(const QStringList& arguments, QProcess::ProcessChannel channel, const QByteArray& text,
                            Interrupted& run)
    {
        QProcess process;
        process.setProgram(cliPath());
        process.setArguments(arguments);
        process.start();
        QVERIFY(process.waitForStarted());
        QDeadlineTimer deadline(120000);
        auto shown = [&] { return (channel == QProcess::StandardOutput ? run.out : run.err).contains(text); };
        while (!shown() && !deadline.hasExpired()) {
            process.waitForReadyRead(200);
            run.out += process.readAllStandardOutput();
            run.err += process.readAllStandardError();
        }
        QVERIFY2(shown(), (run.out + run.err).constData());
        QCOMPARE(::kill(pid_t(process.processId()), SIGINT), 0);
        QVERIFY(process.waitForFinished(120000));
        run.out += process.readAllStandardOutput();
        run.err += process.readAllStandardError();
        QCOMPARE(process.exitStatus(), QProcess::NormalExit);
        run.exitCode = process.exitCode();
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(dir_.isValid());
        QVERIFY2(QFileInfo::exists(cliPath()), qPrintable(cliPath()));
        const QStringList small = {"--width", "8", "--latent-channels", "4", "--tile", "128", "--overlap", "16",
                                   "--jiio-iters", "3"};
        rgbModel_ = path("rgb.pt");
        grayModel_ = path("gray.pt");
        generativeModel_ = path("generative.pt");
        expectSuccess(runCli(QStringList{"init", "--output", rgbModel_, "--channels", "3"} + small));
        expectSuccess(runCli(QStringList{"init", "--output", grayModel_, "--channels", "1"} + small));
        expectSuccess(runCli({"init", "--output", generativeModel_, "--kind", "generative", "--channels", "1",
                              "--width", "8", "--latent-channels", "4"}));
    }

    // A classifier from init through training, an attack on one image and the
    // robustness evaluation, on a small model and few steps.
    void classifierTrainsAttacksAndEvaluates()
    {
        if (!QFileInfo::exists("/usr/share/datasets/fashion-mnist"))
            QSKIP("dataset-fashion-mnist is not installed");
        const QString untrained = path("classifier.pt");
        expectSuccess(runCli({"init", "--kind", "classifier", "--width", "8", "--output", untrained}));
        const QString trained = path("classifier-trained.pt");
        const auto train = runCli({"train", "--task", "classify", "--init", untrained, "--output", trained, "--steps",
                                   "3", "--batch", "8", "--validate-every", "3", "--checkpoint-every", "3",
                                   "--device", "cpu"});
        expectSuccess(train);
        QVERIFY2(train.err.contains("validation accuracy"), qPrintable(train.err));
        QVERIFY2(runCli({"info", trained}).out.contains("kind = classifier"), "info names the kind");

        const cv::Mat item = makePicture(28, 28, 1, CV_8U);
        const QString input = write("item28.png", item);
        const QString adversarial = path("adversarial.png");
        const QString trace = path("attack.csv");
        const auto attack = runCli({"attack", "--model", trained, "--input", input, "--eps", "0.1", "--iters", "6",
                                    "--output", adversarial, "--trace", trace});
        expectSuccess(attack);
        QVERIFY2(attack.out.contains("adversarial"), qPrintable(attack.out));
        const cv::Mat written = cv::imread(adversarial.toStdString(), cv::IMREAD_UNCHANGED);
        QCOMPARE(written.size(), item.size());
        cv::Mat difference;
        cv::absdiff(written, item, difference);
        double largest = 0;
        cv::minMaxLoc(difference, nullptr, &largest);
        QVERIFY2(largest <= 0.1 * 255, qPrintable(QString("largest change %1 of 25.5 levels").arg(largest)));
        QFile csv(trace);
        QVERIFY(csv.open(QIODevice::ReadOnly));
        QCOMPARE(csv.readAll().count('\n'), 7); // header and one row per iteration

        // Ctrl-C during a long attack: the perturbation so far is written, exit status 130.
        const QString stopped = path("adversarial-stopped.png");
        Interrupted run;
        interruptOnceShown({"attack", "--model", trained, "--input", input, "--eps", "0.1", "--iters", "100000",
                            "--output", stopped},
                           QProcess::StandardError, "attacking", run);
        if (QTest::currentTestFailed())
            return;
        QCOMPARE(run.exitCode, 130);
        QVERIFY2(run.err.contains("jiio attack: stopped after"), run.err.constData());
        const cv::Mat partial = cv::imread(stopped.toStdString(), cv::IMREAD_UNCHANGED);
        QCOMPARE(partial.size(), item.size());
        cv::absdiff(partial, item, difference);
        cv::minMaxLoc(difference, nullptr, &largest);
        QVERIFY(largest <= 0.1 * 255);

        expectCleanFailure(runCli({"attack", "--model", rgbModel_, "--input", input, "--output", path("x.png")}),
                           "classifier");
        expectCleanFailure(runCli({"attack", "--model", trained, "--input", input, "--norm", "l1", "--output",
                                   path("x.png")}),
                           "norm");
        expectCleanFailure(runCli({"eval", "--task", "adversarial", "--model", rgbModel_}), "classifier");

        const QString json = path("robust.json");
        const auto eval = runCli({"eval", "--task", "adversarial", "--model", trained, "--count", "12", "--pgd-steps",
                                  "2", "--restarts", "2", "--transfer-from", untrained, "--json", json});
        expectSuccess(eval);
        QVERIFY2(eval.out.contains("robust (survives every attack)"), qPrintable(eval.out));
        QFile file(json);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const auto document = QJsonDocument::fromJson(file.readAll()).object();
        for (const char* key : {"clean_accuracy", "robust_accuracy", "eps", "norm", "attack_speedup", "eps_sweep"})
            QVERIFY2(document.contains(key), key);
        QVERIFY(document["robust_accuracy"].toDouble() <= document["clean_accuracy"].toDouble());
        QCOMPARE(document["norm"].toString(), QString("linf"));

        const auto adversarialTraining =
            runCli({"train", "--task", "adversarial", "--attack", "pgd", "--init", untrained, "--output",
                    path("robust.pt"), "--steps", "2", "--batch", "4", "--attack-iters", "2", "--validate-every", "2"});
        expectSuccess(adversarialTraining);
        QVERIFY(runCli({"info", path("robust.pt")}).out.contains("adversarial, pgd linf eps 0.1"));
    }

    void fewShotModelMetaTrainsResumesAndEvaluates()
    {
        if (!QFileInfo::exists("/usr/share/datasets/fashion-mnist"))
            QSKIP("dataset-fashion-mnist is not installed");
        if (!QFileInfo::exists("/usr/share/doc/opencv-doc/examples/data/digits.png"))
            QSKIP("opencv-doc is not installed");
        const QString untrained = path("fewshot.pt");
        expectSuccess(runCli({"init", "--kind", "fewshot", "--width", "4", "--latent-channels", "8", "--output",
                              untrained}));
        QVERIFY(runCli({"info", untrained}).out.contains("kind = fewshot"));
        const QString trained = path("fewshot-trained.pt");
        const QStringList common{"train", "--task", "meta", "--init", untrained, "--output", trained,
                                 "--ways", "3", "--shots", "1", "--queries", "2", "--episodes-per-step", "1",
                                 "--inner-iters", "3", "--validate-every", "2", "--checkpoint-every", "1"};
        const auto train = runCli(common + QStringList{"--steps", "2"});
        expectSuccess(train);
        QVERIFY2(train.err.contains("validation accuracy"), qPrintable(train.err));
        QVERIFY(runCli({"info", trained}).out.contains("meta-learning, 3-way 1-shot"));
        // A finished run resumes from its checkpoint and stops at once: the budget is the saved one.
        const auto resumed = runCli({"train", "--output", trained, "--resume"});
        expectSuccess(resumed);
        QVERIFY2(resumed.err.contains("resuming at step 2 of 2"), qPrintable(resumed.err));

        expectCleanFailure(runCli({"eval", "--task", "meta", "--model", rgbModel_}), "few-shot");
        expectCleanFailure(runCli({"train", "--task", "meta", "--init", rgbModel_, "--output", path("m.pt")}),
                           "few-shot");
        const QString json = path("meta.json");
        const auto eval = runCli({"eval", "--task", "meta", "--model", trained, "--episodes", "2", "--shots", "1",
                                  "--iters", "3", "--naive-steps", "2", "--json", json});
        expectSuccess(eval);
        QVERIFY2(eval.out.contains("nearest centroid"), qPrintable(eval.out));
        QFile file(json);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const auto document = QJsonDocument::fromJson(file.readAll()).object();
        for (const char* key : {"accuracy", "ci95", "naive_accuracy", "no_adaptation_accuracy", "centroid_accuracy",
                                "inner_speedup", "settings"})
            QVERIFY2(document.contains(key), key);
        QCOMPARE(document["domain"].toString(), QString("cross-domain"));
        QCOMPARE(document["settings"].toArray().size(), 2); // in-domain and cross-domain, one shot count
        // How often JIIO reached the naive loop's objective in the timing runs.
        const auto detail = document["detail"].toObject();
        QCOMPARE(detail["timing_episodes"].toInt(), 2);
        // The paired difference is over the same episodes, so its mean is the difference of the means.
        const double paired = detail["jiio_minus_naive"].toObject()["mean"].toDouble(1e9);
        QVERIFY2(std::abs(paired - (document["accuracy"].toDouble() - document["naive_accuracy"].toDouble())) < 1e-9,
                 qPrintable(QString::number(paired)));
        QVERIFY(detail["jiio_inner_objective"].toDouble() > 0 && detail["naive_inner_objective"].toDouble() > 0);
        QVERIFY2(eval.out.contains("paired over the same episodes"), qPrintable(eval.out));
        QVERIFY2(eval.out.contains("JIIO 3 iterations, naive GD 2 steps"), qPrintable(eval.out));
        QCOMPARE(document["naive_steps"].toInt(), 2);
        QCOMPARE(document["lambda"].toDouble(), 0.1); // the model's own
        const int reached = detail["jiio_reached_episodes"].toInt(-1);
        QVERIFY(reached >= 0 && reached <= 2);
        QVERIFY2(eval.out.contains(QString("reached the target on %1 of 2 episodes").arg(reached)),
                 qPrintable(eval.out));
        // One domain alone: the digits only.
        const auto cross = runCli({"eval", "--task", "meta", "--model", trained, "--episodes", "1", "--shots", "1",
                                   "--iters", "2", "--naive-steps", "2", "--domain", "cross"});
        expectSuccess(cross);
        QVERIFY2(cross.out.contains("cross-domain") && !cross.out.contains("in-domain"), qPrintable(cross.out));
        // Another proximal weight, and a bad one.
        const auto stronger = runCli({"eval", "--task", "meta", "--model", trained, "--episodes", "1", "--shots", "1",
                                      "--iters", "2", "--naive-steps", "2", "--domain", "cross", "--lambda", "0.3"});
        expectSuccess(stronger);
        QVERIFY2(stronger.out.contains("proximal weight lambda 0.3"), qPrintable(stronger.out));
        expectCleanFailure(runCli({"eval", "--task", "meta", "--model", trained, "--lambda", "-1"}), "--lambda");
        expectCleanFailure(runCli({"eval", "--model", rgbModel_, "--lambda", "0.3"}), "--lambda belongs to --task meta");
        expectCleanFailure(runCli({"eval", "--task", "meta", "--model", trained, "--domain", "sideways"}),
                           "--domain takes 'in', 'cross' or 'both'");
    }

    void helpIsAvailableEverywhere()
    {
        for (const QString& command :
             {"restore", "solve", "bench", "info", "init", "corrupt", "train", "eval", "attack", "export"}) {
            const auto result = runCli({command, "--help"});
            expectSuccess(result);
            QVERIFY(result.out.startsWith("Usage: jiio " + command));
            QVERIFY2(!result.out.contains("--help-all"), qPrintable(result.out)); // Qt's, meaningless here
            QVERIFY(result.out.contains("Exit status"));
            const auto viaHelp = runCli({"help", command}); // jiio help CMD says the same
            expectSuccess(viaHelp);
            QCOMPARE(viaHelp.out, result.out);
            const auto version = runCli({command, "--version"});
            expectSuccess(version);
            QVERIFY(version.out.startsWith("jiio "));
        }
        expectSuccess(runCli({"--help"}));
        QCOMPARE(runCli({"help", "no-such-command"}).exitCode, 2);
    }

    void restoreKeepsShapeChannelsAndDepth_data()
    {
        QTest::addColumn<QString>("task");
        QTest::addColumn<int>("channels");
        QTest::addColumn<int>("depth");
        QTest::addColumn<int>("rows");
        QTest::addColumn<int>("cols");
        QTest::newRow("denoise gray 8-bit") << "denoise" << 1 << int(CV_8U) << 64 << 64;
        QTest::newRow("denoise RGB 16-bit") << "denoise" << 3 << int(CV_16U) << 48 << 64;
        QTest::newRow("inpaint RGB 8-bit, odd size") << "inpaint" << 3 << int(CV_8U) << 37 << 45;
        QTest::newRow("inpaint gray 16-bit") << "inpaint" << 1 << int(CV_16U) << 40 << 32;
        QTest::newRow("inpaint RGBA keeps alpha") << "inpaint" << 4 << int(CV_8U) << 40 << 56;
        QTest::newRow("denoise RGBA 16-bit") << "denoise" << 4 << int(CV_16U) << 32 << 32;
    }
    void restoreKeepsShapeChannelsAndDepth()
    {
        QFETCH(QString, task);
        QFETCH(int, channels);
        QFETCH(int, depth);
        QFETCH(int, rows);
        QFETCH(int, cols);
        const cv::Mat picture = makePicture(rows, cols, channels, depth);
        const QString tag = QString("%1-%2-%3").arg(task).arg(channels).arg(depth);
        const QString input = write(tag + "-in.png", picture);
        const QString output = path(tag + "-out.png");
        const QString trace = path(tag + "-trace.csv");
        QStringList args{"restore", "--task", task, "--input", input, "--output", output,
                         "--model", channels == 1 ? grayModel_ : rgbModel_, "--trace", trace};
        cv::Mat mask;
        if (task == "inpaint") {
            mask = blockMask(rows, cols);
            args << "--mask" << write(tag + "-mask.png", mask);
        } else {
            args << "--sigma" << "25";
        }
        const auto result = runCli(args);
        expectSuccess(result);
        QVERIFY(result.out.contains(output));

        const cv::Mat restored = cv::imread(output.toStdString(), cv::IMREAD_UNCHANGED);
        QCOMPARE(restored.rows, rows);
        QCOMPARE(restored.cols, cols);
        QCOMPARE(restored.channels(), channels);
        QCOMPARE(restored.depth(), depth);
        if (channels == 4) {
            cv::Mat alphaIn, alphaOut;
            cv::extractChannel(picture, alphaIn, 3);
            cv::extractChannel(restored, alphaOut, 3);
            QCOMPARE(cv::norm(alphaIn, alphaOut, cv::NORM_INF), 0.0);
        }
        if (task == "inpaint") { // known pixels are kept exactly
            cv::Mat known;
            cv::bitwise_not(mask, known);
            QCOMPARE(cv::norm(picture, restored, cv::NORM_INF, known), 0.0);
        }
        const QStringList lines = QString::fromUtf8(fileBytes(trace)).trimmed().split('\n');
        QVERIFY(lines.first().startsWith("iter,time_s,objective,res_z,res_x,res_mu,res_total"));
        QCOMPARE(lines.size(), 1 + 3); // header + the model's budget of 3 iterations
        QVERIFY(QFileInfo::exists(trace + ".settings"));
    }

    void defaultModelComesFromTheModelsFolderAndServesGrayImages()
    {
        QTemporaryDir models;
        QVERIFY(QFile::copy(rgbModel_, models.filePath("restore-rgb.pt")));
        auto environment = QProcessEnvironment::systemEnvironment();
        environment.insert("JIIO_MODELS_DIR", models.path());
        const QString gray = write("gray-default.png", makePicture(32, 40, 1, CV_8U));
        const QString output = path("gray-default-out.png");
        const auto result = runCli({"restore", "--task", "denoise", "--sigma", "10", "--input", gray, "--output", output},
                                   300000, environment);
        expectSuccess(result);
        const cv::Mat restored = cv::imread(output.toStdString(), cv::IMREAD_UNCHANGED);
        QCOMPARE(restored.channels(), 1);
        QCOMPARE(restored.cols, 40);
        // Without any model: a clear error naming where it looked.
        QTemporaryDir empty;
        environment.insert("JIIO_MODELS_DIR", empty.path());
        if (!QFileInfo::exists(QString(JIIO_SOURCE_MODELS_DIR) + "/restore-rgb.pt"))
            expectCleanFailure(runCli({"restore", "--task", "denoise", "--sigma", "10", "--input", gray, "--output",
                                       output}, 300000, environment),
                               "no default model");
    }

    void largeImageIsTiledWithinBoundedMemory()
    {
        const QString input = write("large.png", makePicture(1500, 2000, 3, CV_8U));
        const QString output = path("large-out.png");
        const auto result = runCli({"restore", "--task", "denoise", "--sigma", "15", "--input", input, "--output",
                                    output, "--model", rgbModel_, "--iters", "2", "--tile-batch", "8"});
        expectSuccess(result);
        const cv::Mat restored = cv::imread(output.toStdString(), cv::IMREAD_UNCHANGED);
        QCOMPARE(restored.cols, 2000);
        QCOMPARE(restored.rows, 1500);
        QVERIFY(result.out.contains("segment(s)"));
        QVERIFY2(!result.out.contains(" 1 segment(s)"), qPrintable(result.out)); // it was tiled
        rusage usage{};
        getrusage(RUSAGE_CHILDREN, &usage);
        const double peakMiB = usage.ru_maxrss / 1024.0;
        qInfo("peak memory of a child process: %.0f MiB", peakMiB);
        QVERIFY(peakMiB < 1500);
    }

    void solveWritesATraceForEachMethod_data()
    {
        QTest::addColumn<QString>("solver");
        for (const char* solver : {"jiio-anderson", "jiio-picard", "naive-adam", "naive-gd"})
            QTest::newRow(solver) << solver;
    }
    void solveWritesATraceForEachMethod()
    {
        QFETCH(QString, solver);
        const QString input = write("solve-in.png", makePicture(32, 32, 3, CV_8U));
        const QString trace = path("solve-" + solver + ".csv");
        expectSuccess(runCli({"solve", "--task", "denoise", "--sigma", "10", "--input", input, "--model", rgbModel_,
                              "--solver", solver, "--iters", "4", "--trace", trace}));
        const QStringList lines = QString::fromUtf8(fileBytes(trace)).trimmed().split('\n');
        QCOMPARE(lines.size(), 5);
        const QStringList row = lines.at(2).split(',');
        QCOMPARE(row.size(), 11);
        QVERIFY(row.at(2).toDouble() > 0); // an objective (JIIO's first row has none: z was 0)
    }

    void corruptMakesAProblemThatRestoreSolves()
    {
        const QString clean = write("clean.png", makePicture(64, 64, 3, CV_8U));
        expectSuccess(runCli({"corrupt", "--task", "inpaint", "--input", clean, "--output", path("holes.png"),
                              "--mask-out", path("holes-mask.png"), "--mask-kind", "strokes"}));
        const auto result = runCli({"restore", "--task", "inpaint", "--input", path("holes.png"), "--mask",
                                    path("holes-mask.png"), "--output", path("filled.png"), "--model", rgbModel_,
                                    "--reference", clean});
        expectSuccess(result);
        QVERIFY(result.out.contains("PSNR"));
    }

    // --device: the CPU works; a device the build or machine lacks, or a
    // name that is no device, is one clear line and a non-zero exit, on every
    // command that computes (training refuses it before writing anything).
    void deviceOptionPlacesTheSolveOrSaysWhyNot()
    {
        const QString input = write("device-in.png", makePicture(32, 32, 3, CV_8U));
        const QStringList restore{"restore", "--task", "denoise", "--sigma", "25", "--input", input,
                                  "--output", path("device-out.png"), "--model", rgbModel_, "--iters", "2"};
        expectSuccess(runCli(restore + QStringList{"--device", "cpu"}));
        QVERIFY(QFileInfo::exists(path("device-out.png")));
        expectCleanFailure(runCli(restore + QStringList{"--device", "tpu"}), "unknown device 'tpu'");
        expectCleanFailure(runCli(restore + QStringList{"--device", "cuda:x"}), "unknown device 'cuda:x'");
        if (!torch::cuda::is_available())
            expectCleanFailure(runCli(restore + QStringList{"--device", "cuda"}), "CUDA was asked for");
        expectCleanFailure(runCli({"bench", "--model", rgbModel_, "--device", "gpu"}), "unknown device 'gpu'");
        expectCleanFailure(runCli({"eval", "--task", "meta", "--device", "gpu"}), "unknown device 'gpu'");
        expectCleanFailure(runCli({"eval", "--task", "adversarial", "--device", "gpu"}), "unknown device 'gpu'");
        expectCleanFailure(runCli({"attack", "--model", rgbModel_, "--input", input, "--output", path("a.png"),
                                   "--device", "gpu"}),
                           "unknown device 'gpu'");
        const QString never = path("device-train.pt");
        expectCleanFailure(runCli({"train", "--output", never, "--init", rgbModel_, "--device", "gpu"}),
                           "unknown device 'gpu'");
        if (!torch::cuda::is_available()) {
            expectCleanFailure(runCli({"train", "--output", never, "--init", rgbModel_, "--device", "cuda"}),
                               "CUDA was asked for");
            expectCleanFailure(runCli({"eval", "--task", "meta", "--device", "cuda:0"}), "CUDA was asked for");
        }
        QVERIFY(!QFileInfo::exists(never));
    }

    void benchBreakdownAccountsForTheIteration()
    {
        const QString image = write("breakdown.png", makePicture(64, 64, 3, CV_8U));
        const auto result = runCli({"bench", "--breakdown", "--model", rgbModel_, "--image", image, "--repeats", "1",
                                    "--batch", "2", "--size", "32", "--iters", "4"});
        expectSuccess(result);
        // Every phase is listed with a time; f and its VJP run convolutions.
        for (const char* phase : {"f (the cell)", "VJP (autograd)", "Anderson (Gram row, mixing)", "tracker", "whole iteration"})
            QVERIFY2(result.out.contains(phase), phase);
        const QRegularExpression fRow(R"(f \(the cell\)\s+([0-9.]+)\s+([0-9.]+)%\s+([0-9.]+))");
        const auto match = fRow.match(result.out);
        QVERIFY2(match.hasMatch(), qPrintable(result.out));
        QVERIFY(match.captured(1).toDouble() > 0 && match.captured(3).toDouble() > 0);
        QVERIFY(result.out.contains("4 JIIO-Anderson iterations"));

        const auto refused = runCli({"bench", "--breakdown", "--json", path("breakdown.json"), "--model", rgbModel_});
        QCOMPARE(refused.exitCode, 2);
        QVERIFY(refused.err.contains("writes no JSON"));
    }

    void benchWritesJsonWithSpeedupAndModel()
    {
        const QString image = write("bench.png", makePicture(64, 64, 3, CV_8U));
        const QString json = path("bench.json");
        const auto result = runCli({"bench", "--model", rgbModel_, "--image", image, "--json", json, "--repeats", "1",
                                    "--batch", "1", "--size", "32", "--naive-steps", "3", "--iters", "3"});
        expectSuccess(result);
        QVERIFY(result.out.contains("speedup"));
        QVERIFY(!result.out.contains("null")); // JSON's spelling stays in the JSON (3 iterations miss targets)
        const auto document = QJsonDocument::fromJson(fileBytes(json));
        QVERIFY(document.isObject());
        QVERIFY(document.object().contains("speedup"));
        QVERIFY(document.object().contains("speedup_over_gd"));
        QCOMPARE(document.object().value("model").toString(), QString("rgb.pt"));
        const auto problems = document.object().value("problems").toArray();
        QCOMPARE(problems.size(), 2);
        for (const auto& problem : problems) {
            const double target = problem.toObject().value("target_objective").toDouble();
            QVERIFY(std::isfinite(target));
            for (const auto& entry : problem.toObject().value("methods").toArray()) {
                const auto method = entry.toObject();
                const bool naive = method.value("method").toString().startsWith("naive");
                // Naive step sizes come from the grid; JIIO has none.
                QCOMPARE(method.value("learning_rate").isDouble(), naive);
                // The target is the best final objective of naive Adam's grid,
                // and the run at that rate reaches it.
                if (method.value("method").toString() == "naive-adam") {
                    QVERIFY(method.value("final_objective").toDouble() >= target * (1 - 1e-6));
                    QVERIFY(method.value("reached").toBool());
                }
            }
        }
    }

    void evalComparesWithClassicalBaselines()
    {
        const QString a = write("eval-a.png", makePicture(48, 48, 3, CV_8U));
        const QString b = write("eval-b.png", makePicture(40, 56, 3, CV_8U));
        const auto result = runCli({"eval", "--model", rgbModel_, "--image", a, "--image", b, "--crop", "32",
                                    "--iters", "2"});
        expectSuccess(result);
        for (const char* expected : {"denoise sigma 15", "denoise sigma 25", "denoise sigma 50", "inpaint 32x32 blocks",
                                     "inpaint strokes", "inpaint 50% pixels", "telea", "navier-stokes", "biharmonic",
                                     "nlm-colored (h=", "nlm-rgb (h=", "tv-chambolle (w=", "jiio", "jiio, input frozen",
                                     "images: 2", "best classical", "mean gain of the input optimisation"})
            QVERIFY2(result.out.contains(expected), qPrintable(result.out));
        // Each tuned method appears once per corruption, at its best setting.
        QCOMPARE(int(result.out.count("nlm-rgb (h=")), 3);

        const QString json = path("eval.json");
        expectSuccess(runCli({"eval", "--model", rgbModel_, "--image", a, "--crop", "32", "--iters", "2", "--json", json}));
        const auto document = readJson(json);
        QCOMPARE(document["images"].toInt(), 1);
        QCOMPARE(document["summary"].toArray().size(), 6);
        const auto first = document["summary"].toArray().first().toObject();
        for (const char* key : {"corruption", "best_classical_method", "best_classical_psnr_db", "jiio_psnr_db",
                                "frozen_input_psnr_db", "jiio_minus_classical_db", "jiio_minus_frozen_db"})
            QVERIFY2(first.contains(key), key);
        QVERIFY(document["mean_gain_over_frozen_input_db"].isDouble());
        QVERIFY(document["rows"].toArray().size() > 6 * 3);
    }

    // Ctrl-C during `jiio eval`: the table and JSON of the images scored so far, exit status 130.
    void evalStopsOnSigintWithTheImagesScored()
    {
        QStringList arguments{"eval", "--model", rgbModel_, "--crop", "32", "--iters", "2", "--json", path("stopped.json")};
        QStringList pictures;
        for (int i = 0; i < 4; ++i)
            pictures << write(QString("stop-%1.png").arg(i), makePicture(40 + 4 * i, 40, 3, CV_8U));
        for (int i = 0; i < 400; ++i)
            arguments << "--image" << pictures[i % 4];
        Interrupted run;
        interruptOnceShown(arguments, QProcess::StandardError, "scored image 1 of 400", run);
        if (QTest::currentTestFailed())
            return;
        QCOMPARE(run.exitCode, 130);
        QVERIFY2(run.err.contains("jiio eval: stopped after"), run.err.constData());
        const QString out = QString::fromUtf8(run.out);
        QVERIFY2(out.contains("of 400 (stopped)") && out.contains("best classical"), qPrintable(out));
        const auto document = readJson(path("stopped.json"));
        QVERIFY(document["images"].toInt() >= 1 && document["images"].toInt() < 400);
        QCOMPARE(document["images_requested"].toInt(), 400);
    }

    // Ctrl-C during a benchmark ends it at once: half a comparison is no
    // result, so no table and no JSON, exit status 130.
    void benchStopsOnSigintWritingNothing()
    {
        Interrupted run;
        interruptOnceShown({"bench", "--model", rgbModel_, "--json", path("bench-stopped.json")},
                           QProcess::StandardError, "benchmarking", run);
        if (QTest::currentTestFailed())
            return;
        QCOMPARE(run.exitCode, 130);
        QVERIFY2(run.err.contains("jiio bench: stopped; no results written"), run.err.constData());
        QVERIFY2(!run.out.contains("speedup"), run.out.constData());
        QVERIFY(!QFileInfo::exists(path("bench-stopped.json")));
    }

    // Ctrl-C during a restore of many images: the results so far stay written,
    // the rest are skipped, exit status 130.
    void restoreStopsOnSigintKeepingItsResults()
    {
        const QString picture = write("stop-restore.png", makePicture(48, 48, 3, CV_8U));
        const QString out = path("stopped-restores");
        QStringList arguments{"restore", "--task", "denoise", "--sigma", "25", "--model", rgbModel_, "--iters", "30",
                              "--tol", "1e-15", "--output-dir", out, "--json", path("stopped-restore.json")};
        for (int i = 0; i < 200; ++i)
            arguments << "--input" << picture;
        Interrupted run;
        interruptOnceShown(arguments, QProcess::StandardOutput, "[1/200]", run);
        if (QTest::currentTestFailed())
            return;
        QCOMPARE(run.exitCode, 130);
        QVERIFY(run.err.contains("jiio restore: stopped after"));
        QVERIFY(QFileInfo::exists(out + "/stop-restore.png"));
        const auto images = readJson(path("stopped-restore.json"))["images"].toArray();
        QVERIFY(images.size() >= 1 && images.size() < 200);
    }

    void trainRunsOnAnImageFolderAndResumes()
    {
        QTemporaryDir data;
        for (int i = 0; i < 5; ++i)
            cv::imwrite(data.filePath(QString("p%1.png").arg(i)).toStdString(), makePicture(48 + 4 * i, 48, 3, CV_8U));
        const QString output = path("trained.pt");
        const QStringList common{"--data", data.path(), "--patch", "32", "--batch", "2"};
        auto result = runCli(QStringList{"train", "--output", output, "--init", rgbModel_, "--steps", "2",
                                         "--jiio-iters", "7", "--checkpoint-every", "1", "--validate-every", "1"}
                             + common);
        expectSuccess(result);
        QVERIFY(result.err.contains("validation PSNR"));
        QVERIFY(runCli({"info", output}).out.contains("jiio_iterations = 7")); // trained for the new budget
        result = runCli(QStringList{"train", "--output", output, "--resume"} + common);
        expectSuccess(result);
        QVERIFY(result.err.contains("resuming at step 2 of 2"));
        const QString shipped = path("shipped.pt");
        expectSuccess(runCli({"export", "--input", output, "--output", shipped, "--set", "command=jiio train ..."}));
        QVERIFY(QFileInfo(shipped).size() < QFileInfo(output).size()); // no optimiser state
        const auto info = runCli({"info", shipped});
        QVERIFY(info.out.contains("provenance.command = jiio train ..."));
        QVERIFY(info.out.contains("provenance.training_steps = 2"));
        expectCleanFailure(runCli({"train", "--output", path("t.pt"), "--data", path("no-such-folder")}),
                           "neither an image folder nor an image file");
    }

    // A signal stops training after the step it is in, with a checkpoint, a
    // message saying where, and the signal's exit status; resume continues it.
    void trainStopsOnASignalWithACheckpoint_data()
    {
        QTest::addColumn<int>("signal");
        QTest::newRow("SIGINT") << int(SIGINT);
        QTest::newRow("SIGTERM") << int(SIGTERM);
    }
    void trainStopsOnASignalWithACheckpoint()
    {
        QFETCH(int, signal);
        QTemporaryDir data;
        for (int i = 0; i < 5; ++i)
            cv::imwrite(data.filePath(QString("p%1.png").arg(i)).toStdString(), makePicture(48, 48, 3, CV_8U));
        const QString output = path(QString("interrupted-%1.pt").arg(signal));
        QProcess process;
        process.setProgram(cliPath());
        process.setArguments({"train", "--output", output, "--init", rgbModel_, "--steps", "100000", "--data",
                              data.path(), "--patch", "32", "--batch", "1", "--jiio-iters", "3",
                              "--checkpoint-every", "100000", "--validate-every", "100000"});
        process.start();
        QVERIFY(process.waitForStarted());
        QByteArray err;
        // Wait until a few steps have run: the run's CSV log gets a row per step.
        const QString log = path(QString("interrupted-%1.log.csv").arg(signal));
        auto loggedSteps = [&] {
            QFile file(log);
            return file.open(QIODevice::ReadOnly) ? int(file.readAll().count('\n')) - 1 : 0;
        };
        QDeadlineTimer deadline(120000);
        while (loggedSteps() < 3 && !deadline.hasExpired()) {
            process.waitForReadyRead(200);
            err += process.readAllStandardError();
        }
        QVERIFY2(loggedSteps() >= 3, err.constData());
        QCOMPARE(::kill(pid_t(process.processId()), signal), 0);
        QVERIFY(process.waitForFinished(120000));
        err += process.readAllStandardError();
        QCOMPARE(process.exitStatus(), QProcess::NormalExit); // it stopped itself, not killed
        QCOMPARE(process.exitCode(), 128 + signal);
        QVERIFY2(err.contains("checkpoint written to " + output.toLocal8Bit()), err.constData());
        // The checkpoint holds the steps done, at least the three seen.
        const auto info = runCli({"info", output});
        expectSuccess(info);
        const auto match = QRegularExpression("training_steps = (\\d+)").match(info.out);
        QVERIFY2(match.hasMatch(), qPrintable(info.out));
        QVERIFY(match.captured(1).toInt() >= 3);
    }

    void generativeModelReconstructsAndFillsSmallImages()
    {
        const QString input = write("item.png", makePicture(28, 28, 1, CV_8U));
        cv::Mat holes = cv::Mat::zeros(28, 28, CV_8U);
        holes(cv::Rect(8, 10, 9, 6)).setTo(255);
        const QString mask = write("item-mask.png", holes);
        for (const QStringList& task : {QStringList{"--task", "reconstruct"},
                                        QStringList{"--task", "inpaint", "--mask", mask},
                                        QStringList{"--task", "denoise", "--sigma", "25"}}) {
            const QString output = path("item-out.png");
            QFile::remove(output);
            expectSuccess(runCli(QStringList{"restore", "--input", input, "--output", output, "--model",
                                             generativeModel_} + task));
            const cv::Mat result = cv::imread(output.toStdString(), cv::IMREAD_UNCHANGED);
            QCOMPARE(result.rows, 28);
            QCOMPARE(result.cols, 28);
            QCOMPARE(result.channels(), 1);
        }
        const auto eval = runCli({"eval", "--model", generativeModel_, "--image", input, "--iters", "2"});
        expectSuccess(eval);
        QVERIFY2(eval.out.contains("reconstruct") && eval.out.contains("inpaint 8x8 blocks"), qPrintable(eval.out));
    }

    void infoShowsTheConfiguration()
    {
        const QString json = path("info.json");
        const auto result = runCli({"info", rgbModel_, "--json", json});
        expectSuccess(result);
        QVERIFY(result.out.contains("image_channels = 3"));
        QVERIFY(result.out.contains("parameters = "));
        const auto document = readJson(json);
        QCOMPARE(document["file"].toString(), rgbModel_);
        QVERIFY(document["parameters"].toInteger() > 0);
        QCOMPARE(document["configuration"].toObject()["image_channels"].toDouble(), 3.0);
        QCOMPARE(document["configuration"].toObject()["kind"].toString(), QString("restoration"));
        QVERIFY(document["provenance"].isObject());
    }

    // Several images (or a folder) go to --output-dir under their own names,
    // one line each; a bad file among them is reported and the others done;
    // --json says what was done per image.
    void restoreTakesSeveralImagesAndWritesJson()
    {
        QTemporaryDir folder;
        const cv::Mat a = makePicture(32, 40, 3, CV_8U), b = makePicture(24, 32, 3, CV_8U);
        cv::imwrite(folder.filePath("a.png").toStdString(), a);
        cv::imwrite(folder.filePath("b.png").toStdString(), b);
        const QString out = path("batch-out"), json = path("batch.json");
        auto result = runCli({"restore", "--task", "denoise", "--sigma", "25", "--model", rgbModel_, "--input",
                              folder.path(), "--output-dir", out, "--json", json, "--iters", "2"});
        expectSuccess(result);
        QVERIFY2(result.out.contains("[1/2]") && result.out.contains("[2/2]"), qPrintable(result.out));
        QCOMPARE(cv::imread((out + "/a.png").toStdString()).size(), a.size());
        QCOMPARE(cv::imread((out + "/b.png").toStdString()).size(), b.size());
        auto document = readJson(json);
        QCOMPARE(document["task"].toString(), QString("denoise"));
        QCOMPARE(document["images"].toArray().size(), 2);
        for (const auto& image : document["images"].toArray())
            for (const char* key : {"input", "output", "iterations", "seconds", "objective", "stop_reason"})
                QVERIFY2(image.toObject().contains(key), key);
        QCOMPARE(document["solver"].toObject()["iterations"].toInt(), 2);

        // One JSON for one image too, with the metrics against a reference.
        const QString single = path("single.json");
        expectSuccess(runCli({"restore", "--task", "denoise", "--sigma", "25", "--model", rgbModel_, "--input",
                              folder.filePath("a.png"), "--output", path("single.png"), "--reference",
                              folder.filePath("a.png"), "--json", single, "--iters", "2"}));
        QVERIFY(readJson(single)["images"].toArray().first().toObject()["psnr_db"].toDouble() > 10);

        // A broken file among several: the rest are restored, the exit status is 1.
        const QString broken = write("broken.png", a);
        QFile::resize(broken, 20);
        result = runCli({"restore", "--task", "denoise", "--sigma", "25", "--model", rgbModel_, "--input",
                         folder.filePath("a.png"), "--input", broken, "--output-dir", path("partial"), "--iters", "2"});
        QCOMPARE(result.exitCode, 1);
        QVERIFY2(result.err.contains("broken.png"), qPrintable(result.err));
        QVERIFY(QFileInfo::exists(path("partial/a.png")));
        expectCleanFailure(runCli({"restore", "--task", "denoise", "--sigma", "25", "--input", folder.filePath("a.png"),
                                   "--input", folder.filePath("b.png"), "--output", path("x.png")}),
                           "--output-dir");
    }

    // Under a decimal-comma locale the configuration still parses and every
    // number on the terminal keeps its '.'.
    void numbersIgnoreACommaLocale()
    {
        QString why;
        const QString locales = commaLocaleFolder(&why);
        QVERIFY2(!locales.isEmpty(), qPrintable(why));
        auto environment = QProcessEnvironment::systemEnvironment();
        environment.insert("LOCPATH", locales);
        environment.insert("LC_ALL", kCommaLocale);
        // The locale is real: a program that honours it prints a comma.
        QProcess printf;
        printf.setProcessEnvironment(environment);
        printf.start("/usr/bin/printf", {"%.2f", "1.5"});
        QVERIFY(printf.waitForFinished());
        QCOMPARE(QString::fromUtf8(printf.readAllStandardOutput()), QString("1,50"));

        const auto info = runCli({"info", rgbModel_}, 300000, environment);
        expectSuccess(info);
        QVERIFY2(info.out.contains("prior_weight = 0.001"), qPrintable(info.out));

        const cv::Mat clean = makePicture(32, 32, 3, CV_8U);
        const QString reference = write("locale-clean.png", clean);
        const QString noisy = path("locale-noisy.png");
        expectSuccess(runCli({"corrupt", "--task", "denoise", "--sigma", "12.5", "--input", reference, "--output", noisy},
                             300000, environment));
        const auto restored = runCli({"restore", "--task", "denoise", "--sigma", "12.5", "--input", noisy, "--model",
                                      rgbModel_, "--reference", reference, "--output", path("locale-out.png")},
                                     300000, environment);
        expectSuccess(restored);
        static const QRegularExpression metrics(R"(PSNR [0-9]+\.[0-9]{2} dB, SSIM [01]\.[0-9]{4})");
        QVERIFY2(metrics.match(restored.out).hasMatch(), qPrintable(restored.out));
        static const QRegularExpression seconds(R"(, [0-9]+\.[0-9]{2} s, objective )");
        QVERIFY2(seconds.match(restored.out).hasMatch(), qPrintable(restored.out));
    }

    void newRestorationModelsSeeTheObservation()
    {
        // Each design with its own defaults: the observing restoration model
        // as shipped (three scales, 15 iterations), the latent-only ones as before.
        const struct {
            QStringList arguments;
            QStringList expected;
        } cases[] = {
            {{"--width", "4"}, {"observation_injection = 1", "scales = 3", "jiio_iterations = 15"}},
            {{"--width", "4", "--no-observation-injection"},
             {"observation_injection = 0", "scales = 2", "jiio_iterations = 30"}},
            {{"--width", "4", "--no-observation-injection", "--scales", "3", "--jiio-iters", "9"},
             {"observation_injection = 0", "scales = 3", "jiio_iterations = 9"}},
            {{"--kind", "generative", "--channels", "1", "--width", "4"},
             {"observation_injection = 0", "scales = 2", "jiio_iterations = 30"}},
        };
        for (const auto& c : cases) {
            const QString model = path("init-observation.pt");
            expectSuccess(runCli(QStringList{"init", "--output", model} + c.arguments));
            const auto info = runCli({"info", model});
            expectSuccess(info);
            for (const auto& line : c.expected)
                QVERIFY2(info.out.contains(line), qPrintable(c.arguments.join(' ') + ": " + info.out));
        }
    }

    void badInputFailsCleanlyAndLeavesTheOutputAlone()
    {
        const QString input = write("bad-in.png", makePicture(32, 32, 3, CV_8U));
        const QString output = path("existing-output.png");
        const QByteArray original("precious bytes that must survive");
        {
            QFile file(output);
            QVERIFY(file.open(QIODevice::WriteOnly));
            file.write(original);
        }
        // A JPEG cut in half: libjpeg decodes it with only a warning.
        const QString wholeJpeg = write("whole.jpg", makePicture(64, 64, 3, CV_8U));
        const QByteArray jpeg = fileBytes(wholeJpeg);
        const QString truncated = path("truncated.jpg");
        {
            QFile file(truncated);
            QVERIFY(file.open(QIODevice::WriteOnly));
            file.write(jpeg.left(jpeg.size() / 2));
        }
        QVERIFY(!cv::imread(truncated.toStdString()).empty()); // OpenCV alone would accept it
        const QString wrongSizeMask = write("wrong-mask.png", blockMask(16, 16));
        const QString emptyMask = write("empty-mask.png", cv::Mat::zeros(32, 32, CV_8U));
        const QString goodMask = write("good-mask.png", blockMask(32, 32));
        const QString corruptModel = path("corrupt.pt");
        {
            QFile file(corruptModel);
            QVERIFY(file.open(QIODevice::WriteOnly));
            file.write(QByteArray(4096, '\x5a'));
        }
        // A real PNG whose header is edited to declare 100000x100000 pixels.
        const QString hugePng = path("huge.png");
        {
            QByteArray png = fileBytes(input);
            const char side[] = {0x00, 0x01, char(0x86), char(0xA0)}; // 100000, big-endian
            png.replace(16, 4, side, 4);
            png.replace(20, 4, side, 4);
            QFile file(hugePng);
            QVERIFY(file.open(QIODevice::WriteOnly));
            file.write(png);
        }
        const QStringList denoise{"restore", "--task", "denoise", "--sigma", "20", "--output", output};
        const QStringList inpaint{"restore", "--task", "inpaint", "--output", output, "--model", rgbModel_};

        const struct {
            QStringList arguments;
            QString expected;
        } cases[] = {
            {denoise + QStringList{"--input", path("missing.png"), "--model", rgbModel_}, "no such file"},
            {denoise + QStringList{"--input", truncated, "--model", rgbModel_}, "truncated"},
            {denoise + QStringList{"--input", hugePng, "--model", rgbModel_}, "100000x100000 pixels, more than the"},
            {inpaint + QStringList{"--input", input, "--mask", hugePng}, "megapixel limit"},
            {inpaint + QStringList{"--input", input, "--mask", wrongSizeMask}, "mask is 16x16"},
            {inpaint + QStringList{"--input", input, "--mask", emptyMask}, "no missing pixels"},
            {denoise + QStringList{"--input", input, "--model", rgbModel_, "--bogus"}, "unknown option"},
            {denoise + QStringList{"--input", input, "--model", corruptModel}, "corrupt"},
            {denoise + QStringList{"--input", input, "--model", grayModel_}, "expects 1-channel"},
            {denoise + QStringList{"--input", input, "--model", generativeModel_}, "expects 1-channel"},
            {QStringList{"restore", "--task", "reconstruct", "--input", input, "--output", output, "--model", rgbModel_},
             "needs a generative model"},
            {denoise + QStringList{"--input", input, "--model", rgbModel_, "--solver", "magic"}, "unknown solver"},
            {denoise + QStringList{"--input", input, "--model", rgbModel_, "--iters", "zero"}, "--iters"},
            {QStringList{"restore", "--task", "inpaint", "--input", input, "--output", output, "--model", rgbModel_},
             "needs --mask"},
            {QStringList{"restore", "--task", "denoise", "--input", input, "--output", output, "--model", rgbModel_},
             "needs --sigma"},
            {QStringList{"restore", "--task", "sharpen", "--sigma", "3", "--input", input, "--output", output},
             "unknown task"},
            {inpaint + QStringList{"--input", input, "--mask", goodMask, "--output", path("result.nope")},
             "cannot encode"},
            {QStringList{"info", corruptModel}, "corrupt"},
            {QStringList{"init", "--kind", "classifier", "--weights-from", rgbModel_, "--output", path("grown.pt")},
             "needs one of the new model's kind"},
            {QStringList{"info", rgbModel_, "--json", path("no-such-folder/info.json")}, "does not exist"},
            {QStringList{"train", "--output", output, "--sigma-min", "30", "--sigma-max", "20"},
             "--sigma-min must not exceed --sigma-max"},
            {QStringList{"train", "--output", output, "--inpaint-fraction", "1.5"},
             "--inpaint-fraction must be a number in [0, 1]"},
            {QStringList{"train", "--output", output, "--task", "meta", "--bilevel"},
             "--bilevel trains a restoration model"},
            {QStringList{"train", "--output", output, "--resume", "--bilevel"}, "a resumed run keeps its own setting"},
            {QStringList{"train", "--output", output, "--task", "classify", "--decibel-loss"},
             "--decibel-loss trains a restoration model"},
            {QStringList{"train", "--output", output, "--resume", "--decibel-loss"},
             "a resumed run keeps its own setting"},
            {QStringList{"bench", "--model", rgbModel_, "--json", path("no-such-folder/bench.json")},
             "the folder does not exist"},
            {QStringList{"frobnicate"}, "unknown command"},
        };
        for (const auto& c : cases) {
            const auto result = runCli(c.arguments);
            qInfo("%s -> %s", qPrintable(c.arguments.mid(1).join(' ').right(60)), qPrintable(result.err.trimmed()));
            expectCleanFailure(result, c.expected);
            QCOMPARE(fileBytes(output), original);
        }
        QVERIFY(!QFileInfo::exists(path("result.nope")));
        // Nothing temporary is left behind.
        QCOMPARE(QDir(dir_.path()).entryList({".*tmp*"}, QDir::Files | QDir::Hidden).size(), 0);
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
