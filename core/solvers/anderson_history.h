#pragma once
#include "solvers/residual_summary.h"
#include "torch_include.h"

#include <vector>

namespace jiio {

// Anderson acceleration's memory: G(v_i) and g_i = G(v_i) - v_i of the last
// few evaluations in preallocated ring buffers, and the Gram matrix of the
// residuals on the host in double (one per group of coupled rows).
//
// On the CPU, storing a pair, its new Gram row and the tracker's summary take
// one pass over the state and mixing one more, both spread over LibTorch's
// threads; the state is read and written far fewer times than by separate
// tensor operations, and nothing waits on the device for a small read. On
// other devices (or when asked) the same steps are tensor operations with one
// read to the host per pair.
class AndersonHistory {
public:
    enum class Kernels { Automatic, Fused, Tensor };

    // blockWeights (one per block, or empty for all 1) scale each block's
    // share of the Gram matrix, so the mixing weights favour driving the
    // heavier blocks' residuals down; the reported summary stays unweighted.
    // Blocks flagged in unmixedBlocks take the newest image G(v) in mix()
    // (their residuals still count in the fit).
    AndersonHistory(const torch::Tensor& v0, int memory, int64_t coupledRows, std::vector<int64_t> blocks,
                    Kernels kernels = Kernels::Automatic, std::vector<double> blockWeights = {},
                    std::vector<bool> unmixedBlocks = {});

    // Stores (v, G(v)) in the next slot, adds the new row and column of the
    // Gram matrix, and returns the pair's summary (with the objective, when
    // defined).
    ResidualSummary add(const torch::Tensor& v, const torch::Tensor& gv, const torch::Tensor& objective);

    // The next iterate sum_i w_i (G(v_i) - (1 - beta) g_i) (on unmixed blocks
    // the newest G(v)), with weights that
    // minimise |sum_i w_i g_i| subject to sum_i w_i = 1 (regularised by
    // lambda relative to the residuals' size). Undefined when the small
    // system stays singular however much it is regularised.
    torch::Tensor mix(double lambda, double beta) const;

    int filled() const { return filled_; }
    bool fused() const { return fused_; }
    // The Gram matrix of a group of coupled rows [filled x filled], row-major.
    std::vector<double> gram(int64_t group) const;

private:
    struct Segment {
        int64_t row, block, begin, end;
    };
    ResidualSummary addFused(const torch::Tensor& v, const torch::Tensor& gv, std::vector<double>& dots);
    ResidualSummary addWithTensors(const torch::Tensor& v, const torch::Tensor& gv, const torch::Tensor& objective,
                                   std::vector<double>& dots);
    torch::Tensor mixFused(const std::vector<double>& imageWeights, const std::vector<double>& residualWeights) const;
    std::vector<double> solveWeights(int64_t group, double lambda) const;

    int64_t rows_, length_, memory_, group_;
    torch::TensorOptions options_;
    std::vector<int64_t> blocks_;
    std::vector<double> blockWeights_; // empty: every block weighs 1
    torch::Tensor weightRow_;          // the tensor path's [1, length] weights, when not all 1
    std::vector<bool> unmixed_;        // per block: mix() passes G(v) through
    bool fused_;
    std::vector<Segment> segments_;
    // One [rows, length] tensor per slot, allocated as the slot is first
    // used: blocks this size come from the heap and are reused by the next
    // solve, where one large block would be mapped afresh and page-faulted in.
    std::vector<torch::Tensor> images_, residuals_;
    std::vector<double> gram_;         // [groups, memory, memory]
    int slot_ = -1, filled_ = 0;
};

} // namespace jiio
