#pragma once
#include <QImage>
#include <QPointer>
#include <QWidget>

namespace jiio::widgets {

class MaskLayer;

// Shows an image with zoom (wheel) and pan (right or middle drag), optionally
// with a mask overlay that the left button paints, or as a split before/after
// view whose divider the left button drags. Canvases that compare images share
// their view through setView()/viewChanged().
class ImageCanvas : public QWidget {
    Q_OBJECT
public:
    explicit ImageCanvas(const QString& title, QWidget* parent = nullptr);

    void setImage(const QImage& image);
    const QImage& image() const { return image_; }
    void setMaskLayer(MaskLayer* layer); // nullptr: no overlay, no painting
    void setPaintingEnabled(bool enabled) { painting_ = enabled; }
    void setTitle(const QString& title);
    // Split view: `before` left of the divider, the image right of it.
    void setSplitImage(const QImage& before);
    double splitFraction() const { return split_; } // divider position, 0..1 of the image width
    void setSplitFraction(double fraction);

    // Scale (screen pixels per image pixel; 0 = fit) and the image point at
    // the centre of the widget.
    double zoom() const { return zoom_; }
    QPointF centre() const { return centre_; }
    QPointF toImage(const QPointF& widgetPoint) const;
    QPointF toWidget(const QPointF& imagePoint) const;

public Q_SLOTS:
    void setView(double zoom, const QPointF& centre);
    void fitToWindow();
    // Zoom about the centre of the view by `factor` (View → Zoom in / out).
    void zoomBy(double factor);
    // One image pixel per screen pixel.
    void showActualSize();

Q_SIGNALS:
    void viewChanged(double zoom, const QPointF& centre);

protected:
    void paintEvent(QPaintEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void leaveEvent(QEvent* event) override;
    QSize sizeHint() const override { return {320, 320}; }

private:
    double effectiveZoom() const;

    bool splitting() const { return !before_.isNull() && before_.size() == image_.size(); }

    QString title_;
    QImage image_;
    QImage before_;
    double split_ = 0.5;
    bool draggingSplit_ = false;
    QPointer<MaskLayer> mask_;
    bool painting_ = true;
    double zoom_ = 0; // 0 = fit
    QPointF centre_;
    QPoint panStart_;
    QPointF panCentre_;
    bool panning_ = false;
    QPointF hover_{-1, -1}; // where the brush outline is drawn; negative: nowhere
};

} // namespace jiio::widgets
