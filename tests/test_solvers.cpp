// Fixed-point solvers on problems with known answers.
#include "core/solvers/fixed_point.h"
#include "core/solvers/solve_tracker.h"
#include "core/solvers/trace.h"

#include <QtTest>

using namespace jiio;

namespace {

// z = A z + b per sample, with |A|_2 = rho < 1; the answer is (I - A)^-1 b.
struct AffineProblem {
    torch::Tensor a; // [B, n, n]
    torch::Tensor b; // [B, n]

    // A = Q diag(lambda) Q^T with eigenvalues spread over [0, rho]: slow for
    // plain iteration when rho is close to 1.
    static AffineProblem make(int64_t batch, int64_t n, double rho)
    {
        torch::manual_seed(3);
        AffineProblem p;
        auto q = std::get<0>(torch::linalg::qr(torch::randn({batch, n, n}, torch::kFloat64)));
        auto eigenvalues = torch::linspace(0.0, rho, n, torch::kFloat64).expand({batch, n});
        p.a = torch::bmm(q * eigenvalues.unsqueeze(1), q.transpose(1, 2));
        p.b = torch::randn({batch, n}, torch::kFloat64);
        return p;
    }
    torch::Tensor apply(const torch::Tensor& z) const { return torch::bmm(a, z.unsqueeze(2)).squeeze(2) + b; }
    torch::Tensor exact() const
    {
        auto eye = torch::eye(a.size(1), a.options()).expand_as(a);
        return torch::linalg::solve(eye - a, b.unsqueeze(2), true).squeeze(2);
    }
};

class StopAfter : public SolveObserver {
public:
    explicit StopAfter(int n) : n_(n) {}
    void onIteration(const IterationStats& stats) override { seen_ = stats.iteration; }
    bool stopRequested() const override { return seen_ >= n_; }

private:
    int n_;
    int seen_ = 0;
};

FixedPointResult solveAffine(const AffineProblem& p, FixedPointMethod method, int budget, TraceRecorder& trace,
                             int memory = 10)
{
    FunctionProblem problem([&](const torch::Tensor& z) { return p.apply(z); });
    FixedPointOptions options;
    options.method = method;
    options.maxIterations = budget;
    options.tolerance = 1e-9;
    options.memory = memory;
    return solveFixedPoint(problem, torch::zeros_like(p.b), options, trace);
}

} // namespace

