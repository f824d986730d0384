#pragma once
#include <QImage>

#include <opencv2/core.hpp>

namespace jiio::workbench {

// Float [0, 1] RGB or gray cv::Mat -> QImage (deep copy), and back.
QImage toQImage(const cv::Mat& color);
cv::Mat fromQImage(const QImage& image); // RGB888 or Grayscale8 -> float [0, 1]

// An 8-bit QImage mask (non-zero = missing) -> CV_8U (255 = missing).
cv::Mat maskToMat(const QImage& mask);

} // namespace jiio::workbench
