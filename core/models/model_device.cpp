#include "models/model_device.h"

#include "error.h"

#include <charconv>

namespace jiio {

namespace {

void checkAvailable(const torch::Device& device)
{
    if (!device.is_cuda())
        return;
    if (!at::hasCUDA())
        throw Error("CUDA was asked for, but this LibTorch was built without CUDA; build against an official CUDA "
                    "LibTorch (cmake -DTorch_DIR=...) to compute on a GPU");
    const auto count = int(torch::cuda::device_count());
    if (count == 0)
        throw Error("CUDA was asked for, but no CUDA device is available on this machine");
    if (device.has_index() && device.index() >= count)
        throw Error("there is no CUDA device " + std::to_string(device.index()) + " (this machine has " +
                    std::to_string(count) + ")");
}

} // namespace

torch::Device parseDevice(const std::string& text)
{
    const auto unknown = [&] {
        return Error("unknown device '" + text + "' (expected cpu, cuda or cuda:N)");
    };
    torch::Device device(torch::kCPU);
    if (text == "cpu") {
        device = torch::Device(torch::kCPU);
    } else if (text == "cuda") {
        device = torch::Device(torch::kCUDA, 0);
    } else if (text.rfind("cuda:", 0) == 0) {
        const char* first = text.data() + 5;
        const char* last = text.data() + text.size();
        int index = -1;
        const auto [end, error] = std::from_chars(first, last, index);
        if (error != std::errc() || end != last || first == last || index < 0 || index > 255)
            throw unknown();
        device = torch::Device(torch::kCUDA, c10::DeviceIndex(index));
    } else {
        throw unknown();
    }
    checkAvailable(device);
    return device;
}

void placeModel(DeqModel& model, const torch::Device& device)
{
    checkAvailable(device);
    if (modelDevice(model) != device)
        model->to(device);
}

torch::Tensor randnLikeFromCpu(const torch::Tensor& like)
{
    return torch::randn(like.sizes(), like.options().device(torch::kCPU)).to(like.device());
}

torch::Device modelDevice(const DeqModel& model)
{
    const auto parameters = model->parameters();
    return parameters.empty() ? torch::Device(torch::kCPU) : parameters.front().device();
}

} // namespace jiio
