#include "image_convert.h"

namespace jiio::workbench {

QImage toQImage(const cv::Mat& color)
{
    cv::Mat bytes;
    color.convertTo(bytes, CV_8U, 255.0);
    const auto format = bytes.channels() == 1 ? QImage::Format_Grayscale8 : QImage::Format_RGB888;
    return QImage(bytes.data, bytes.cols, bytes.rows, int(bytes.step), format).copy();
}

cv::Mat fromQImage(const QImage& image)
{
    const bool gray = image.format() == QImage::Format_Grayscale8;
    const QImage source = gray ? image : image.convertToFormat(QImage::Format_RGB888);
    const cv::Mat view(source.height(), source.width(), gray ? CV_8UC1 : CV_8UC3, const_cast<uchar*>(source.constBits()),
                       size_t(source.bytesPerLine()));
    cv::Mat out;
    view.convertTo(out, CV_32F, 1.0 / 255.0);
    return out;
}

cv::Mat maskToMat(const QImage& mask)
{
    const QImage gray = mask.convertToFormat(QImage::Format_Grayscale8);
    const cv::Mat view(gray.height(), gray.width(), CV_8UC1, const_cast<uchar*>(gray.constBits()),
                       size_t(gray.bytesPerLine()));
    cv::Mat out;
    cv::compare(view, 0, out, cv::CMP_NE);
    return out;
}

} // namespace jiio::workbench
