#include "tasks/restoration/classical_restoration.h"

#include "error.h"
#include "io/image_io.h"

#include <Eigen/Sparse>
#include <Eigen/SparseCholesky>
#include <opencv2/imgproc.hpp>
#include <opencv2/photo.hpp>

#include <cmath>

namespace jiio {

namespace {

// The 5-point Laplacian of an image grid with reflecting borders, as a sparse
// matrix over pixels in row-major order.
Eigen::SparseMatrix<double> gridLaplacian(int rows, int cols)
{
    std::vector<Eigen::Triplet<double>> entries;
    entries.reserve(size_t(rows) * cols * 5);
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c) {
            const int i = r * cols + c;
            int neighbours = 0;
            auto link = [&](int rr, int cc) {
                if (rr < 0 || rr >= rows || cc < 0 || cc >= cols)
                    return;
                entries.emplace_back(i, rr * cols + cc, 1.0);
                ++neighbours;
            };
            link(r - 1, c);
            link(r + 1, c);
            link(r, c - 1);
            link(r, c + 1);
            entries.emplace_back(i, i, -double(neighbours));
        }
    Eigen::SparseMatrix<double> laplacian(rows * cols, rows * cols);
    laplacian.setFromTriplets(entries.begin(), entries.end());
    return laplacian;
}

// Chambolle's projection algorithm on one channel (the iteration of his 2004
// paper with step 1/4, stopping on the relative change of the energy).
cv::Mat chambolle(const cv::Mat& f, double weight, int maxIterations, double tolerance)
{
    const int rows = f.rows, cols = f.cols;
    cv::Mat px = cv::Mat::zeros(rows, cols, CV_32F), py = cv::Mat::zeros(rows, cols, CV_32F);
    cv::Mat out = f.clone(), d = cv::Mat::zeros(rows, cols, CV_32F);
    cv::Mat gx(rows, cols, CV_32F), gy(rows, cols, CV_32F), norm;
    const double tau = 0.25;
    double initial = 0, previous = 0;
    for (int i = 0; i < maxIterations; ++i) {
        if (i > 0) { // d = div p (backward differences), out = f + d
            d = -(px + py);
            d.colRange(1, cols) += px.colRange(0, cols - 1);
            d.rowRange(1, rows) += py.rowRange(0, rows - 1);
            out = f + d;
        }
        double energy = d.dot(d);
        gx.setTo(0);
        gy.setTo(0);
        if (cols > 1)
            cv::subtract(out.colRange(1, cols), out.colRange(0, cols - 1), gx.colRange(0, cols - 1));
        if (rows > 1)
            cv::subtract(out.rowRange(1, rows), out.rowRange(0, rows - 1), gy.rowRange(0, rows - 1));
        cv::sqrt(gx.mul(gx) + gy.mul(gy), norm);
        energy += weight * cv::sum(norm)[0];
        norm = 1.0 + norm * (tau / weight);
        px = (px - tau * gx) / norm;
        py = (py - tau * gy) / norm;
        energy /= double(rows) * cols;
        if (i == 0) {
            initial = previous = energy;
        } else {
            if (std::abs(previous - energy) < tolerance * initial)
                break;
            previous = energy;
        }
    }
    return out;
}

} // namespace

std::string toString(ClassicalMethod method)
{
    switch (method) {
    case ClassicalMethod::Telea:
        return "telea";
    case ClassicalMethod::NavierStokes:
        return "navier-stokes";
    case ClassicalMethod::Biharmonic:
        return "biharmonic";
    case ClassicalMethod::NlmColored:
        return "nlm-colored";
    case ClassicalMethod::NlmRgb:
        return "nlm-rgb";
    case ClassicalMethod::TotalVariation:
        return "tv-chambolle";
    }
    return "unknown";
}

ClassicalMethod classicalMethodFromString(const std::string& text)
{
    for (auto method : {ClassicalMethod::Telea, ClassicalMethod::NavierStokes, ClassicalMethod::Biharmonic,
                        ClassicalMethod::NlmColored, ClassicalMethod::NlmRgb, ClassicalMethod::TotalVariation})
        if (toString(method) == text)
            return method;
    throw Error("unknown classical method '" + text + "'");
}

std::vector<ClassicalMethod> classicalMethodsFor(Task task)
{
    switch (task) {
    case Task::Inpaint:
        return {ClassicalMethod::Telea, ClassicalMethod::NavierStokes, ClassicalMethod::Biharmonic};
    case Task::Denoise:
        return {ClassicalMethod::NlmColored, ClassicalMethod::NlmRgb, ClassicalMethod::TotalVariation};
    case Task::Reconstruct:
        return {};
    }
    return {};
}

std::vector<double> classicalParameterGrid(ClassicalMethod method, double sigma)
{
    std::vector<double> grid;
    switch (method) {
    case ClassicalMethod::NlmColored:
        for (double factor : {0.6, 0.8, 1.0, 1.2})
            grid.push_back(factor * sigma);
        break;
    case ClassicalMethod::NlmRgb:
        for (double factor : {0.5, 0.65, 0.8, 1.0})
            grid.push_back(factor * sigma);
        break;
    case ClassicalMethod::TotalVariation:
        for (double factor : {0.5, 0.7, 1.0, 1.4})
            grid.push_back(factor * sigma / 255.0);
        break;
    default:
        grid.push_back(0);
    }
    return grid;
}

