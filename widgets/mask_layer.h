#pragma once
#include <QImage>
#include <QObject>
#include <QPointF>

class QUndoStack;

namespace jiio::widgets {

// The inpainting mask being painted: an 8-bit image of the picture's size,
// 255 where a pixel is missing. Every edit (one brush drag, clear, invert,
// load) is one step on the undo stack.
class MaskLayer : public QObject {
    Q_OBJECT
public:
    explicit MaskLayer(QObject* parent = nullptr);

    void reset(const QSize& size); // an empty mask, history cleared
    const QImage& mask() const { return mask_; }
    bool isEmpty() const;
    QUndoStack* undoStack() const { return undoStack_; }

    int brushRadius() const { return brushRadius_; }
    void setBrushRadius(int radius);
    bool erasing() const { return erasing_; }
    void setErasing(bool erasing) { erasing_ = erasing; }

    void beginStroke(const QPointF& imagePoint);
    void continueStroke(const QPointF& imagePoint);
    void endStroke();

    void clear();
    void invert();
    // Any image of the right size; non-zero pixels mark missing ones.
    // Returns an error sentence, or an empty string on success.
    QString load(const QString& path);
    bool save(const QString& path);
    // Painted pixels that are in no file: edits since the last save or load
    // (an empty mask counts as nothing to lose).
    bool hasUnsavedPainting() const;

    // Used by the undo commands.
    void replace(const QImage& mask);

Q_SIGNALS:
    void changed();

private:
    void paintSegment(const QPointF& from, const QPointF& to);
    void pushEdit(const QString& name, const QImage& before);

    QImage mask_;
    QImage strokeStart_;
    QPointF lastPoint_;
    bool stroking_ = false;
    bool erasing_ = false;
    int brushRadius_ = 8;
    QUndoStack* undoStack_;
};

} // namespace jiio::widgets
