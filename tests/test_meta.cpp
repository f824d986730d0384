// Few-shot adaptation through a small random DEQ: episodes keep meta-training
// and meta-testing classes apart; JIIO solves the inner problem (its KKT
// conditions hold) and reaches the naive loop's objective; the implicit
// meta-gradient matches finite differences; a short meta-training run on
// Fashion-MNIST adapts better than no adaptation.
#include "core/error.h"
#include "core/io/fashion_mnist.h"
#include "core/jiio/implicit_diff.h"
#include "core/tasks/meta/adaptation.h"
#include "core/tasks/meta/meta_gradient.h"
#include "core/training/meta_trainer.h"
#include "test_support.h"

#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <set>

using namespace jiio;

namespace {

constexpr int kWays = 3;
constexpr int kShots = 2;
constexpr int kQueries = 2;
// A well-conditioned inner problem, so that the finite differences of the
// outer loss see inner solutions exact to rounding.
constexpr double kLambda = 1.0;

// Two episodes of random 12x12 images (double precision).
std::vector<Episode> randomEpisodes(uint64_t seed)
{
    torch::manual_seed(int64_t(seed));
    std::vector<Episode> episodes;
    for (int e = 0; e < 2; ++e) {
        Episode episode;
        episode.ways = kWays;
        episode.shots = kShots;
        episode.supportImages = torch::rand({kWays * kShots, 1, 12, 12}, torch::kFloat64);
        episode.supportLabels = torch::arange(kWays, torch::kInt64).repeat_interleave(kShots);
        episode.queryImages = torch::rand({kWays * kQueries, 1, 12, 12}, torch::kFloat64);
        episode.queryLabels = torch::arange(kWays, torch::kInt64).repeat_interleave(kQueries);
        episodes.push_back(episode);
    }
    return episodes;
}

FixedPointOptions tight()
{
    FixedPointOptions options;
    options.maxIterations = 300;
    options.tolerance = 1e-11;
    options.memory = 8;
    return options;
}

AdaptationOptions exactAdaptation(InputMethod method = InputMethod::JiioAnderson)
{
    AdaptationOptions options;
    options.method = method;
    options.iterations = method == InputMethod::NaiveGradientDescent ? 400 : 600;
    options.tolerance = 1e-10;
    options.taskStep = 0.5;
    options.lambda = kLambda;
    options.innerIterations = 300;
    options.innerTolerance = 1e-11;
    return options;
}

// The gradient of G(v) = S(v) + lambda/2 |v - v0|^2 per episode.
torch::Tensor innerGradient(DeqModel& model, const std::vector<Episode>& episodes, const torch::Tensor& tasks)
{
    const auto support = supportRows(episodes);
    const auto lambda = kLambda;
    const auto s = supportTaskGradient(model, support, tasks, tight(), tight()).gradient;
    return s + lambda * (tasks - model->taskInit().detach());
}

// The outer loss at the exactly adapted task vectors.
double outerLoss(DeqModel& model, const std::vector<Episode>& episodes)
{
    NullObserver quiet;
    const auto adapted = adaptTaskVectors(model, episodes, exactAdaptation(), quiet);
    const auto queries = queryRows(episodes);
    const auto logits = classifyWithTasks(model, queries, adapted.tasks, tight()).logits;
    return torch::nn::functional::cross_entropy(logits, queries.labels).item<double>();
}

class QuietTraining final : public TrainingObserver {
public:
    void onProgress(const TrainingProgress&) override {}
};

} // namespace