double defaultClassicalParameter(ClassicalMethod method, double sigma)
{
    switch (method) {
    case ClassicalMethod::NlmColored:
        return sigma;
    case ClassicalMethod::NlmRgb:
        return 0.65 * sigma;
    case ClassicalMethod::TotalVariation:
        return 0.7 * sigma / 255.0;
    default:
        return 0;
    }
}

cv::Mat biharmonicInpaint(const cv::Mat& image, const cv::Mat& missingMask)
{
    CV_Assert(image.depth() == CV_32F && missingMask.type() == CV_8U && missingMask.size() == image.size());
    const int rows = image.rows, cols = image.cols, channels = image.channels();
    std::vector<int> unknownIndex(size_t(rows) * cols, -1);
    int unknowns = 0;
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c)
            if (missingMask.at<uint8_t>(r, c))
                unknownIndex[size_t(r) * cols + c] = unknowns++;
    cv::Mat result = image.clone();
    if (unknowns == 0)
        return result;
    // |L u|^2 with the known pixels fixed: (L^T L)_UU u_U = -(L^T L)_UK u_K.
    const Eigen::SparseMatrix<double> laplacian = gridLaplacian(rows, cols);
    const Eigen::SparseMatrix<double> energy = laplacian.transpose() * laplacian;
    std::vector<cv::Mat> planes;
    cv::split(image, planes);
    std::vector<Eigen::Triplet<double>> entries;
    Eigen::MatrixXd rhs = Eigen::MatrixXd::Zero(unknowns, channels);
    for (int k = 0; k < energy.outerSize(); ++k)
        for (Eigen::SparseMatrix<double>::InnerIterator it(energy, k); it; ++it) {
            const int row = unknownIndex[size_t(it.row())];
            if (row < 0)
                continue;
            const int col = unknownIndex[size_t(it.col())];
            if (col >= 0) {
                entries.emplace_back(row, col, it.value());
            } else {
                const int r = int(it.col()) / cols, c = int(it.col()) % cols;
                for (int ch = 0; ch < channels; ++ch)
                    rhs(row, ch) -= it.value() * planes[size_t(ch)].at<float>(r, c);
            }
        }
    Eigen::SparseMatrix<double> system(unknowns, unknowns);
    system.setFromTriplets(entries.begin(), entries.end());
    Eigen::SimplicialLDLT<Eigen::SparseMatrix<double>> solver(system);
    if (solver.info() != Eigen::Success)
        throw Error("biharmonic inpainting: the linear system could not be factorised (no known pixels?)");
    const Eigen::MatrixXd filled = solver.solve(rhs);
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c) {
            const int i = unknownIndex[size_t(r) * cols + c];
            if (i >= 0)
                for (int ch = 0; ch < channels; ++ch)
                    planes[size_t(ch)].at<float>(r, c) = float(std::clamp(filled(i, ch), 0.0, 1.0));
        }
    cv::merge(planes, result);
    return result;
}

cv::Mat totalVariationDenoise(const cv::Mat& image, double weight, int maxIterations, double tolerance)
{
    CV_Assert(image.depth() == CV_32F);
    if (!(weight > 0))
        throw Error("the total-variation weight must be positive");
    std::vector<cv::Mat> planes;
    cv::split(image, planes);
    for (auto& plane : planes)
        plane = chambolle(plane, weight, maxIterations, tolerance);
    cv::Mat out;
    cv::merge(planes, out);
    return out;
}

cv::Mat restoreClassically(ClassicalMethod method, const cv::Mat& observed, const cv::Mat& missingMask, double sigma,
                           double parameter)
{
    if (parameter <= 0)
        parameter = defaultClassicalParameter(method, sigma);
    const cv::Mat bytes = toBytes(observed);
    cv::Mat out;
    switch (method) {
    case ClassicalMethod::Telea:
    case ClassicalMethod::NavierStokes:
        cv::inpaint(bytes, missingMask, out, 3, method == ClassicalMethod::Telea ? cv::INPAINT_TELEA : cv::INPAINT_NS);
        return fromBytes(out);
    case ClassicalMethod::Biharmonic:
        return biharmonicInpaint(observed, missingMask);
    case ClassicalMethod::NlmColored:
        if (bytes.channels() == 3)
            cv::fastNlMeansDenoisingColored(bytes, out, float(parameter), float(parameter));
        else
            cv::fastNlMeansDenoising(bytes, out, float(parameter));
        return fromBytes(out);
    case ClassicalMethod::NlmRgb:
        cv::fastNlMeansDenoising(bytes, out, float(parameter)); // all channels in one patch distance
        return fromBytes(out);
    case ClassicalMethod::TotalVariation:
        return totalVariationDenoise(observed, parameter);
    }
    throw Error("unknown classical method");
}

} // namespace jiio
