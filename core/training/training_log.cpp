#include "training/training_log.h"

#include "error.h"
#include "io/atomic_file.h"
#include "numbers.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace jiio {

namespace {

constexpr const char* kColumns = "step,loss,learning_rate,%s,adjoint_residual,seconds,skipped_steps";

std::string headerFor(const std::string& validationMetric)
{
    std::string header = kColumns;
    header.replace(header.find("%s"), 2, validationMetric);
    return header;
}

// Empty for a value the step does not have (no validation, no adjoint solve).
std::string cell(double value)
{
    return std::isfinite(value) ? formatDouble(value) : std::string();
}

std::string rowText(const TrainingLogRow& row)
{
    return std::to_string(row.step) + "," + cell(row.loss) + "," + cell(row.learningRate) + ","
        + cell(row.validation) + "," + cell(row.adjointResidual) + "," + cell(row.seconds) + ","
        + std::to_string(row.skippedSteps) + "\n";
}

std::vector<std::string> splitCells(const std::string& line)
{
    std::vector<std::string> cells;
    std::stringstream in(line);
    std::string item;
    while (std::getline(in, item, ','))
        cells.push_back(item);
    if (!line.empty() && line.back() == ',')
        cells.emplace_back();
    return cells;
}

} // namespace

std::string TrainingLog::pathFor(const std::string& checkpointPath)
{
    const std::filesystem::path checkpoint(checkpointPath);
    return (checkpoint.parent_path() / (checkpoint.stem().string() + ".log.csv")).string();
}

std::vector<TrainingLogRow> TrainingLog::read(const std::string& path, std::string* validationMetric)
{
    std::ifstream in(path);
    if (!in)
        throw Error("cannot read the training log '" + path + "'");
    std::string line;
    std::getline(in, line);
    const auto header = splitCells(line);
    if (header.size() != 7 || header[0] != "step" || header[1] != "loss" || header[6] != "skipped_steps")
        throw Error("'" + path + "' is not a training log (its first line should name the columns step,loss,...)");
    if (validationMetric)
        *validationMetric = header[3];
    std::vector<TrainingLogRow> rows;
    int lineNumber = 1;
    while (std::getline(in, line)) {
        ++lineNumber;
        if (line.empty())
            continue;
        const auto cells = splitCells(line);
        auto number = [&](size_t i) {
            if (cells[i].empty())
                return std::nan("");
            const auto value = parseDouble(cells[i]);
            if (!value)
                throw Error("training log '" + path + "', line " + std::to_string(lineNumber) + ": '" + cells[i]
                            + "' is not a number");
            return *value;
        };
        if (cells.size() != 7) {
            if (!in.eof()) // the last line of a run killed mid-write may be cut short
                throw Error("training log '" + path + "', line " + std::to_string(lineNumber) + " has "
                            + std::to_string(cells.size()) + " fields, not 7");
            break;
        }
        TrainingLogRow row;
        row.step = int(number(0));
        row.loss = number(1);
        row.learningRate = number(2);
        row.validation = number(3);
        row.adjointResidual = number(4);
        row.seconds = number(5);
        row.skippedSteps = int(number(6));
        rows.push_back(row);
    }
    return rows;
}

TrainingLog::TrainingLog(const std::string& checkpointPath, int step, const std::string& validationMetric)
    : path_(pathFor(checkpointPath))
{
    // A resumed run keeps the rows its checkpoint covers.
    std::string kept = headerFor(validationMetric) + "\n";
    if (step > 0 && std::filesystem::exists(path_)) {
        try {
            for (const auto& row : read(path_))
                if (row.step <= step) {
                    kept += rowText(row);
                    secondsBefore_ = row.seconds;
                }
        } catch (const Error&) {
            // An unreadable old log is replaced: the new one starts at this step.
        }
    }
    writeFileAtomically(path_, kept);
    file_ = std::fopen(path_.c_str(), "a");
    if (!file_)
        throw Error("cannot append to the training log '" + path_ + "'");
}

TrainingLog::~TrainingLog()
{
    if (file_)
        std::fclose(file_);
}

void TrainingLog::append(const TrainingProgress& progress, double sessionSeconds, int skippedSteps)
{
    TrainingLogRow row;
    row.step = progress.step;
    row.loss = progress.loss;
    row.learningRate = progress.learningRate;
    row.validation = std::isfinite(progress.validationPsnr) ? progress.validationPsnr : progress.validationAccuracy;
    row.adjointResidual = progress.adjointResidual;
    row.seconds = secondsBefore_ + sessionSeconds;
    row.skippedSteps = skippedSteps;
    const std::string text = rowText(row);
    // Flushed per row so that a killed run's log holds every finished step.
    if (std::fputs(text.c_str(), file_) < 0 || std::fflush(file_) != 0)
        throw Error("cannot append to the training log '" + path_ + "' (disk full?)");
}

} // namespace jiio