class TestMeta : public QObject {
    Q_OBJECT

private slots:
    void fashionEpisodesKeepMetaTrainingAndTestingClassesApart()
    {
        const std::string folder = defaultFashionMnistFolder();
        if (!std::filesystem::exists(folder))
            QSKIP("Debian's dataset-fashion-mnist is not installed");
        const auto split = fashionMetaSplit(folder);
        const auto classesIn = [](const FewShotPool& pool) {
            const auto unique = std::get<0>(torch::_unique(pool.data.labels));
            std::set<int64_t> result;
            for (int64_t i = 0; i < unique.numel(); ++i)
                result.insert(unique[i].item<int64_t>());
            return result;
        };
        QCOMPARE(classesIn(split.training), (std::set<int64_t>{0, 1, 2, 3, 4, 5}));
        QCOMPARE(classesIn(split.validation), (std::set<int64_t>{0, 1, 2, 3, 4, 5}));
        QCOMPARE(classesIn(split.test), (std::set<int64_t>{6, 7, 8, 9}));

        const auto a = drawEpisode(split.test, 4, 5, 15, 11);
        const auto b = drawEpisode(split.test, 4, 5, 15, 11);
        QVERIFY(torch::equal(a.supportImages, b.supportImages)); // a seed gives one episode
        QCOMPARE(a.supportImages.size(0), 20);
        QCOMPARE(a.queryImages.size(0), 60);
        QCOMPARE(a.supportLabels.max().item<int64_t>(), 3);
        // No image is both support and query.
        const auto distances = torch::cdist(a.supportImages.flatten(1), a.queryImages.flatten(1));
        QVERIFY(distances.min().item<double>() > 0);
        QVERIFY_THROWS_EXCEPTION(Error, drawEpisode(split.test, 5, 1, 15, 0)); // four classes only
    }

    void openCvDigitsLoadAsTenClassesOnFashionMnistsCanvas()
    {
        const std::string path = defaultDigitsPath();
        if (!std::filesystem::exists(path))
            QSKIP("Debian's opencv-doc is not installed");
        const auto pool = loadOpenCvDigits(path);
        QCOMPARE(pool.data.images.sizes(), (torch::IntArrayRef{5000, 1, 28, 28}));
        QCOMPARE(pool.data.labels.eq(7).sum().item<int64_t>(), 500);
        QVERIFY(pool.data.images.min().item<double>() >= 0 && pool.data.images.max().item<double>() <= 1);
        // The 4-pixel border is empty and the digits are bright on dark.
        QCOMPARE(pool.data.images.narrow(2, 0, 4).abs().max().item<double>(), 0.0);
        QVERIFY(pool.data.images.mean().item<double>() < 0.3);
        QVERIFY_THROWS_EXCEPTION(Error, loadOpenCvDigits("/nonexistent/digits.png"));
    }

    void jiioSolvesTheInnerProblemLikeTheNaiveLoop()
    {
        auto model = test::tinyFewShotModel(/*doublePrecision=*/true);
        const auto episodes = randomEpisodes(1);
        NullObserver quiet;
        const auto jiio = adaptTaskVectors(model, episodes, exactAdaptation(), quiet);
        const auto naive = adaptTaskVectors(model, episodes, exactAdaptation(InputMethod::NaiveGradientDescent), quiet);
        // KKT: the inner objective is stationary at JIIO's v*, and v* moved.
        const auto gradient = innerGradient(model, episodes, jiio.tasks);
        const auto moved = (jiio.tasks - model->taskInit().detach()).norm(2, 1);
        qInfo("|grad G(v*)| %.2e, |v* - v0| %.3f %.3f, G %.8f (JIIO) %.8f (naive)", gradient.norm().item<double>(),
              moved[0].item<double>(), moved[1].item<double>(), jiio.objective[0].item<double>(),
              naive.objective[0].item<double>());
        QVERIFY(gradient.norm().item<double>() < 1e-7);
        QVERIFY(moved.min().item<double>() > 1e-3);
        QVERIFY(torch::allclose(jiio.objective, naive.objective, 1e-8, 1e-9));
        QVERIFY(torch::allclose(jiio.tasks, naive.tasks, 1e-5, 1e-6));
        // Each episode is its own problem: adapting one alone gives the same v*.
        const auto alone = adaptTaskVectors(model, {episodes[1]}, exactAdaptation(), quiet);
        QVERIFY(torch::allclose(alone.tasks[0], jiio.tasks[1], 1e-6, 1e-7));
    }

    void taskWeightInAndersonTravelsWithTheTrainingOptions()
    {
        MetaTrainingOptions options;
        options.adaptation.taskGramWeight = 250.0;
        options.adaptation.mixTask = false;
        const auto again = MetaTrainingOptions::fromText(options.toText());
        QCOMPARE(again.adaptation.taskGramWeight, 250.0);
        QVERIFY(!again.adaptation.mixTask);
        // A run written before these existed resumes as it ran: v weighed and
        // mixed like every other number.
        std::string older = options.toText();
        for (const std::string key : {"inner_gram_weight", "inner_mix_task"}) {
            const auto at = older.find(key);
            older.erase(at, older.find('\n', at) + 1 - at);
        }
        const auto resumed = MetaTrainingOptions::fromText(older);
        QCOMPARE(resumed.adaptation.taskGramWeight, 1.0);
        QVERIFY(resumed.adaptation.mixTask);
        AdaptationOptions adaptation;
        adaptation.taskGramWeight = 0;
        QVERIFY_THROWS_EXCEPTION(Error, adaptation.validate());
        const auto settings = AdaptationOptions().settings(kWays * kShots);
        QCOMPARE(settings.jiio.inputGramWeight, AdaptationOptions().taskGramWeight);
        QCOMPARE(settings.jiio.mixInput, AdaptationOptions().mixTask);
    }