class TestSolvers : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void eachMethodSolvesAnAffineContraction_data()
    {
        QTest::addColumn<int>("method");
        QTest::newRow("picard") << int(FixedPointMethod::Picard);
        QTest::newRow("anderson") << int(FixedPointMethod::Anderson);
        QTest::newRow("broyden") << int(FixedPointMethod::Broyden);
    }
    void eachMethodSolvesAnAffineContraction()
    {
        QFETCH(int, method);
        const auto p = AffineProblem::make(3, 40, 0.9);
        TraceRecorder trace;
        const auto result = solveAffine(p, FixedPointMethod(method), 2000, trace);
        qInfo("%d iterations, %s, residual %.3g", result.iterations, stopReasonName(result.reason),
              trace.rows().back().residualTotal);
        QCOMPARE(result.reason, StopReason::Converged);
        const double error = ((result.solution - p.exact()).norm() / p.exact().norm()).item<double>();
        QVERIFY2(error < 1e-7, qPrintable(QString("relative error %1").arg(error)));
        QCOMPARE(int(trace.rows().size()), result.iterations);
        QVERIFY(trace.rows().back().residualTotal < 1e-9);
    }

    void andersonNeedsFarFewerIterationsThanPicard()
    {
        const auto p = AffineProblem::make(3, 40, 0.99);
        TraceRecorder picardTrace, andersonTrace, broydenTrace;
        const auto picard = solveAffine(p, FixedPointMethod::Picard, 5000, picardTrace);
        const auto anderson = solveAffine(p, FixedPointMethod::Anderson, 5000, andersonTrace);
        const auto broyden = solveAffine(p, FixedPointMethod::Broyden, 5000, broydenTrace, 40);
        QCOMPARE(picard.reason, StopReason::Converged);
        QCOMPARE(anderson.reason, StopReason::Converged);
        QCOMPARE(broyden.reason, StopReason::Converged);
        qInfo("iterations to 1e-9: picard %d, anderson %d, broyden %d", picard.iterations, anderson.iterations,
              broyden.iterations);
        QVERIFY(anderson.iterations * 4 < picard.iterations);
        QVERIFY(broyden.iterations * 4 < picard.iterations);
    }

    void nanMidSolveStopsAndReturnsTheBestIterate_data()
    {
        eachMethodSolvesAnAffineContraction_data();
    }
    void nanMidSolveStopsAndReturnsTheBestIterate()
    {
        QFETCH(int, method);
        const auto p = AffineProblem::make(2, 20, 0.9);
        int calls = 0;
        FunctionProblem problem([&](const torch::Tensor& z) {
            ++calls;
            auto out = p.apply(z);
            return calls >= 6 ? out * std::numeric_limits<double>::quiet_NaN() : out;
        });
        FixedPointOptions options;
        options.method = FixedPointMethod(method);
        options.maxIterations = 100;
        options.tolerance = 1e-12;
        NullObserver quiet;
        const auto result = solveFixedPoint(problem, torch::zeros_like(p.b), options, quiet);
        QCOMPARE(result.reason, StopReason::Diverged);
        QCOMPARE(result.iterations, 6);
        QVERIFY(torch::isfinite(result.solution).all().item<bool>());
        QVERIFY(torch::isfinite(result.residual).all().item<bool>());
        // The best iterate is much closer to the answer than the start.
        const double error = ((result.solution - p.exact()).norm() / p.exact().norm()).item<double>();
        QVERIFY2(error < 0.9, qPrintable(QString("relative error %1").arg(error)));
    }

    void divergenceIsDetected()
    {
        // z = 2 z + 1 has a repelling fixed point; Picard runs away from it.
        FunctionProblem problem([](const torch::Tensor& z) { return 2 * z + 1; });
        FixedPointOptions options;
        options.method = FixedPointMethod::Picard;
        options.maxIterations = 500;
        options.divergenceFactor = 1e3;
        options.relativeResidual = false;
        NullObserver quiet;
        const auto result = solveFixedPoint(problem, torch::ones({1, 4}, torch::kFloat64), options, quiet);
        QCOMPARE(result.reason, StopReason::Diverged);
        QVERIFY(result.iterations < 500);
    }

    void stopRequestIsHonouredBetweenIterations()
    {
        const auto p = AffineProblem::make(1, 10, 0.99);
        FunctionProblem problem([&](const torch::Tensor& z) { return p.apply(z); });
        FixedPointOptions options;
        options.method = FixedPointMethod::Picard;
        options.maxIterations = 1000;
        options.tolerance = 1e-14;
        StopAfter observer(3);
        const auto result = solveFixedPoint(problem, torch::zeros_like(p.b), options, observer);
        QCOMPARE(result.reason, StopReason::StopRequested);
        QCOMPARE(result.iterations, 3);
    }

    void batchedProductsMatchBmm()
    {
        // The solvers' gemv-per-sample products against the plain batched
        // matrix products they replace.
        torch::manual_seed(5);
        const auto rows = torch::randn({3, 4, 1000}, torch::kFloat64);
        const auto vectors = torch::randn({3, 1000}, torch::kFloat64);
        const auto weights = torch::randn({3, 4}, torch::kFloat64);
        const auto dots = batchedDots(rows, vectors);
        const auto combination = batchedCombination(weights, rows);
        QVERIFY(torch::allclose(dots, torch::bmm(rows, vectors.unsqueeze(2)).squeeze(2)));
        QVERIFY(torch::allclose(combination, torch::bmm(weights.unsqueeze(1), rows).squeeze(1)));
        QCOMPARE(batchedDots(rows.narrow(1, 0, 0), vectors).size(1), int64_t(0));
    }

    void traceCsvHasTheContractColumns()
    {
        const auto p = AffineProblem::make(1, 5, 0.5);
        TraceRecorder trace;
        solveAffine(p, FixedPointMethod::Anderson, 50, trace);
        std::ostringstream csv;
        trace.writeCsv(csv);
        const QString text = QString::fromStdString(csv.str());
        QVERIFY(text.startsWith("iter,time_s,objective,res_z,res_x,res_mu,res_total"));
        QCOMPARE(text.count('\n'), int(trace.rows().size()) + 1);
    }
};

QTEST_APPLESS_MAIN(TestSolvers)
#include "test_solvers.moc"
