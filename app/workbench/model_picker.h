#pragma once
#include <QWidget>

class QComboBox;
class QTextBrowser;

namespace jiio::workbench {

// Chooses the model: the shipped ones by name, or any checkpoint file. Shows
// the model card (NAME.md beside the file) or, for a plain checkpoint, its
// configuration.
class ModelPicker : public QWidget {
    Q_OBJECT
public:
    explicit ModelPicker(QWidget* parent = nullptr);

    // Marks `path` as the current model (adding it to the list when it is
    // not there) and shows its card. Does not emit modelChosen.
    void showModel(const QString& path);
    QString currentPath() const;
    QString cardText() const;
    QComboBox* combo() const { return combo_; }

    // The card for a model file: its markdown card, else its configuration;
    // an explanation for a file that is not a model.
    static QString describe(const QString& path, bool* isMarkdown = nullptr);

Q_SIGNALS:
    void modelChosen(const QString& path);

private:
    void onActivated(int index);

    QComboBox* combo_;
    QTextBrowser* card_;
};

} // namespace jiio::workbench
