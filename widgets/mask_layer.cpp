#include "mask_layer.h"

#include <QPainter>
#include <QUndoCommand>
#include <QUndoStack>

namespace jiio::widgets {

namespace {

class MaskEdit : public QUndoCommand {
public:
    MaskEdit(MaskLayer* layer, const QString& name, QImage before, QImage after)
        : QUndoCommand(name), layer_(layer), before_(std::move(before)), after_(std::move(after))
    {
    }
    void undo() override { layer_->replace(before_); }
    void redo() override { layer_->replace(after_); }

private:
    MaskLayer* layer_;
    QImage before_, after_;
};

} // namespace

MaskLayer::MaskLayer(QObject* parent) : QObject(parent), undoStack_(new QUndoStack(this)) {}

void MaskLayer::reset(const QSize& size)
{
    mask_ = QImage(size, QImage::Format_Grayscale8);
    mask_.fill(0);
    undoStack_->clear();
    Q_EMIT changed();
}

bool MaskLayer::isEmpty() const
{
    for (int y = 0; y < mask_.height(); ++y) {
        const uchar* line = mask_.constScanLine(y);
        for (int x = 0; x < mask_.width(); ++x)
            if (line[x])
                return false;
    }
    return true;
}

void MaskLayer::setBrushRadius(int radius)
{
    brushRadius_ = std::max(1, radius);
}

void MaskLayer::beginStroke(const QPointF& imagePoint)
{
    if (mask_.isNull())
        return;
    strokeStart_ = mask_.copy();
    stroking_ = true;
    lastPoint_ = imagePoint;
    paintSegment(imagePoint, imagePoint);
}

void MaskLayer::continueStroke(const QPointF& imagePoint)
{
    if (!stroking_)
        return;
    paintSegment(lastPoint_, imagePoint);
    lastPoint_ = imagePoint;
}

void MaskLayer::endStroke()
{
    if (!stroking_)
        return;
    stroking_ = false;
    if (mask_ != strokeStart_)
        pushEdit(erasing_ ? tr("Erase") : tr("Brush stroke"), strokeStart_);
}

void MaskLayer::paintSegment(const QPointF& from, const QPointF& to)
{
    QPainter painter(&mask_);
    painter.setRenderHint(QPainter::Antialiasing, false);
    const QColor ink = erasing_ ? QColor(0, 0, 0) : QColor(255, 255, 255);
    painter.setPen(QPen(ink, 2.0 * brushRadius_, Qt::SolidLine, Qt::RoundCap, Qt::RoundJoin));
    if (from == to) {
        painter.setPen(Qt::NoPen);
        painter.setBrush(ink);
        painter.drawEllipse(from, brushRadius_, brushRadius_);
    } else {
        painter.drawLine(from, to);
    }
    painter.end();
    Q_EMIT changed();
}

void MaskLayer::pushEdit(const QString& name, const QImage& before)
{
    // The edit is already applied; the command's first redo() re-applies it.
    undoStack_->push(new MaskEdit(this, name, before, mask_.copy()));
}

void MaskLayer::clear()
{
    if (mask_.isNull() || isEmpty())
        return;
    const QImage before = mask_.copy();
    mask_.fill(0);
    pushEdit(tr("Clear mask"), before);
}

void MaskLayer::invert()
{
    if (mask_.isNull())
        return;
    const QImage before = mask_.copy();
    mask_.invertPixels();
    pushEdit(tr("Invert mask"), before);
}

QString MaskLayer::load(const QString& path)
{
    QImage loaded(path);
    if (loaded.isNull())
        return tr("The mask '%1' could not be read.").arg(path);
    if (loaded.size() != mask_.size())
        return tr("The mask is %1x%2 but the image is %3x%4.")
            .arg(loaded.width()).arg(loaded.height()).arg(mask_.width()).arg(mask_.height());
    QImage gray = loaded.convertToFormat(QImage::Format_Grayscale8);
    for (int y = 0; y < gray.height(); ++y) {
        uchar* line = gray.scanLine(y);
        for (int x = 0; x < gray.width(); ++x)
            line[x] = line[x] ? 255 : 0;
    }
    const QImage before = mask_.copy();
    mask_ = gray;
    pushEdit(tr("Load mask"), before);
    undoStack_->setClean(); // the mask is that file's
    return {};
}

bool MaskLayer::save(const QString& path)
{
    if (mask_.isNull() || !mask_.save(path, "PNG"))
        return false;
    undoStack_->setClean();
    return true;
}

bool MaskLayer::hasUnsavedPainting() const
{
    return !undoStack_->isClean() && !isEmpty();
}

void MaskLayer::replace(const QImage& mask)
{
    mask_ = mask.copy();
    Q_EMIT changed();
}

} // namespace jiio::widgets
