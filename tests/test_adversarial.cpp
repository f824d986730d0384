// Attacks on a small random DEQ classifier: the ball and the pixel range hold
// exactly, JIIO's attack gradient is the true one, JIIO and PGD reach the same
// loss; Fashion-MNIST's labels load; adversarial training makes a classifier
// robust where standard training does not.
#include "core/error.h"
#include "core/io/fashion_mnist.h"
#include "core/jiio/implicit_diff.h"
#include "core/solvers/trace.h"
#include "core/tasks/adversarial/attack.h"
#include "core/training/classifier_trainer.h"
#include "test_support.h"

#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>

using namespace jiio;

namespace {

constexpr int64_t kBatch = 4;

FixedPointOptions tight()
{
    FixedPointOptions options;
    options.maxIterations = 200;
    options.tolerance = 1e-10;
    options.memory = 8;
    return options;
}

struct Fixture {
    DeqModel model = test::tinyClassifier(/*doublePrecision=*/true);
    torch::Tensor images, labels;

    Fixture()
    {
        torch::manual_seed(3);
        const auto side = model->config().imageSize;
        images = torch::rand({kBatch, 1, side, side}, torch::kFloat64);
        images.narrow(2, 0, 2).zero_(); // some pixels at the range's ends, where the clamp binds
        images.narrow(2, side - 2, 2).fill_(1.0);
        labels = torch::tensor({0, 1, 2, 1}, torch::kInt64);
    }

    // The attack objective at the exact equilibrium of images + x.
    torch::Tensor objectiveAt(const torch::Tensor& x)
    {
        const AttackObjective objective(images, labels);
        const auto layout = classifierLayout(model, images);
        return -classifyAt(model, layout, x, tight(), labels).crossEntropy;
    }
};

double largestNorm(const torch::Tensor& perturbation, AttackNorm norm)
{
    return (norm == AttackNorm::LInf ? perturbation.abs().amax(1) : perturbation.norm(2, 1)).max().item<double>();
}

// Two classes of 12x12 images, each told by two features: a faint
// checkerboard whose phase is the class (amplitude 0.05, so an l-inf attack of
// 0.1 reverses it; it always agrees with the label) and a bright block in the
// top-left or bottom-right corner (contrast 0.4, beyond the attack's reach;
// it agrees with the label in 85 % of the images). Standard training can
// lean on the faint feature; a robust classifier must use the block.
LabelledImages faintAndRobustFeatures(int64_t count, uint64_t seed)
{
    torch::manual_seed(seed);
    constexpr int64_t side = 12;
    const auto labels = torch::randint(0, 2, {count}, torch::kInt64);
    const auto sign = labels.to(torch::kFloat32).mul(2).sub(1).view({count, 1, 1, 1});
    const auto rows = torch::arange(side).view({side, 1}), cols = torch::arange(side).view({1, side});
    const auto checker = ((rows + cols) % 2).to(torch::kFloat32).mul(2).sub(1).view({1, 1, side, side});
    auto images = 0.5 + 0.05 * sign * checker + 0.03 * torch::randn({count, 1, side, side});
    const auto agrees = torch::rand({count}) < 0.85;
    const auto corner = torch::where(agrees, labels, 1 - labels);
    for (int64_t i = 0; i < count; ++i) {
        const int64_t at = corner[i].item<int64_t>() == 0 ? 1 : side - 5;
        images[i].narrow(1, at, 4).narrow(2, at, 4).add_(0.4);
    }
    return {images.clamp(0, 1), labels};
}

double robustAccuracy(DeqModel& model, const LabelledImages& test, double eps)
{
    AttackOptions options;
    options.solver = AttackSolver::Pgd;
    options.eps = eps;
    options.iterations = 20;
    options.inner.tolerance = 1e-5;
    options.inner.maxIterations = 100;
    NullObserver quiet;
    const auto result = attackClassifier(model, test.images, test.labels, options, quiet);
    return 100.0 * result.attacked.logits.argmax(1).eq(test.labels).to(torch::kFloat64).mean().item<double>();
}

class QuietTraining final : public TrainingObserver {
public:
    void onProgress(const TrainingProgress&) override {}
};

} // namespace

