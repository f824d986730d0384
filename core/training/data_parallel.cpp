#include "training/data_parallel.h"

#include "error.h"

// The Gloo process group is compiled only with this definition (Debian's
// LibTorch is built with it; its header needs libgloo-dev).
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <zlib.h>

#include <chrono>

namespace jiio {

namespace {

constexpr int64_t kBucketElements = int64_t(4) << 20; // gradient values per all-reduce (32 MB in double precision)

bool isLoopback(const std::string& address)
{
    return address == "localhost" || address.rfind("127.", 0) == 0 || address == "::1";
}

// c10d reports a lost or silent peer as a c10::Error or std::runtime_error;
// say what it means for the run.
template <typename Call>
auto collective(const char* what, Call&& call)
{
    try {
        return call();
    } catch (const std::exception& e) {
        throw Error(std::string("data-parallel training: ") + what
                    + " failed — another training process stopped or did not answer in time (" + oneLine(e.what())
                    + ")");
    }
}

} // namespace

struct DataParallel::Group {
    c10::intrusive_ptr<c10d::Store> store;
    c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
};

void DataParallelOptions::validate() const
{
    if (worldSize < 1)
        throw Error("the world size must be at least 1");
    if (rank < 0 || rank >= worldSize)
        throw Error("the rank must be in [0, " + std::to_string(worldSize - 1) + "]");
    if (masterPort < 1 || masterPort > 65535)
        throw Error("the master port must be in [1, 65535]");
    if (masterAddress.empty())
        throw Error("the master address is empty");
    if (!(timeoutSeconds > 0))
        throw Error("the timeout must be positive");
}

DataParallel::DataParallel(const DataParallelOptions& options) : rank_(options.rank), worldSize_(options.worldSize)
{
    options.validate();
    const auto timeout = std::chrono::milliseconds(int64_t(options.timeoutSeconds * 1000));
    group_ = std::make_unique<Group>();
    collective("joining the other processes", [&] {
        c10d::TCPStoreOptions storeOptions;
        storeOptions.port = uint16_t(options.masterPort);
        storeOptions.isServer = options.rank == 0;
        storeOptions.numWorkers = size_t(options.worldSize);
        storeOptions.waitWorkers = true;
        storeOptions.timeout = timeout;
        group_->store = c10::make_intrusive<c10d::TCPStore>(options.masterAddress, storeOptions);
        auto glooOptions = c10d::ProcessGroupGloo::Options::create(timeout);
        glooOptions->devices.push_back(isLoopback(options.masterAddress)
                                           ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                           : c10d::ProcessGroupGloo::createDefaultDevice());
        group_->gloo =
            c10::make_intrusive<c10d::ProcessGroupGloo>(group_->store, options.rank, options.worldSize, glooOptions);
        return 0;
    });
}

DataParallel::~DataParallel() = default;

std::pair<int64_t, int64_t> DataParallel::shard(int64_t rows) const
{
    if (rows % worldSize_ != 0)
        throw Error("a batch of " + std::to_string(rows) + " does not divide among " + std::to_string(worldSize_)
                    + " training processes: choose a batch that is a multiple of the world size");
    const int64_t each = rows / worldSize_;
    return {rank_ * each, (rank_ + 1) * each};
}

void DataParallel::broadcastFromLeader(const std::vector<torch::Tensor>& tensors)
{
    torch::NoGradGuard noGrad;
    collective("sharing rank 0's parameters", [&] {
        for (const auto& tensor : tensors) {
            // In place on the CPU (to() returns the tensor itself there); a
            // GPU tensor goes through a host copy, since Gloo works in host memory.
            std::vector<at::Tensor> one{tensor.detach().to(torch::kCPU)};
            group_->gloo->broadcast(one)->wait();
            if (!tensor.is_cpu())
                tensor.detach().copy_(one.front());
        }
        return 0;
    });
}

void DataParallel::startRun(const std::string& recipe, int step, const std::vector<torch::Tensor>& parameters)
{
    const std::string run = recipe + "\nstep = " + std::to_string(step);
    // The run's CRC-32, all-reduced as its minimum and its maximum: equal
    // everywhere exactly when every rank computed the same one.
    const auto checksum = int64_t(crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(run.data()), uInt(run.size())));
    const bool same = collective("comparing the ranks' runs", [&] {
        std::vector<at::Tensor> lowest{torch::tensor({checksum}, torch::kInt64)};
        std::vector<at::Tensor> highest{torch::tensor({checksum}, torch::kInt64)};
        c10d::AllreduceOptions minimum, maximum;
        minimum.reduceOp = c10d::ReduceOp::MIN;
        maximum.reduceOp = c10d::ReduceOp::MAX;
        group_->gloo->allreduce(lowest, minimum)->wait();
        group_->gloo->allreduce(highest, maximum)->wait();
        return lowest.front().item<int64_t>() == highest.front().item<int64_t>();
    });
    if (!same)
        throw Error("data-parallel training: the training processes disagree on the run (options, seed or step): "
                    "start every rank with the same command, and resume every rank from the same checkpoint");
    broadcastFromLeader(parameters);
}

DataParallel::StepAgreement DataParallel::averageGradients(const std::vector<torch::Tensor>& parameters, double loss,
                                                           bool stopRequested)
{
    torch::NoGradGuard noGrad;
    // Summed in double precision: every rank gets the same bits back, and
    // float32 gradients lose nothing in the sum.
    struct Bucket {
        std::vector<size_t> members;
        std::vector<torch::Tensor> parts;
        int64_t elements = 0;
    };
    std::vector<Bucket> buckets(1);
    for (size_t i = 0; i < parameters.size(); ++i) {
        const auto& parameter = parameters[i];
        if (buckets.back().elements > 0 && buckets.back().elements + parameter.numel() > kBucketElements)
            buckets.emplace_back();
        const auto gradient = parameter.grad();
        buckets.back().members.push_back(i);
        // Gloo reduces host memory: gradients on a GPU come over first.
        buckets.back().parts.push_back(gradient.defined() ? gradient.reshape({-1}).to(torch::kCPU, torch::kFloat64)
                                                          : torch::zeros({parameter.numel()}, torch::kFloat64));
        buckets.back().elements += parameter.numel();
    }
    // The loss and the stop request ride at the end of the first bucket.
    buckets.front().parts.push_back(torch::tensor({loss, stopRequested ? 1.0 : 0.0}, torch::kFloat64));

    StepAgreement agreement;
    collective("averaging the gradients", [&] {
        for (size_t b = 0; b < buckets.size(); ++b) {
            std::vector<at::Tensor> flat{torch::cat(buckets[b].parts)};
            group_->gloo->allreduce(flat)->wait();
            const auto mean = flat.front() / double(worldSize_);
            int64_t offset = 0;
            for (const size_t i : buckets[b].members) {
                const auto& parameter = parameters[i];
                const auto slice =
                    mean.narrow(0, offset, parameter.numel()).view(parameter.sizes()).to(parameter.device(), parameter.dtype());
                if (parameter.grad().defined())
                    parameter.mutable_grad().copy_(slice);
                else
                    parameter.mutable_grad() = slice;
                offset += parameter.numel();
            }
            if (b == 0) {
                agreement.meanLoss = mean[offset].item<double>();
                agreement.stop = flat.front()[offset + 1].item<double>() > 0;
            }
        }
        return 0;
    });
    return agreement;
}

} // namespace jiio
