// The classical restoration methods JIIO is compared with, on problems with
// known answers.
#include "core/evaluation/evaluation.h"
#include "core/tasks/restoration/classical_restoration.h"
#include "test_support.h"

#include <QtTest>

#include <opencv2/imgproc.hpp>

#include <random>

using namespace jiio;

namespace {

// Total variation of one channel (isotropic, forward differences), the term
// Chambolle's algorithm weighs against the data.
double totalVariation(const cv::Mat& u)
{
    double tv = 0;
    for (int r = 0; r < u.rows; ++r)
        for (int c = 0; c < u.cols; ++c) {
            const double dx = c + 1 < u.cols ? u.at<float>(r, c + 1) - u.at<float>(r, c) : 0.0;
            const double dy = r + 1 < u.rows ? u.at<float>(r + 1, c) - u.at<float>(r, c) : 0.0;
            tv += std::sqrt(dx * dx + dy * dy);
        }
    return tv;
}

double rmse(const cv::Mat& a, const cv::Mat& b)
{
    return cv::norm(a, b, cv::NORM_L2) / std::sqrt(double(a.total() * a.channels()));
}

} // namespace

class TestClassical : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // A plane has zero Laplacian: the biharmonic fill of an interior hole
    // recovers it exactly; known pixels stay as they were.
    void biharmonicFillRecoversAPlane()
    {
        const int rows = 40, cols = 48;
        cv::Mat plane(rows, cols, CV_32FC3);
        for (int r = 0; r < rows; ++r)
            for (int c = 0; c < cols; ++c)
                plane.at<cv::Vec3f>(r, c) = cv::Vec3f(0.2f + 0.01f * c, 0.7f - 0.005f * r, 0.1f + 0.004f * (r + c));
        cv::Mat missing = cv::Mat::zeros(rows, cols, CV_8U);
        cv::rectangle(missing, cv::Rect(10, 8, 20, 15), 255, cv::FILLED);
        cv::Mat holes = plane.clone();
        holes.setTo(cv::Scalar::all(0), missing);
        const cv::Mat filled = biharmonicInpaint(holes, missing);
        QVERIFY(rmse(filled, plane) < 1e-5);
        cv::Mat known;
        cv::bitwise_not(missing, known);
        QCOMPARE(cv::norm(filled, holes, cv::NORM_INF, known), 0.0);
        // Through the common entry point: the same.
        QVERIFY(rmse(restoreClassically(ClassicalMethod::Biharmonic, holes, missing, 0), plane) < 1e-5);
    }

    // Smoother than a harmonic fill: a hole in a quadratic bowl is filled far
    // better than by OpenCV's Navier-Stokes method.
    void biharmonicBeatsNavierStokesOnASmoothSurface()
    {
        const int side = 64;
        cv::Mat bowl(side, side, CV_32F);
        for (int r = 0; r < side; ++r)
            for (int c = 0; c < side; ++c)
                bowl.at<float>(r, c) = float(0.1 + 0.8 * ((r - 32.0) * (r - 32.0) + (c - 30.0) * (c - 30.0)) / 2048.0);
        cv::Mat missing = cv::Mat::zeros(side, side, CV_8U);
        cv::circle(missing, {30, 32}, 12, 255, cv::FILLED);
        cv::Mat holes = bowl.clone();
        holes.setTo(0, missing);
        const double biharmonic = rmse(biharmonicInpaint(holes, missing), bowl);
        const double navierStokes = rmse(restoreClassically(ClassicalMethod::NavierStokes, holes, missing, 0), bowl);
        qInfo("RMSE in a bowl: biharmonic %.5f, Navier-Stokes %.5f", biharmonic, navierStokes);
        QVERIFY(biharmonic < 0.25 * navierStokes);
    }

    // Chambolle's TV: a constant stays; a noisy step gets much closer to the
    // truth and lowers the energy 0.5 |u - f|^2 + w TV(u) below that of f.
    void totalVariationDenoisesAStep()
    {
        cv::Mat constant(16, 16, CV_32FC3, cv::Scalar::all(0.4));
        QVERIFY(cv::norm(totalVariationDenoise(constant, 0.1), constant, cv::NORM_INF) < 1e-6);

        const int side = 48;
        cv::Mat step(side, side, CV_32F, cv::Scalar(0.2));
        step.colRange(side / 2, side) = 0.8;
        cv::Mat noise(side, side, CV_32F);
        cv::randn(noise, 0, 0.1);
        const cv::Mat noisy = step + noise;
        const double weight = 0.08;
        const cv::Mat denoised = totalVariationDenoise(noisy, weight);
        qInfo("RMSE: noisy %.4f, TV %.4f", rmse(noisy, step), rmse(denoised, step));
        QVERIFY(rmse(denoised, step) < 0.4 * rmse(noisy, step));
        const double energy = 0.5 * cv::norm(denoised, noisy, cv::NORM_L2SQR) + weight * totalVariation(denoised);
        QVERIFY(energy < weight * totalVariation(noisy));
    }

    // `jiio eval` stopped by Ctrl-C keeps the images it finished: a stop in the
    // middle of the second image leaves exactly the rows of the first alone.
    void evaluationStoppedMidwayKeepsTheImagesItFinished()
    {
        torch::manual_seed(3);
        ModelConfig config = test::tinyImagePriorConfig(3);
        DeqModel model(config);
        model->eval();
        std::vector<cv::Mat> images;
        for (int i = 0; i < 2; ++i) {
            cv::Mat image(32, 32, CV_32FC3);
            cv::randu(image, 0.0, 1.0);
            cv::GaussianBlur(image, image, cv::Size(5, 5), 1.5);
            images.push_back(image);
        }
        SolveSettings settings;
        settings.setBudget(2);
        int polls = 0;
        int reported = 0;
        EvaluationControl control;
        control.onImageScored = [&](int scored, int total) {
            reported = scored;
            QCOMPARE(total, 2);
        };
        control.stopRequested = [&] { return ++polls < 0; };
        const auto first = evaluateModel(model, "tiny", {images[0]}, settings, 32, 5, EvaluationControl{control.stopRequested, {}});
        const int pollsPerImage = polls;
        QVERIFY(pollsPerImage > 6); // once per corruption and during the solves
        QCOMPARE(first.images, 1);

        polls = 0;
        control.stopRequested = [&] { return ++polls > pollsPerImage + 4; };
        const auto stopped = evaluateModel(model, "tiny", images, settings, 32, 5, control);
        QCOMPARE(reported, 1);
        QCOMPARE(stopped.images, 1);
        QCOMPARE(stopped.imagesRequested, 2);
        QCOMPARE(stopped.rows.size(), first.rows.size());
        for (size_t i = 0; i < first.rows.size(); ++i) {
            QCOMPARE(stopped.rows[i].method, first.rows[i].method);
            QCOMPARE(stopped.rows[i].psnr, first.rows[i].psnr);
        }
        QVERIFY(evaluationTable(stopped).find("images: 1 of 2 (stopped)") != std::string::npos);
    }

    void everyMethodHasANameAndATunedGrid()
    {
        for (Task task : {Task::Inpaint, Task::Denoise})
            for (auto method : classicalMethodsFor(task)) {
                QVERIFY(classicalMethodFromString(toString(method)) == method);
                QVERIFY(!classicalParameterGrid(method, 25).empty());
            }
        QCOMPARE(int(classicalMethodsFor(Task::Inpaint).size()), 3);
        QCOMPARE(int(classicalMethodsFor(Task::Denoise).size()), 3);
    }
};

QTEST_APPLESS_MAIN(TestClassical)
#include "test_classical.moc"