class TestAdversarial : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void attackStaysInTheBallAndThePixelRange_data()
    {
        QTest::addColumn<QString>("solver");
        QTest::addColumn<QString>("norm");
        QTest::addColumn<double>("eps");
        for (const char* solver : {"jiio-anderson", "jiio-picard", "pgd"}) {
            QTest::addRow("%s linf", solver) << solver << "linf" << 0.1;
            QTest::addRow("%s l2", solver) << solver << "l2" << 0.8;
        }
    }
    void attackStaysInTheBallAndThePixelRange()
    {
        QFETCH(QString, solver);
        QFETCH(QString, norm);
        QFETCH(double, eps);
        Fixture fx;
        AttackOptions options;
        options.solver = attackSolverFromString(solver.toStdString());
        options.norm = attackNormFromString(norm.toStdString());
        options.eps = eps;
        options.iterations = 15;
        options.randomStart = true;
        options.seed = 4;
        TraceRecorder trace;
        const auto result = attackClassifier(fx.model, fx.images, fx.labels, options, trace);
        const double size = largestNorm(result.perturbation, options.norm);
        const double low = result.adversarial.min().item<double>(), high = result.adversarial.max().item<double>();
        qInfo("%s %s: largest |delta| %.6f of %.3f; pixels in [%.6f, %.6f]; %zu trace rows", qPrintable(solver),
              qPrintable(norm), size, eps, low, high, trace.rows().size());
        QVERIFY(size <= eps * (1 + 1e-9));
        QVERIFY(size > 0.5 * eps); // it moved
        QVERIFY(low >= 0.0 && high <= 1.0);
        // The attacked images are exactly clean + perturbation: no clamp hides a step outside the range.
        const AttackObjective objective(fx.images, fx.labels);
        QVERIFY(torch::allclose(result.adversarial, fx.images + objective.perturbationImage(result.perturbation)));
        QCOMPARE(int(trace.rows().size()), result.solve.iterations);
        // The loss went up against the clean images.
        const auto clean = fx.objectiveAt(torch::zeros_like(result.perturbation));
        QVERIFY((result.attacked.crossEntropy.mean() > (-clean).mean()).item<bool>());
    }

    void attackGradientMatchesFiniteDifferences()
    {
        Fixture fx;
        const AttackObjective objective(fx.images, fx.labels);
        const auto layout = classifierLayout(fx.model, fx.images);
        torch::manual_seed(8);
        const auto x = objective.project(0.05 * torch::randn({kBatch, layout.latentSize}, torch::kFloat64));
        const auto direction = torch::randn_like(x);
        const auto eg = equilibriumGradient(fx.model, layout, objective, x, tight(), tight());
        const double eps = 1e-5;
        const auto numeric = (fx.objectiveAt(x + eps * direction) - fx.objectiveAt(x - eps * direction)) / (2 * eps);
        const auto analytic = (eg.gradient * direction).sum(1);
        const double error = ((numeric - analytic).abs() / analytic.abs()).max().item<double>();
        qInfo("directional derivative: analytic %.10g numeric %.10g, largest relative error %.2e",
              analytic[0].item<double>(), numeric[0].item<double>(), error);
        QVERIFY(error < 1e-5);
    }

    // On the same batch and budget of f-evaluations' worth, JIIO's attack
    // reaches the loss of PGD through the equilibrium (within 10 %).
    void jiioAndPgdReachComparableLoss()
    {
        Fixture fx;
        AttackOptions options;
        options.norm = AttackNorm::LInf;
        options.eps = 0.1;
        options.inner = tight();
        options.inner.tolerance = 1e-6;
        NullObserver quiet;
        options.solver = AttackSolver::Pgd;
        options.iterations = 20;
        const auto pgd = attackClassifier(fx.model, fx.images, fx.labels, options, quiet);
        options.solver = AttackSolver::JiioAnderson;
        options.iterations = 40;
        const auto jiio = attackClassifier(fx.model, fx.images, fx.labels, options, quiet);
        const double clean = (-fx.objectiveAt(torch::zeros_like(jiio.perturbation))).mean().item<double>();
        const double viaPgd = pgd.attacked.crossEntropy.mean().item<double>();
        const double viaJiio = jiio.attacked.crossEntropy.mean().item<double>();
        qInfo("mean cross-entropy: clean %.5f, PGD %.5f (%lld f-evaluations), JIIO %.5f (%lld)", clean, viaPgd,
              (long long)pgd.solve.functionEvaluations, viaJiio, (long long)jiio.solve.functionEvaluations);
        QVERIFY(viaPgd > clean && viaJiio > clean);
        QVERIFY(viaJiio > clean + 0.9 * (viaPgd - clean));
        QVERIFY(jiio.solve.functionEvaluations < pgd.solve.functionEvaluations);
    }

    // Adversarial training (with JIIO's attack) makes a small classifier
    // robust where standard training with the same steps does not.
    void adversarialTrainingRaisesRobustAccuracy()
    {
        const auto training = faintAndRobustFeatures(2000, 1), test = faintAndRobustFeatures(200, 2);
        QTemporaryDir dir;
        auto train = [&](bool adversarial) {
            DeqModel model = test::tinyClassifier(false, 5);
            ClassifierTrainingOptions options;
            options.steps = 150;
            options.batchSize = 32;
            options.learningRate = 3e-3;
            options.validateEvery = options.steps;
            options.checkpointEvery = options.steps;
            options.adversarial = adversarial;
            options.attack.eps = 0.1;
            options.attack.iterations = 10;
            ClassifierTrainer trainer(model, options, training, test,
                                      dir.filePath(adversarial ? "robust.pt" : "standard.pt").toStdString());
            QuietTraining quiet;
            trainer.run(quiet);
            return model;
        };
        DeqModel standard = train(false), robust = train(true);
        const double standardClean = robustAccuracy(standard, test, 1e-6),
                     robustClean = robustAccuracy(robust, test, 1e-6);
        const double standardRobust = robustAccuracy(standard, test, 0.1), robustRobust = robustAccuracy(robust, test, 0.1);
        qInfo("standard training: clean %.1f %%, under PGD %.1f %%; adversarial training: clean %.1f %%, under PGD "
              "%.1f %%",
              standardClean, standardRobust, robustClean, robustRobust);
        QVERIFY(standardClean > 90);
        QVERIFY(robustRobust > standardRobust + 20);
    }

    void badAttacksAreRefused()
    {
        Fixture fx;
        NullObserver quiet;
        AttackOptions options;
        options.eps = 0;
        QVERIFY_THROWS_EXCEPTION(Error, attackClassifier(fx.model, fx.images, fx.labels, options, quiet));
        options.eps = 0.1;
        options.iterations = 0;
        QVERIFY_THROWS_EXCEPTION(Error, attackClassifier(fx.model, fx.images, fx.labels, options, quiet));
        options.iterations = 5;
        QVERIFY_THROWS_EXCEPTION(Error, attackClassifier(fx.model, fx.images.narrow(3, 0, 8), fx.labels, options,
                                                         quiet)); // wrong size
        auto restoration = test::tinyModel(1);
        QVERIFY_THROWS_EXCEPTION(Error, attackClassifier(restoration, fx.images.to(torch::kFloat32), fx.labels,
                                                         options, quiet));
        QVERIFY_THROWS_EXCEPTION(Error, attackNormFromString("l1"));
    }

    void fashionMnistLoadsWithItsLabels()
    {
        const auto folder = defaultFashionMnistFolder();
        if (!std::filesystem::exists(folder))
            QSKIP("dataset-fashion-mnist is not installed");
        const auto test = loadFashionMnist(folder, FashionMnistSplit::Test, 500);
        QCOMPARE(test.size(), int64_t(500));
        QCOMPARE(test.images.sizes(), (torch::IntArrayRef{500, 1, 28, 28}));
        QVERIFY(test.images.min().item<double>() >= 0 && test.images.max().item<double>() <= 1);
        // Every class appears, none dominates: the labels belong to the images.
        const auto counts = torch::bincount(test.labels, {}, 10);
        qInfo("class counts in the first 500 test images: min %lld max %lld", (long long)counts.min().item<int64_t>(),
              (long long)counts.max().item<int64_t>());
        QVERIFY(counts.min().item<int64_t>() >= 25 && counts.max().item<int64_t>() <= 80);
        QVERIFY_THROWS_EXCEPTION(Error, loadFashionMnist("/nonexistent", FashionMnistSplit::Test));
    }
};

QTEST_GUILESS_MAIN(TestAdversarial)
#include "test_adversarial.moc"
