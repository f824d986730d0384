#pragma once
#include "torch_include.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace jiio {

// Where a training process stands among the others of a data-parallel run.
struct DataParallelOptions {
    int worldSize = 1;
    int rank = 0;
    std::string masterAddress = "127.0.0.1"; // rank 0's host, which holds the rendezvous store
    int masterPort = 29500;
    // How long a rank waits for the others (to join, or inside a step) before
    // it gives up with an error: longer than the slowest rank's step.
    double timeoutSeconds = 300;

    void validate() const; // throws jiio::Error
};

// Data-parallel training on LibTorch's c10d with the Gloo backend: the ranks
// meet at a TCP store on rank 0's host, start from rank 0's parameters, each
// trains on its own rows of every global batch, and their gradients are
// averaged every step (in a few flat buckets, not one call per tensor). A
// rank that dies or hangs makes the others fail with an error once the
// timeout passes, instead of waiting for ever.
class DataParallel {
public:
    explicit DataParallel(const DataParallelOptions& options); // the rendezvous; throws jiio::Error
    ~DataParallel();
    DataParallel(const DataParallel&) = delete;
    DataParallel& operator=(const DataParallel&) = delete;

    int rank() const { return rank_; }
    int worldSize() const { return worldSize_; }
    // Rank 0 validates and writes the checkpoints, the best model and the log.
    bool isLeader() const { return rank_ == 0; }

    // This rank's rows [begin, end) of a global batch of `rows`, which must
    // divide evenly (so that the averaged gradient is the global batch's).
    std::pair<int64_t, int64_t> shard(int64_t rows) const;

    // Overwrites every tensor with rank 0's values.
    void broadcastFromLeader(const std::vector<torch::Tensor>& tensors);

    // Before the first step of a run (or of a resumed one): checks that every
    // rank is about to run the same `recipe` (options and seed, as text) from
    // the same `step`, and throws jiio::Error on every rank when not, instead
    // of training on overlapping rows or waiting for a step that another rank
    // will never take; then gives every rank rank 0's `parameters`
    // (identical already when every rank read the same file; now certainly).
    void startRun(const std::string& recipe, int step, const std::vector<torch::Tensor>& parameters);

    struct StepAgreement {
        double meanLoss = 0; // over the ranks
        bool stop = false;   // some rank was asked to stop
    };
    // Replaces each parameter's gradient by its mean over the ranks (missing
    // gradients count as zero) and agrees on the step's loss and on stopping.
    StepAgreement averageGradients(const std::vector<torch::Tensor>& parameters, double loss, bool stopRequested);

private:
    struct Group;
    std::unique_ptr<Group> group_;
    int rank_ = 0;
    int worldSize_ = 1;
};

} // namespace jiio
