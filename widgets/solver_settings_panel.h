#pragma once
#include <QString>
#include <QWidget>

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QSettings;
class QSpinBox;

namespace jiio::widgets {

// The solver settings as plain values (what a worker receives).
struct SolverSettingsValues {
    QString method = "jiio-anderson"; // jiio-anderson, jiio-picard, naive-adam, naive-gd
    int iterations = 30;
    double tolerance = 1e-5;
    double alphaZ = 0.8;
    double alphaMu = 0.6;
    double alphaX = 0.01;
    double alphaXLate = 0.003;
    double switchFraction = 0.625;
    int andersonMemory = 6;
    double andersonBeta = 1.0;
    double andersonLambda = 1e-4;
    int seed = 0;
    int threads = 0; // 0 = all cores
    QString device = "cpu"; // "cpu" or "cuda"
};

// Every solver knob, with values persisted through QSettings, and named
// presets: a few built in, any number saved by the user (also in QSettings).
class SolverSettingsPanel : public QWidget {
    Q_OBJECT
public:
    explicit SolverSettingsPanel(QWidget* parent = nullptr);

    SolverSettingsValues values() const;
    void setValues(const SolverSettingsValues& values);
    void load(QSettings& settings);
    void save(QSettings& settings) const;

    // The devices offered (e.g. {"cpu", "cuda"}); the choice is shown only
    // when there is more than one.
    void setDevices(const QStringList& devices);

    QStringList presetNames() const; // built-in first, then the user's
    bool applyPreset(const QString& name);
    void savePreset(const QString& name); // the current values; replaces a user preset of that name
    bool deletePreset(const QString& name); // user presets only
    QComboBox* presetCombo() const { return presets_; }

Q_SIGNALS:
    void changed();

private:
    void refreshPresets(const QString& selected = {});
    void readGroup(QSettings& settings, const QString& group);
    void writeGroup(QSettings& settings, const QString& group) const;

    QComboBox* presets_;
    QComboBox* method_;
    QSpinBox* iterations_;
    QDoubleSpinBox* tolerance_;
    QDoubleSpinBox* alphaZ_;
    QDoubleSpinBox* alphaMu_;
    QDoubleSpinBox* alphaX_;
    QDoubleSpinBox* alphaXLate_;
    QDoubleSpinBox* switchFraction_;
    QSpinBox* memory_;
    QDoubleSpinBox* beta_;
    QDoubleSpinBox* lambda_;
    QSpinBox* seed_;
    QSpinBox* threads_;
    QComboBox* device_;
    QLabel* deviceLabel_;
};

} // namespace jiio::widgets
