#include "solver_settings_panel.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QSettings>
#include <QSpinBox>

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

    auto* form = new QFormLayout(this);
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
    setValues(SolverSettingsValues{});

    connect(method_, &QComboBox::currentIndexChanged, this, &SolverSettingsPanel::changed);
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
}

void SolverSettingsPanel::load(QSettings& settings)
{
    const SolverSettingsValues d;
    settings.beginGroup("solver");
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
    v.threads = settings.value("threads", d.threads).toInt();
    settings.endGroup();
    setValues(v);
}

void SolverSettingsPanel::save(QSettings& settings) const
{
    const SolverSettingsValues v = values();
    settings.beginGroup("solver");
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
    settings.endGroup();
}

} // namespace jiio::widgets
