#include "model_row.h"

#include <QFileDialog>
#include <QFormLayout>
#include <QLabel>
#include <QPushButton>

namespace jiio::workbench {

QLabel* addModelRow(QFormLayout* form, QWidget* dialogParent, const QString& none, const QString& buttonText,
                    const QString& dialogTitle, const std::function<void(const QString&)>& open)
{
    auto* name = new QLabel(none);
    name->setWordWrap(true);
    auto* button = new QPushButton(buttonText);
    QObject::connect(button, &QPushButton::clicked, dialogParent, [dialogParent, dialogTitle, open] {
        const QString path =
            QFileDialog::getOpenFileName(dialogParent, dialogTitle, {}, QObject::tr("Models (*.pt)"));
        if (!path.isEmpty())
            open(path);
    });
    form->addRow(QObject::tr("Model"), name);
    form->addRow(QString(), button);
    return name;
}

} // namespace jiio::workbench