    void implicitMetaGradientMatchesFiniteDifferences()
    {
        auto model = test::tinyFewShotModel(/*doublePrecision=*/true);
        const auto episodes = randomEpisodes(2);
        NullObserver quiet;
        const auto adapted = adaptTaskVectors(model, episodes, exactAdaptation(), quiet);
        MetaGradientOptions options;
        options.forward = tight();
        options.adjoint = tight();
        options.cgIterations = 40;
        options.cgTolerance = 1e-12;
        options.hvpStep = 1e-5;
        model->zero_grad();
        metaBackward(model, episodes, adapted, kLambda, options);

        test::ParameterDirection direction(model, 5);
        const double analytic = direction.gradientAlong();
        const double numeric = direction.centralDifference(1e-5, [&] { return outerLoss(model, episodes); });
        qInfo("meta-gradient along a random direction: implicit %.8f, finite differences %.8f", analytic, numeric);
        QVERIFY(std::abs(analytic - numeric) <= 1e-4 * std::max(1.0, std::abs(numeric)));

        // The first-order gradient is another quantity: it must differ here.
        model->zero_grad();
        options.firstOrder = true;
        metaBackward(model, episodes, adapted, kLambda, options);
        const double firstOrder = direction.gradientAlong();
        QVERIFY(std::abs(firstOrder - numeric) > 1e-3 * std::abs(numeric));
    }

    void shortMetaTrainingAdaptsBetterThanNoAdaptation()
    {
        // Six classes, each a fixed pattern under noise: learnable in a few steps.
        torch::manual_seed(9);
        const auto patterns = torch::rand({6, 1, 12, 12});
        FewShotPool pool;
        pool.data.labels = torch::arange(6, torch::kInt64).repeat_interleave(20);
        pool.data.images =
            (patterns.index_select(0, pool.data.labels) + 0.3 * torch::randn({120, 1, 12, 12})).clamp(0, 1);
        pool.classes = {0, 1, 2, 3, 4, 5};
        pool.name = "patterns";

        auto model = test::tinyFewShotModel();
        MetaTrainingOptions options;
        options.steps = 4;
        options.ways = 3;
        options.shots = 2;
        options.queries = 3;
        options.adaptation.iterations = 15; // as meta-training's default: v takes plain steps
        options.validationEpisodes = 6;
        options.validateEvery = 4;
        QTemporaryDir dir;
        MetaTrainer trainer(model, options, pool, pool, dir.filePath("meta.pt").toStdString());
        QuietTraining quiet;
        const auto last = trainer.run(quiet);
        QCOMPARE(last.step, 4);
        QVERIFY(std::isfinite(last.loss));
        QVERIFY(std::filesystem::exists(trainer.bestModelPath()));

        double adapted = 0, unadapted = 0;
        for (uint64_t seed = 0; seed < 6; ++seed) {
            const std::vector<Episode> episode{drawEpisode(pool, 3, 2, 3, 100 + seed)};
            NullObserver none;
            const auto adaptation = adaptTaskVectors(trainer.model(), episode, options.adaptation, none);
            const auto queries = queryRows(episode);
            adapted += accuracyPercent(
                classifyWithTasks(trainer.model(), queries, adaptation.tasks, fewShotForward()).logits, queries.labels);
            const auto v0 = trainer.model()->taskInit().detach().unsqueeze(0);
            unadapted += accuracyPercent(classifyWithTasks(trainer.model(), queries, v0, fewShotForward()).logits,
                                         queries.labels);
        }
        qInfo("query accuracy after 4 meta-training steps: %.1f %% adapted, %.1f %% at v0", adapted / 6, unadapted / 6);
        QVERIFY(adapted / 6 >= unadapted / 6 + 20);
    }
};

QTEST_GUILESS_MAIN(TestMeta)
#include "test_meta.moc"
