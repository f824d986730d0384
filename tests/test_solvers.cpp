// Fixed-point solvers on problems with known answers.
#include "core/solvers/anderson_history.h"
#include "core/solvers/conjugate_gradient.h"
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
    // Batched conjugate gradients solve independent symmetric positive
    // definite systems of size n in n products, row by row; a row whose
    // operator is negative definite takes no step instead of diverging.
    void conjugateGradientsSolveEachRowsSystem()
    {
        torch::manual_seed(4);
        const int64_t n = 6;
        const auto options = torch::TensorOptions().dtype(torch::kFloat64);
        const auto m = torch::randn({3, n, n}, options);
        auto a = torch::bmm(m, m.transpose(1, 2)) + 0.5 * torch::eye(n, options);
        const auto rhs = torch::randn({3, n}, options);
        auto apply = [&](const torch::Tensor& v) { return torch::bmm(a, v.unsqueeze(2)).squeeze(2); };
        const auto solved = batchedConjugateGradient(apply, rhs, int(n) + 2, 1e-12);
        const auto exact = torch::linalg::solve(a, rhs.unsqueeze(2), /*left=*/true).squeeze(2);
        QVERIFY((solved.solution - exact).abs().max().item<double>() < 1e-8);
        QVERIFY(solved.relativeResidual < 1e-10);
        QVERIFY(solved.products <= int(n) + 1);

        a[1] = -a[1];
        const auto guarded = batchedConjugateGradient(apply, rhs, 3, 1e-12);
        QCOMPARE(guarded.solution[1].abs().max().item<double>(), 0.0);
        QVERIFY(torch::isfinite(guarded.solution).all().item<bool>());
    }

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

    void lastIterateIsReturnedWhenAsked()
    {
        // Picard on v -> v + s_k: the residual is |s_k|, lowest at the second
        // iterate; the last one recorded is v0 + s_1 + ... + s_4.
        const std::vector<double> steps{1.0, 0.1, 0.5, 0.7, 0.9};
        auto run = [&](bool last, bool poisonLast) {
            int calls = 0;
            FunctionProblem problem([&](const torch::Tensor& v) {
                const double step = steps[size_t(calls++)];
                const double scale = poisonLast && calls == int(steps.size()) ? std::nan("") : 1.0;
                return (v + step) * scale;
            });
            FixedPointOptions options;
            options.method = FixedPointMethod::Picard;
            options.maxIterations = int(steps.size());
            options.relativeResidual = false;
            options.tolerance = 1e-12;
            options.returnLastIterate = last;
            NullObserver quiet;
            return solveFixedPoint(problem, torch::zeros({1, 1}, torch::kFloat64), options, quiet);
        };
        const auto best = run(false, false), last = run(true, false), diverged = run(true, true);
        QCOMPARE(best.solution.item<double>(), 1.0);
        QCOMPARE(best.residual.item<double>(), 0.1);
        QCOMPARE(last.reason, StopReason::BudgetExhausted);
        QVERIFY(std::abs(last.solution.item<double>() - 2.3) < 1e-12);
        QCOMPARE(last.residual.item<double>(), 0.9);
        // A solve that ends in NaN still returns its best iterate.
        QCOMPARE(diverged.reason, StopReason::Diverged);
        QCOMPARE(diverged.solution.item<double>(), 1.0);
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

    void andersonPassesAgreeWithTensorOperations_data()
    {
        QTest::addColumn<bool>("doublePrecision");
        QTest::addColumn<int>("coupledRows");
        QTest::addColumn<bool>("weighted");
        QTest::addColumn<bool>("middleUnmixed");
        QTest::newRow("float64") << true << 1 << false << false;
        QTest::newRow("float32") << false << 1 << false << false;
        QTest::newRow("float64, coupled rows") << true << 3 << false << false;
        QTest::newRow("float64, weighted blocks") << true << 1 << true << false;
        QTest::newRow("float32, coupled rows, weighted blocks") << false << 3 << true << false;
        QTest::newRow("float64, weighted, middle block unmixed") << true << 1 << true << true;
    }

    void andersonPassesAgreeWithTensorOperations()
    {
        // The fused CPU passes against the same steps as tensor operations,
        // and both against the definitions: the summary's block norms, the
        // Gram matrix of the stored residuals, and the mixture of the stored
        // images with the weights of the bordered system. Blocks of uneven
        // sizes over several chunks; more pairs than the memory holds. With
        // block weights, the Gram matrix is of the weighted inner product and
        // the summary's norms stay unweighted; an unmixed block passes the
        // newest image through.
        QFETCH(bool, doublePrecision);
        QFETCH(int, coupledRows);
        QFETCH(bool, weighted);
        QFETCH(bool, middleUnmixed);
        torch::manual_seed(11);
        const auto dtype = doublePrecision ? torch::kFloat64 : torch::kFloat32;
        const double tolerance = doublePrecision ? 1e-10 : 1e-4;
        const std::vector<int64_t> blocks{20000, 300, 9000};
        const int64_t rows = 3, length = 29300;
        const int memory = 4;
        const double lambda = 1e-4;
        const auto v0 = torch::randn({rows, length}, dtype);
        const std::vector<double> blockWeights = weighted ? std::vector<double>{1.0, 50.0, 0.5} : std::vector<double>{};
        auto weightRow = torch::ones({length}, torch::kFloat64);
        if (weighted) {
            weightRow.narrow(0, blocks[0], blocks[1]).fill_(50.0);
            weightRow.narrow(0, blocks[0] + blocks[1], blocks[2]).fill_(0.5);
        }
        const std::vector<bool> unmixed = middleUnmixed ? std::vector<bool>{false, true, false} : std::vector<bool>{};
        AndersonHistory fused(v0, memory, coupledRows, blocks, AndersonHistory::Kernels::Fused, blockWeights, unmixed);
        AndersonHistory tensors(v0, memory, coupledRows, blocks, AndersonHistory::Kernels::Tensor, blockWeights, unmixed);
        QVERIFY(fused.fused());
        QVERIFY(!tensors.fused());
        std::vector<torch::Tensor> slotResidual(memory), slotImage(memory); // pair k lives in slot k mod memory
        for (int k = 0; k < 7; ++k) {
            const auto v = torch::randn({rows, length}, dtype);
            const auto gv = v + torch::randn({rows, length}, dtype) * (1.0 / (k + 1));
            const auto objective = torch::rand({rows}, dtype);
            const auto a = fused.add(v, gv, objective);
            const auto b = tensors.add(v, gv, objective);
            slotImage[size_t(k % memory)] = gv.to(torch::kFloat64);
            slotResidual[size_t(k % memory)] = (gv - v).to(torch::kFloat64);
            const int filled = std::min(k + 1, memory);
            QCOMPARE(fused.filled(), filled);

            QCOMPARE(a.blocks, int64_t(3));
            QCOMPARE(a.objective.size(), size_t(rows));
            for (int64_t r = 0; r < rows; ++r) {
                QVERIFY(std::abs(a.objective[size_t(r)] - objective[r].item<double>()) < 1e-6);
                int64_t offset = 0;
                for (int64_t block = 0; block < 3; ++block) {
                    const auto part = slotResidual[size_t(k % memory)][r].narrow(0, offset, blocks[size_t(block)]);
                    const double exact = part.square().sum().item<double>();
                    QVERIFY(std::abs(a.changeSquare(r, block) - exact) <= tolerance * exact);
                    QVERIFY(std::abs(b.changeSquare(r, block) - exact) <= tolerance * exact);
                    offset += blocks[size_t(block)];
                }
                const double image = slotImage[size_t(k % memory)][r].square().sum().item<double>();
                QVERIFY(std::abs(a.rowImageSquare(r) - image) <= tolerance * image);
                QVERIFY(std::abs(b.rowImageSquare(r) - image) <= tolerance * image);
            }

            for (int64_t group = 0; group < rows / coupledRows; ++group) {
                const auto rowsOfGroup = [&](const torch::Tensor& t) { return t.narrow(0, group * coupledRows, coupledRows); };
                auto gram = torch::empty({filled, filled}, torch::kFloat64);
                for (int i = 0; i < filled; ++i)
                    for (int j = 0; j < filled; ++j)
                        gram[i][j] = (rowsOfGroup(slotResidual[size_t(i)]) * rowsOfGroup(slotResidual[size_t(j)]) * weightRow).sum();
                const auto gramA = fused.gram(group), gramB = tensors.gram(group);
                for (int i = 0; i < filled; ++i)
                    for (int j = 0; j < filled; ++j) {
                        const double exact = gram[i][j].item<double>();
                        QVERIFY(std::abs(gramA[size_t(i * filled + j)] - exact) <= tolerance * (std::abs(exact) + 1));
                        QVERIFY(std::abs(gramB[size_t(i * filled + j)] - exact) <= tolerance * (std::abs(exact) + 1));
                    }
                // The weights from the bordered system, solved here by LAPACK.
                auto system = torch::zeros({filled + 1, filled + 1}, torch::kFloat64);
                system.narrow(0, 0, 1).narrow(1, 1, filled).fill_(1.0);
                system.narrow(0, 1, filled).narrow(1, 0, 1).fill_(1.0);
                const double scale = gram.diagonal().mean().item<double>();
                system.narrow(0, 1, filled).narrow(1, 1, filled).copy_(gram / scale + lambda * torch::eye(filled, torch::kFloat64));
                auto rhs = torch::zeros({filled + 1}, torch::kFloat64);
                rhs[0] = 1.0;
                const auto weights = torch::linalg::solve(system, rhs, true).narrow(0, 1, filled);
                QVERIFY(std::abs(weights.sum().item<double>() - 1.0) < 1e-9);
                for (double beta : {1.0, 0.5}) {
                    auto expected = torch::zeros({coupledRows, length}, torch::kFloat64);
                    for (int i = 0; i < filled; ++i)
                        expected += weights[i] * (rowsOfGroup(slotImage[size_t(i)]) - (1.0 - beta) * rowsOfGroup(slotResidual[size_t(i)]));
                    if (middleUnmixed)
                        expected.narrow(1, blocks[0], blocks[1]).copy_(rowsOfGroup(slotImage[size_t(k % memory)]).narrow(1, blocks[0], blocks[1]));
                    for (auto* history : {&fused, &tensors}) {
                        const auto mixed = rowsOfGroup(history->mix(lambda, beta)).to(torch::kFloat64);
                        const double error = (mixed - expected).abs().max().item<double>();
                        QVERIFY2(error <= 10 * tolerance * (expected.abs().max().item<double>() + 1),
                                 qPrintable(QString("mixture off by %1").arg(error)));
                    }
                }
            }
        }
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
