#include "test_support.h"

#include <QDir>
#include <QProcess>
#include <QStandardPaths>

namespace jiio::test {

ModelConfig tinyImagePriorConfig(int channels)
{
    ModelConfig config = ModelConfig::newImagePriorModel(channels);
    config.width = 8;
    config.scales = 2;
    config.groups = 2;
    return config;
}

ModelConfig tinyConfig(int channels)
{
    ModelConfig config;
    config.imageChannels = channels;
    config.width = 8;
    config.scales = 2;
    config.latentChannels = 4;
    config.latentStride = 4;
    config.groups = 2;
    config.tileSize = 32;
    config.tileOverlap = 8;
    config.imageSize = 16;
    config.jiioIterations = 10;
    return config;
}

DeqModel tinyModel(int channels, bool doublePrecision, uint64_t seed, bool observationInjection)
{
    torch::manual_seed(seed);
    ModelConfig config = tinyConfig(channels);
    config.imageConditioning = observationInjection;
    DeqModel model(config);
    if (doublePrecision)
        model->to(torch::kFloat64);
    model->eval();
    return model;
}

DeqModel tinyClassifier(bool doublePrecision, uint64_t seed)
{
    torch::manual_seed(seed);
    ModelConfig config = ModelConfig::newClassifierModel(1, 12, 3);
    config.width = 8;
    config.groups = 2;
    DeqModel model(config);
    if (doublePrecision)
        model->to(torch::kFloat64);
    model->eval();
    return model;
}

DeqModel tinyFewShotModel(bool doublePrecision, uint64_t seed)
{
    torch::manual_seed(seed);
    ModelConfig config = ModelConfig::newFewShotModel(1, 12, 3, 4, 4);
    config.width = 8;
    config.groups = 2;
    DeqModel model(config);
    if (doublePrecision)
        model->to(torch::kFloat64);
    model->eval();
    return model;
}

void scaleCellGains(DeqModel& model, double factor)
{
    torch::NoGradGuard noGrad;
    for (const auto& item : model->named_parameters()) {
        const std::string& key = item.key();
        if (key.rfind("conv", 0) == 0 && key.size() > 2 && key.compare(key.size() - 2, 2, ".g") == 0)
            item.value().mul_(factor);
    }
}

ParameterDirection::ParameterDirection(DeqModel& model, uint64_t seed) : model_(model)
{
    torch::manual_seed(seed);
    for (const auto& p : model_->parameters())
        directions_.push_back(torch::randn_like(p));
}

double ParameterDirection::gradientAlong() const
{
    double sum = 0;
    size_t i = 0;
    for (const auto& p : model_->parameters()) {
        if (p.grad().defined())
            sum += (p.grad() * directions_[i]).sum().item<double>();
        ++i;
    }
    return sum;
}

void ParameterDirection::shift(double by)
{
    torch::NoGradGuard noGrad;
    size_t i = 0;
    for (auto& p : model_->parameters())
        p.add_(by * directions_[i++]);
}

double ParameterDirection::centralDifference(double h, const std::function<double()>& loss)
{
    shift(h);
    const double up = loss();
    shift(-2 * h);
    const double down = loss();
    shift(h);
    return (up - down) / (2 * h);
}

QString cliPath()
{
    return QStringLiteral(JIIO_CLI_PATH);
}

QString commaLocaleFolder(QString* why)
{
    static const QString folder = QDir::temp().filePath("jiio-test-locales");
    static QString failure;
    static bool tried = false;
    if (!tried) {
        tried = true;
        QDir().mkpath(folder);
        QProcess localedef;
        localedef.start("localedef", {"-i", "de_DE", "-f", "UTF-8", QDir(folder).filePath(kCommaLocale)});
        if (!localedef.waitForFinished(120000) || localedef.exitStatus() != QProcess::NormalExit
            || !QFileInfo::exists(QDir(folder).filePath(QString(kCommaLocale) + "/LC_NUMERIC")))
            failure = "localedef could not build " + QString(kCommaLocale) + " (install Debian's locales): "
                + QString::fromLocal8Bit(localedef.readAllStandardError()).trimmed() + localedef.errorString();
    }
    if (why)
        *why = failure;
    return failure.isEmpty() ? folder : QString();
}

} // namespace jiio::test
