#include "solver_settings_panel.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QUrl>

namespace jiio::widgets {

namespace {

QDoubleSpinBox* number(double min, double max, double step, int decimals)
{
    auto* box = new QDoubleSpinBox;
    box->setRange(min, max);
    box->setSingleStep(step);
    box->setDecimals(decimals);
    return box;
}

QSpinBox* integer(int min, int max)
{
    auto* box = new QSpinBox;
    box->setRange(min, max);
    return box;
}

const char* const kPresetGroup = "solverPresets";

// Built-in presets: the defaults, a quick look, and the naive baselines.
struct BuiltInPreset {
    const char* name;
    SolverSettingsValues (*make)();
};

const BuiltInPreset kBuiltIn[] = {
    {"Defaults (JIIO – Anderson)", [] { return SolverSettingsValues{}; }},
    {"Quick preview (15 iterations)",
     [] {
         SolverSettingsValues v;
         v.iterations = 15;
         return v;
     }},
    {"Naive Adam baseline",
     [] {
         SolverSettingsValues v;
         v.method = "naive-adam";
         v.iterations = 40;
         return v;
     }},
    {"Naive gradient descent baseline",
     [] {
         SolverSettingsValues v;
         v.method = "naive-gd";
         v.iterations = 40;
         return v;
     }},
};

const BuiltInPreset* builtIn(const QString& name)
{
    for (const auto& preset : kBuiltIn)
        if (name == QLatin1String(preset.name))
            return &preset;
    return nullptr;
}

} // namespace

SolverSettingsPanel::SolverSettingsPanel(QWidget* parent) : QWidget(parent)
{
    method_ = new QComboBox;
    method_->addItem(tr("JIIO – Anderson"), "jiio-anderson");
    method_->addItem(tr("JIIO – Picard"), "jiio-picard");
    method_->addItem(tr("Naive – Adam"), "naive-adam");
    method_->addItem(tr("Naive – gradient descent"), "naive-gd");
    iterations_ = integer(1, 100000);
    tolerance_ = number(1e-10, 1.0, 1e-6, 10);
    alphaZ_ = number(0.0, 1.0, 0.05, 3);
    alphaMu_ = number(0.0, 1.0, 0.05, 3);
    alphaX_ = number(0.0, 100.0, 0.001, 5);
    alphaXLate_ = number(0.0, 100.0, 0.001, 5);
    switchFraction_ = number(0.0, 1.0, 0.05, 3);
    memory_ = integer(1, 200);
    beta_ = number(0.0, 2.0, 0.1, 3);
    lambda_ = number(0.0, 1.0, 1e-4, 8);
    seed_ = integer(0, 2147483647);
    threads_ = integer(0, 256);
    threads_->setSpecialValueText(tr("all cores"));
    device_ = new QComboBox;
    device_->addItem("CPU", "cpu");
    deviceLabel_ = new QLabel(tr("Device"));

    // What each setting does and its usual range, where the user sets it.
    method_->setToolTip(tr("JIIO solves the state, the input and the adjoint in one fixed-point iteration "
                           "(Anderson-accelerated or plain Picard); the naive methods take gradient steps on the "
                           "input, each needing a full forward and adjoint equilibrium solve"));
    iterations_->setToolTip(tr("Iteration budget: JIIO iterations, or the naive method's outer steps. Usually 15–40; "
                               "a model's default is the budget it was trained for"));
    tolerance_->setToolTip(tr("Stop when the relative residual is below this. A model whose input is the image "
                              "stops at 3e-2 (its image changes by hundredths of a dB past that), others at 1e-5"));
    alphaZ_->setToolTip(tr("Step on the equilibrium state z (damping of z ← f(z, x)). Usually 0.5–1; lower it if "
                           "the state residual oscillates"));
    alphaMu_->setToolTip(tr("Step on the adjoint μ (the multiplier that carries the objective's gradient back "
                            "through the equilibrium). Usually 0.4–0.8"));
    alphaX_->setToolTip(tr("Step on the optimised input x: how far each iteration moves it down the objective's "
                           "gradient. Usually 0.003–0.03; 0 freezes the input (the ablation)"));
    alphaXLate_->setToolTip(tr("Step on x after the switch point: a smaller step to settle. Usually 0.1–0.5 × α x"));
    switchFraction_->setToolTip(tr("Fraction of the budget after which α x switches to its late value. Usually "
                                   "0.5–0.8"));
    memory_->setToolTip(tr("Anderson acceleration: how many past iterates are mixed. Usually 5–10; 1 is plain "
                           "damped iteration"));
    beta_->setToolTip(tr("Anderson mixing (β): 1 takes the extrapolated point, smaller values damp it. Usually "
                         "0.8–1"));
    lambda_->setToolTip(tr("Anderson regularisation (λ) of the small least-squares problem. Usually 1e-5–1e-3; raise "
                           "it if iterations jump"));
    seed_->setToolTip(tr("Random seed for the synthetic noise and any random start: the same seed gives the same "
                         "run"));
    threads_->setToolTip(tr("Compute threads (0: all cores)"));
    device_->setToolTip(tr("Where the solve runs"));

    presets_ = new QComboBox;
    presets_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    presets_->setMinimumContentsLength(10);
    presets_->setToolTip(tr("Named solver settings: built-in ones and your own"));
    auto* savePreset = new QPushButton(tr("Save…"));
    savePreset->setToolTip(tr("Save the current settings as a named preset"));
    auto* deletePreset = new QPushButton(tr("Delete"));
    connect(presets_, &QComboBox::activated, this, [this](int index) { applyPreset(presets_->itemText(index)); });
    connect(savePreset, &QPushButton::clicked, this, [this] {
        bool ok = false;
        const QString name = QInputDialog::getText(this, tr("Save preset"), tr("Preset name:"), QLineEdit::Normal,
                                                   QString(), &ok).trimmed();
        if (ok && !name.isEmpty())
            this->savePreset(name);
    });
    connect(deletePreset, &QPushButton::clicked, this, [this] { this->deletePreset(presets_->currentText()); });
    auto* presetRow = new QHBoxLayout;
    presetRow->addWidget(presets_, 1);
    presetRow->addWidget(savePreset);
    presetRow->addWidget(deletePreset);

    auto* form = new QFormLayout(this);
    form->addRow(tr("Preset"), presetRow);
    form->addRow(tr("Method"), method_);
    form->addRow(tr("Iterations"), iterations_);
    form->addRow(tr("Tolerance"), tolerance_);
    form->addRow(tr("α z"), alphaZ_);
    form->addRow(tr("α μ"), alphaMu_);
    form->addRow(tr("α x"), alphaX_);
    form->addRow(tr("α x after switch"), alphaXLate_);
    form->addRow(tr("Switch at (fraction)"), switchFraction_);
    form->addRow(tr("Anderson memory"), memory_);
    form->addRow(tr("Anderson β"), beta_);
    form->addRow(tr("Anderson λ"), lambda_);
    form->addRow(tr("Seed"), seed_);
    form->addRow(tr("Threads"), threads_);
    form->addRow(deviceLabel_, device_);
    setDevices({"cpu"});
    setValues(SolverSettingsValues{});
    refreshPresets();

    connect(method_, &QComboBox::currentIndexChanged, this, &SolverSettingsPanel::changed);
    connect(device_, &QComboBox::currentIndexChanged, this, &SolverSettingsPanel::changed);
    for (auto* box : {iterations_, memory_, seed_, threads_})
        connect(box, &QSpinBox::valueChanged, this, &SolverSettingsPanel::changed);
    for (auto* box : {tolerance_, alphaZ_, alphaMu_, alphaX_, alphaXLate_, switchFraction_, beta_, lambda_})
        connect(box, &QDoubleSpinBox::valueChanged, this, &SolverSettingsPanel::changed);
}

SolverSettingsValues SolverSettingsPanel::values() const
{
    SolverSettingsValues v;
    v.method = method_->currentData().toString();
    v.iterations = iterations_->value();
    v.tolerance = tolerance_->value();
    v.alphaZ = alphaZ_->value();
    v.alphaMu = alphaMu_->value();
    v.alphaX = alphaX_->value();
    v.alphaXLate = alphaXLate_->value();
    v.switchFraction = switchFraction_->value();
    v.andersonMemory = memory_->value();
    v.andersonBeta = beta_->value();
    v.andersonLambda = lambda_->value();
    v.seed = seed_->value();
    v.threads = threads_->value();
    v.device = device_->currentData().toString();
    return v;
}

void SolverSettingsPanel::setValues(const SolverSettingsValues& v)
{
    const int index = method_->findData(v.method);
    method_->setCurrentIndex(index >= 0 ? index : 0);
    iterations_->setValue(v.iterations);
    tolerance_->setValue(v.tolerance);
    alphaZ_->setValue(v.alphaZ);
    alphaMu_->setValue(v.alphaMu);
    alphaX_->setValue(v.alphaX);
    alphaXLate_->setValue(v.alphaXLate);
    switchFraction_->setValue(v.switchFraction);
    memory_->setValue(v.andersonMemory);
    beta_->setValue(v.andersonBeta);
    lambda_->setValue(v.andersonLambda);
    seed_->setValue(v.seed);
    threads_->setValue(v.threads);
    const int device = device_->findData(v.device);
    device_->setCurrentIndex(device >= 0 ? device : 0);
}

void SolverSettingsPanel::setDevices(const QStringList& devices)
{
    const QString current = device_->currentData().toString();
    device_->clear();
    for (const QString& device : devices)
        device_->addItem(device.toUpper(), device);
    const int index = device_->findData(current);
    device_->setCurrentIndex(index >= 0 ? index : 0);
    device_->setVisible(devices.size() > 1);
    deviceLabel_->setVisible(devices.size() > 1);
}

QStringList SolverSettingsPanel::presetNames() const
{
    QStringList names;
    for (const auto& preset : kBuiltIn)
        names << QString::fromLatin1(preset.name);
    QSettings settings;
    settings.beginGroup(kPresetGroup);
    QStringList user = settings.childGroups();
    user.sort(Qt::CaseInsensitive);
    for (const QString& name : user)
        names << QUrl::fromPercentEncoding(name.toLatin1());
    return names;
}

bool SolverSettingsPanel::applyPreset(const QString& name)
{
    if (const auto* preset = builtIn(name)) {
        SolverSettingsValues v = preset->make();
        v.threads = threads_->value(); // machine settings are not part of a preset
        v.device = device_->currentData().toString();
        setValues(v);
    } else if (presetNames().contains(name)) {
        QSettings settings;
        readGroup(settings, QString(kPresetGroup) + "/" + QString::fromLatin1(QUrl::toPercentEncoding(name)));
    } else {
        return false;
    }
    refreshPresets(name);
    return true;
}

void SolverSettingsPanel::savePreset(const QString& name)
{
    if (builtIn(name))
        return; // built-in names stay what they are
    QSettings settings;
    writeGroup(settings, QString(kPresetGroup) + "/" + QString::fromLatin1(QUrl::toPercentEncoding(name)));
    refreshPresets(name);
}

bool SolverSettingsPanel::deletePreset(const QString& name)
{
    if (builtIn(name) || !presetNames().contains(name))
        return false;
    QSettings settings;
    settings.remove(QString(kPresetGroup) + "/" + QString::fromLatin1(QUrl::toPercentEncoding(name)));
    refreshPresets();
    return true;
}

void SolverSettingsPanel::refreshPresets(const QString& selected)
{
    presets_->clear();
    presets_->addItems(presetNames());
    presets_->setCurrentIndex(selected.isEmpty() ? -1 : presets_->findText(selected));
}

void SolverSettingsPanel::load(QSettings& settings)
{
    readGroup(settings, "solver");
}

void SolverSettingsPanel::save(QSettings& settings) const
{
    writeGroup(settings, "solver");
}

void SolverSettingsPanel::readGroup(QSettings& settings, const QString& group)
{
    const SolverSettingsValues d;
    settings.beginGroup(group);
    SolverSettingsValues v;
    v.method = settings.value("method", d.method).toString();
    v.iterations = settings.value("iterations", d.iterations).toInt();
    v.tolerance = settings.value("tolerance", d.tolerance).toDouble();
    v.alphaZ = settings.value("alphaZ", d.alphaZ).toDouble();
    v.alphaMu = settings.value("alphaMu", d.alphaMu).toDouble();
    v.alphaX = settings.value("alphaX", d.alphaX).toDouble();
    v.alphaXLate = settings.value("alphaXLate", d.alphaXLate).toDouble();
    v.switchFraction = settings.value("switchFraction", d.switchFraction).toDouble();
    v.andersonMemory = settings.value("andersonMemory", d.andersonMemory).toInt();
    v.andersonBeta = settings.value("andersonBeta", d.andersonBeta).toDouble();
    v.andersonLambda = settings.value("andersonLambda", d.andersonLambda).toDouble();
    v.seed = settings.value("seed", d.seed).toInt();
    v.threads = settings.value("threads", threads_->value()).toInt();
    v.device = settings.value("device", device_->currentData().toString()).toString();
    settings.endGroup();
    setValues(v);
}

void SolverSettingsPanel::writeGroup(QSettings& settings, const QString& group) const
{
    const SolverSettingsValues v = values();
    settings.beginGroup(group);
    settings.setValue("method", v.method);
    settings.setValue("iterations", v.iterations);
    settings.setValue("tolerance", v.tolerance);
    settings.setValue("alphaZ", v.alphaZ);
    settings.setValue("alphaMu", v.alphaMu);
    settings.setValue("alphaX", v.alphaX);
    settings.setValue("alphaXLate", v.alphaXLate);
    settings.setValue("switchFraction", v.switchFraction);
    settings.setValue("andersonMemory", v.andersonMemory);
    settings.setValue("andersonBeta", v.andersonBeta);
    settings.setValue("andersonLambda", v.andersonLambda);
    settings.setValue("seed", v.seed);
    settings.setValue("threads", v.threads);
    settings.setValue("device", v.device);
    settings.endGroup();
}

} // namespace jiio::widgets
