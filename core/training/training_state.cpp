#include "training/training_state.h"

#include "error.h"
#include "models/model_device.h"
#include "numbers.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace jiio {

void writeTrainingState(torch::serialize::OutputArchive& archive, const TrainingState& state,
                        torch::optim::Optimizer& optimizer, const std::mt19937_64& random)
{
    std::ostringstream randomState;
    randomState << random;
    torch::serialize::OutputArchive optimizerArchive;
    optimizer.save(optimizerArchive);
    archive.write("optimizer", optimizerArchive);
    archive.write("training_step", c10::IValue(int64_t(state.step)));
    archive.write("training_options", c10::IValue(state.optionsText));
    archive.write("training_random", c10::IValue(randomState.str()));
    archive.write("torch_random", at::detail::getDefaultCPUGenerator().get_state(), /*is_buffer=*/true);
    // "psnr" in the name: the key files written before classifiers existed use.
    archive.write("training_best_psnr", c10::IValue(state.bestScore));
    archive.write("training_best_step", c10::IValue(int64_t(state.bestStep)));
    archive.write("training_seconds", c10::IValue(state.seconds));
}

ReadTrainingState readTrainingState(torch::serialize::InputArchive& archive, const std::string& path)
{
    ReadTrainingState result;
    c10::IValue step, optionsText, randomText, bestScore, bestStep, seconds;
    if (!archive.try_read("training_step", step) || !archive.try_read("training_options", optionsText)
        || !archive.try_read("training_random", randomText) || !archive.try_read("optimizer", result.optimizer))
        throw Error("cannot resume from '" + path + "': it holds no training state");
    archive.read("torch_random", result.torchRandom, /*is_buffer=*/true);
    archive.try_read("training_best_psnr", bestScore);
    archive.try_read("training_best_step", bestStep);
    if (archive.try_read("training_seconds", seconds) && seconds.isDouble())
        result.state.seconds = seconds.toDouble();
    result.state.step = int(step.toInt());
    result.state.optionsText = optionsText.toStringRef();
    if (bestScore.isDouble() && bestStep.isInt()) {
        result.state.bestScore = bestScore.toDouble();
        result.state.bestStep = int(bestStep.toInt());
    }
    std::istringstream randomState(randomText.toStringRef());
    randomState >> result.random;
    return result;
}

void ReadTrainingState::restoreTorchRandom() const
{
    auto generator = at::detail::getDefaultCPUGenerator();
    generator.set_state(torchRandom);
}

void placeTraining(DeqModel& model, torch::optim::Optimizer& optimizer, const torch::Device& device)
{
    placeModel(model, device);
    // Through the optimiser's own archive, which maps every tensor it holds to
    // the device on loading: Optimizer has no `to` of its own.
    torch::serialize::OutputArchive saved;
    optimizer.save(saved);
    std::ostringstream bytes;
    saved.save_to(bytes);
    std::istringstream in(bytes.str());
    torch::serialize::InputArchive moved;
    moved.load_from(in, device);
    optimizer.load(moved);
}

std::map<std::string, double> readOptionNumbers(const std::string& text)
{
    std::map<std::string, double> values;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        const auto eq = line.find(" = ");
        if (eq == std::string::npos)
            continue;
        const auto number = parseDouble(line.substr(eq + 3));
        if (!number)
            throw Error("training options: '" + line.substr(0, eq) + "' is not a number");
        values[line.substr(0, eq)] = *number;
    }
    return values;
}

double cosineLearningRate(double peak, int step, int steps)
{
    constexpr double kPi = 3.14159265358979323846;
    const double progress = std::min(double(step) / double(std::max(steps, 1)), 1.0);
    return peak * 0.5 * (1.0 + std::cos(kPi * progress));
}

void setLearningRate(torch::optim::Adam& optimizer, double rate)
{
    for (auto& group : optimizer.param_groups())
        static_cast<torch::optim::AdamOptions&>(group.options()).lr(rate);
}

bool clippedAdamStep(torch::optim::Adam& optimizer, const std::vector<torch::Tensor>& parameters, double clip,
                     double rate, double loss)
{
    const double norm = torch::nn::utils::clip_grad_norm_(parameters, clip);
    setLearningRate(optimizer, rate);
    if (!std::isfinite(loss) || !std::isfinite(norm))
        return false;
    optimizer.step();
    return true;
}

} // namespace jiio
