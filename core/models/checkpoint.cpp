#include "models/checkpoint.h"

#include "error.h"
#include "io/atomic_file.h"
#include "io/zip_integrity.h"

#include <filesystem>
#include <sstream>

namespace jiio {

namespace {

const char* const kConfigKey = "jiio_config";
const char* const kModelKey = "model";

torch::serialize::InputArchive openArchive(const std::string& path)
{
    if (!std::filesystem::exists(path))
        throw Error("cannot read model '" + path + "': no such file");
    if (const std::string problem = zipIntegrityProblem(path); !problem.empty())
        throw Error("cannot read model '" + path + "': the file is corrupt or not a JIIO checkpoint (" + problem + ")");
    torch::serialize::InputArchive archive;
    try {
        // Onto the CPU whatever device wrote it (a run trained on a GPU
        // checkpoints its tensors there): commands place the model after.
        archive.load_from(path, torch::Device(torch::kCPU));
    } catch (const std::exception&) {
        throw Error("cannot read model '" + path + "': the file is corrupt or not a JIIO checkpoint");
    }
    return archive;
}

ModelConfig configFrom(torch::serialize::InputArchive& archive, const std::string& path)
{
    c10::IValue value;
    if (!archive.try_read(kConfigKey, value) || !value.isString())
        throw Error("cannot read model '" + path + "': it has no JIIO configuration");
    try {
        return ModelConfig::fromText(value.toStringRef());
    } catch (const Error& e) {
        throw Error("cannot read model '" + path + "': " + e.what());
    }
}

} // namespace

void saveModel(const std::string& path, DeqModel& model,
               const std::function<void(torch::serialize::OutputArchive&)>& extra)
{
    torch::serialize::OutputArchive archive;
    archive.write(kConfigKey, c10::IValue(model->config().toText()));
    torch::serialize::OutputArchive modelArchive;
    model->save(modelArchive);
    archive.write(kModelKey, modelArchive);
    if (extra)
        extra(archive);
    std::ostringstream bytes;
    archive.save_to(bytes);
    writeFileAtomically(path, bytes.str());
}

LoadedModel loadModel(const std::string& path, const std::function<void(torch::serialize::InputArchive&)>& extra)
{
    auto archive = openArchive(path);
    LoadedModel loaded;
    loaded.path = path;
    loaded.config = configFrom(archive, path);
    loaded.model = DeqModel(loaded.config);
    try {
        torch::serialize::InputArchive modelArchive;
        archive.read(kModelKey, modelArchive);
        loaded.model->load(modelArchive);
        if (extra)
            extra(archive);
    } catch (const Error&) {
        throw;
    } catch (const std::exception&) {
        throw Error("cannot read model '" + path + "': its parameters do not match its configuration");
    }
    loaded.model->eval();
    return loaded;
}

ModelConfig readModelConfig(const std::string& path)
{
    auto archive = openArchive(path);
    return configFrom(archive, path);
}

DeqModel loadModelToFineTune(const std::string& path)
{
    DeqModel model = loadModel(path).model;
    const auto notes = model->config().provenance; // a copy: the notes change below
    auto note = [&](const char* key) {
        const auto it = notes.find(key);
        return it == notes.end() ? std::string() : it->second;
    };
    const bool trained = !note("training").empty() || !note("training_steps").empty() || !note("command").empty();
    if (!trained)
        return model; // a fresh model from `jiio init`: nothing to hand on
    std::string how = note("training");
    if (how.empty())
        how = note("training_steps").empty() ? "trained" : note("training_steps") + " steps";
    if (!note("training_seconds").empty())
        how += ", " + note("training_seconds") + " s";
    std::string origin = std::filesystem::path(path).filename().string() + " (" + how + ")";
    if (!note("fine_tuned_from").empty())
        origin += ", itself fine-tuned from " + note("fine_tuned_from");
    for (const char* runNote : {"command", "best_step", "best_validation", "validation_accuracy", "wall_time", "card",
                                "exported_by", "weights_from", "training", "training_seconds", "training_steps"})
        model->eraseProvenance(runNote);
    model->setProvenance("fine_tuned_from", origin);
    return model;
}

int copyMatchingParameters(DeqModel& model, const DeqModel& source)
{
    torch::NoGradGuard noGrad;
    const auto from = source->named_parameters();
    int copied = 0;
    for (auto& item : model->named_parameters()) {
        const torch::Tensor* match = from.find(item.key());
        if (match && match->sizes() == item.value().sizes()) {
            item.value().copy_(*match);
            ++copied;
        }
    }
    return copied;
}

} // namespace jiio
