#include "model_picker.h"

#include "core/error.h"
#include "core/models/checkpoint.h"
#include "core/models/model_locator.h"

#include <QComboBox>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QSignalBlocker>
#include <QTextBrowser>
#include <QVBoxLayout>

namespace jiio::workbench {

namespace {
const char* const kBrowse = "browse";
}

ModelPicker::ModelPicker(QWidget* parent) : QWidget(parent), combo_(new QComboBox), card_(new QTextBrowser)
{
    for (const auto& path : shippedModels()) {
        // Classifiers are the attack tab's; a file that cannot be read is
        // still listed, and choosing it says why it fails.
        try {
            if (readsOutClasses(readModelConfig(path).kind))
                continue;
        } catch (const Error&) {
        }
        const QString file = QString::fromStdString(path);
        combo_->addItem(QFileInfo(file).fileName(), file);
    }
    combo_->addItem(tr("Other checkpoint…"), kBrowse);
    combo_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    combo_->setMinimumContentsLength(12);
    combo_->setCurrentIndex(-1);
    connect(combo_, &QComboBox::activated, this, &ModelPicker::onActivated);
    card_->setOpenExternalLinks(false);
    card_->setMinimumHeight(120);
    card_->setPlaceholderText(tr("The model's card appears here."));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(combo_);
    layout->addWidget(card_, 1);
}

void ModelPicker::onActivated(int index)
{
    QString path = combo_->itemData(index).toString();
    if (path == kBrowse) {
        path = QFileDialog::getOpenFileName(this, tr("Open model"), {}, tr("Models (*.pt);;All files (*)"));
        if (path.isEmpty()) {
            const QSignalBlocker block(combo_);
            combo_->setCurrentIndex(combo_->findData(currentPath()));
            return;
        }
    }
    Q_EMIT modelChosen(path);
}

void ModelPicker::showModel(const QString& path)
{
    const QString absolute = QFileInfo(path).absoluteFilePath();
    int index = -1;
    for (int i = 0; i < combo_->count(); ++i)
        if (QFileInfo(combo_->itemData(i).toString()).absoluteFilePath() == absolute)
            index = i;
    if (index < 0) {
        index = combo_->count() - 1; // before "Other checkpoint…"
        combo_->insertItem(index, QFileInfo(path).fileName(), path);
    }
    const QSignalBlocker block(combo_);
    combo_->setCurrentIndex(index);
    combo_->setToolTip(path);
    bool markdown = false;
    const QString text = describe(path, &markdown);
    if (markdown)
        card_->setMarkdown(text);
    else
        card_->setPlainText(text);
}

QString ModelPicker::currentPath() const
{
    const QString data = combo_->currentData().toString();
    return data == kBrowse ? QString() : data;
}

QString ModelPicker::cardText() const
{
    return card_->toPlainText();
}

QString ModelPicker::describe(const QString& path, bool* isMarkdown)
{
    const QFileInfo info(path);
    QFile card(info.absolutePath() + "/" + info.completeBaseName() + ".md");
    if (card.open(QIODevice::ReadOnly | QIODevice::Text)) {
        if (isMarkdown)
            *isMarkdown = true;
        return QString::fromUtf8(card.readAll());
    }
    if (isMarkdown)
        *isMarkdown = false;
    try {
        const ModelConfig config = readModelConfig(path.toStdString());
        return tr("%1 (no model card)\n\n%2").arg(info.fileName(), QString::fromStdString(config.toText()));
    } catch (const std::exception& e) {
        return tr("%1 is not a usable model: %2").arg(info.fileName(), QString::fromStdString(oneLine(e.what())));
    }
}

} // namespace jiio::workbench
