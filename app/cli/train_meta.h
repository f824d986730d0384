#pragma once
#include <QCommandLineParser>

#include <string>

namespace jiio {
class TrainingObserver;
}

namespace jiio::cli {

// `jiio train --task meta` (and --resume of a few-shot model's run): the
// options are runTrain's. Returns the exit status.
int trainMeta(const QCommandLineParser& parser, const std::string& output, TrainingObserver& progress);
int resumeMeta(const QCommandLineParser& parser, const std::string& output, TrainingObserver& progress);

} // namespace jiio::cli
