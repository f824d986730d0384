#pragma once
#include <QCommandLineParser>

#include <string>

namespace jiio {
class TrainingObserver;
}

namespace jiio::cli {

// `jiio train --task classify|adversarial` (and --resume of a classifier's
// run): the options are runTrain's. Returns the exit status.
int trainClassifier(const QCommandLineParser& parser, const std::string& output, bool adversarial,
                    TrainingObserver& progress);
int resumeClassifier(const QCommandLineParser& parser, const std::string& output, TrainingObserver& progress);

} // namespace jiio::cli
