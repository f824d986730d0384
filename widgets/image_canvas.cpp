#include "image_canvas.h"

#include "mask_layer.h"

#include <QMouseEvent>
#include <QPainter>
#include <QWheelEvent>

#include <algorithm>
#include <cmath>

namespace jiio::widgets {

ImageCanvas::ImageCanvas(const QString& title, QWidget* parent) : QWidget(parent), title_(title)
{
    setMouseTracking(true); // the brush outline follows the cursor
    setMinimumSize(160, 160);
    setAttribute(Qt::WA_OpaquePaintEvent);
}

void ImageCanvas::setImage(const QImage& image)
{
    const bool newSize = image.size() != image_.size();
    image_ = image;
    if (newSize) {
        zoom_ = 0;
        centre_ = QPointF(image_.width() / 2.0, image_.height() / 2.0);
    }
    update();
}

void ImageCanvas::setTitle(const QString& title)
{
    title_ = title;
    update();
}

void ImageCanvas::setSplitImage(const QImage& before)
{
    before_ = before;
    update();
}

void ImageCanvas::setSplitFraction(double fraction)
{
    split_ = std::clamp(fraction, 0.0, 1.0);
    update();
}

void ImageCanvas::setMaskLayer(MaskLayer* layer)
{
    if (mask_)
        disconnect(mask_, nullptr, this, nullptr);
    mask_ = layer;
    if (mask_)
        connect(mask_, &MaskLayer::changed, this, qOverload<>(&QWidget::update));
    update();
}

double ImageCanvas::effectiveZoom() const
{
    if (zoom_ > 0 || image_.isNull())
        return zoom_ > 0 ? zoom_ : 1.0;
    return std::min(width() / double(image_.width()), height() / double(image_.height()));
}

QPointF ImageCanvas::toImage(const QPointF& p) const
{
    const double z = effectiveZoom();
    return centre_ + (p - QPointF(width() / 2.0, height() / 2.0)) / z;
}

QPointF ImageCanvas::toWidget(const QPointF& p) const
{
    return QPointF(width() / 2.0, height() / 2.0) + (p - centre_) * effectiveZoom();
}

void ImageCanvas::setView(double zoom, const QPointF& centre)
{
    if (qFuzzyCompare(zoom + 1, zoom_ + 1) && centre == centre_)
        return;
    zoom_ = zoom;
    centre_ = centre;
    update();
}

void ImageCanvas::fitToWindow()
{
    zoom_ = 0;
    centre_ = QPointF(image_.width() / 2.0, image_.height() / 2.0);
    update();
    Q_EMIT viewChanged(zoom_, centre_);
}

void ImageCanvas::zoomBy(double factor)
{
    if (image_.isNull())
        return;
    zoom_ = std::clamp(effectiveZoom() * factor, 0.05, 64.0);
    update();
    Q_EMIT viewChanged(zoom_, centre_);
}

void ImageCanvas::showActualSize()
{
    zoom_ = 1.0;
    update();
    Q_EMIT viewChanged(zoom_, centre_);
}

void ImageCanvas::paintEvent(QPaintEvent*)
{
    QPainter painter(this);
    painter.fillRect(rect(), palette().color(QPalette::Dark));
    if (!image_.isNull()) {
        const QRectF target(toWidget(QPointF(0, 0)), toWidget(QPointF(image_.width(), image_.height())));
        painter.setRenderHint(QPainter::SmoothPixmapTransform, effectiveZoom() < 2.0);
        painter.drawImage(target, image_);
        if (splitting()) {
            const double dividerX = toWidget(QPointF(split_ * image_.width(), 0)).x();
            const QRectF left(target.topLeft(), QPointF(dividerX, target.bottom()));
            const QRectF source(0, 0, split_ * before_.width(), before_.height());
            painter.drawImage(left, before_, source);
            painter.setPen(QPen(palette().color(QPalette::Highlight), 2));
            painter.drawLine(QPointF(dividerX, 0), QPointF(dividerX, height()));
        }
        if (mask_ && !mask_->mask().isNull()) {
            // Missing pixels in translucent red.
            QImage overlay(mask_->mask().size(), QImage::Format_ARGB32_Premultiplied);
            overlay.fill(QColor(230, 30, 30, 150));
            overlay.setAlphaChannel(mask_->mask());
            painter.setOpacity(0.6);
            painter.drawImage(target, overlay);
            painter.setOpacity(1.0);
        }
        if (mask_ && painting_ && hover_.x() >= 0) { // the brush, at its size on screen
            const double radius = std::max(1.0, mask_->brushRadius() * effectiveZoom());
            painter.setRenderHint(QPainter::Antialiasing);
            painter.setBrush(Qt::NoBrush);
            painter.setPen(QPen(QColor(0, 0, 0, 160), 3));
            painter.drawEllipse(hover_, radius, radius);
            painter.setPen(QPen(QColor(255, 255, 255, 220), 1));
            painter.drawEllipse(hover_, radius, radius);
        }
    }
    painter.setPen(palette().color(QPalette::BrightText));
    painter.drawText(rect().adjusted(6, 4, -6, -4), Qt::AlignTop | Qt::AlignLeft, title_);
}

void ImageCanvas::wheelEvent(QWheelEvent* event)
{
    if (image_.isNull())
        return;
    const QPointF anchor = toImage(event->position());
    const double factor = std::pow(1.0015, event->angleDelta().y());
    const double zoom = std::clamp(effectiveZoom() * factor, 0.05, 64.0);
    // Keep the image point under the cursor where it is.
    centre_ = anchor - (event->position() - QPointF(width() / 2.0, height() / 2.0)) / zoom;
    zoom_ = zoom;
    update();
    Q_EMIT viewChanged(zoom_, centre_);
}

void ImageCanvas::mousePressEvent(QMouseEvent* event)
{
    if (event->button() == Qt::LeftButton && mask_ && painting_) {
        mask_->beginStroke(toImage(event->position()));
    } else if (event->button() == Qt::LeftButton && splitting()) {
        draggingSplit_ = true;
        setSplitFraction(toImage(event->position()).x() / image_.width());
    } else if (event->button() == Qt::RightButton || event->button() == Qt::MiddleButton) {
        panning_ = true;
        panStart_ = event->position().toPoint();
        panCentre_ = centre_;
        if (zoom_ <= 0)
            zoom_ = effectiveZoom();
    }
}

void ImageCanvas::mouseMoveEvent(QMouseEvent* event)
{
    if (mask_ && painting_) {
        hover_ = event->position();
        update();
    }
    if (panning_) {
        centre_ = panCentre_ - QPointF(event->position().toPoint() - panStart_) / effectiveZoom();
        update();
        Q_EMIT viewChanged(zoom_, centre_);
    } else if ((event->buttons() & Qt::LeftButton) && mask_ && painting_) {
        mask_->continueStroke(toImage(event->position()));
    } else if (draggingSplit_) {
        setSplitFraction(toImage(event->position()).x() / image_.width());
    }
}

void ImageCanvas::leaveEvent(QEvent*)
{
    hover_ = QPointF(-1, -1);
    update();
}

void ImageCanvas::mouseReleaseEvent(QMouseEvent* event)
{
    if (event->button() == Qt::LeftButton && mask_ && painting_)
        mask_->endStroke();
    else if (event->button() == Qt::LeftButton)
        draggingSplit_ = false;
    else
        panning_ = false;
}

} // namespace jiio::widgets
