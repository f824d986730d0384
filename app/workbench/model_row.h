#pragma once
#include <QString>

#include <functional>

class QFormLayout;
class QLabel;
class QWidget;

namespace jiio::workbench {

// The "Model" row of a tab that holds its own model: the file's name (shown
// as `none` until one is loaded) and a button whose file dialog hands the
// chosen path to `open`. Returns the name label, which the tab updates.
QLabel* addModelRow(QFormLayout* form, QWidget* dialogParent, const QString& none, const QString& buttonText,
                    const QString& dialogTitle, const std::function<void(const QString&)>& open);

} // namespace jiio::workbench
