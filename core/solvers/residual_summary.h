#pragma once
#include "torch_include.h"

#include <vector>

namespace jiio {

// What the tracker needs to judge one evaluated pair (v, G(v)), on the host in
// double: per row and per block of the state (the z, x and mu of JIIO, or the
// whole state), the squared norms of the change g = G(v) - v and of G(v), and
// the row's objective when the problem has one. A solver fills it in the
// same pass that updates its history, or summarizeResidual() does; either way
// it is read from the device once per iteration.
struct ResidualSummary {
    int64_t rows = 0;
    int64_t blocks = 1;
    std::vector<double> changeSquares; // [rows * blocks]
    std::vector<double> imageSquares;  // [rows * blocks]
    std::vector<double> objective;     // [rows], or empty

    ResidualSummary() = default;
    ResidualSummary(int64_t rowCount, int64_t blockCount);

    double changeSquare(int64_t row, int64_t block) const { return changeSquares[size_t(row * blocks + block)]; }
    double imageSquare(int64_t row, int64_t block) const { return imageSquares[size_t(row * blocks + block)]; }
    double rowChangeSquare(int64_t row) const;
    double rowImageSquare(int64_t row) const;
    // Mean over rows of |g_block| / |G(v)_block|.
    double meanRelativeChange(int64_t block) const;
    bool hasObjective() const { return !objective.empty(); }
    double meanObjective() const;

    // Copies a per-row objective tensor in (on the device: one read).
    void setObjective(const torch::Tensor& perRow);
};

// [rows, 2 * blocks] in double on gv's device: the squared norms of change
// per block, then those of gv.
torch::Tensor residualSquares(const torch::Tensor& gv, const torch::Tensor& change,
                              const std::vector<int64_t>& blocks);
// A summary from a host table [rows, >= 2 * blocks (+ 1)] laid out as
// residualSquares() with the objective in the next column when withObjective.
ResidualSummary readSummary(const torch::Tensor& hostTable, int64_t blocks, bool withObjective);

// The summary by tensor operations on any device, with one read to the host.
// blocks: sizes along dim 1 that add up to the state's length (empty: one
// block, the whole state).
ResidualSummary summarizeResidual(const torch::Tensor& gv, const torch::Tensor& change,
                                  const std::vector<int64_t>& blocks, const torch::Tensor& objective);

} // namespace jiio
