#include "solvers/residual_summary.h"

#include <cmath>

namespace jiio {

namespace {
constexpr double kTiny = 1e-12;
}

ResidualSummary::ResidualSummary(int64_t rowCount, int64_t blockCount)
    : rows(rowCount), blocks(blockCount), changeSquares(size_t(rowCount * blockCount), 0.0),
      imageSquares(size_t(rowCount * blockCount), 0.0)
{
}

double ResidualSummary::rowChangeSquare(int64_t row) const
{
    double sum = 0;
    for (int64_t b = 0; b < blocks; ++b)
        sum += changeSquare(row, b);
    return sum;
}

double ResidualSummary::rowImageSquare(int64_t row) const
{
    double sum = 0;
    for (int64_t b = 0; b < blocks; ++b)
        sum += imageSquare(row, b);
    return sum;
}

double ResidualSummary::meanRelativeChange(int64_t block) const
{
    if (rows == 0)
        return 0;
    double sum = 0;
    for (int64_t r = 0; r < rows; ++r)
        sum += std::sqrt(changeSquare(r, block)) / (std::sqrt(imageSquare(r, block)) + kTiny);
    return sum / double(rows);
}

double ResidualSummary::meanObjective() const
{
    double sum = 0;
    for (double value : objective)
        sum += value;
    return objective.empty() ? 0.0 : sum / double(objective.size());
}

void ResidualSummary::setObjective(const torch::Tensor& perRow)
{
    objective.clear();
    if (!perRow.defined())
        return;
    const auto host = perRow.detach().reshape({-1}).to(torch::kCPU, torch::kDouble).contiguous();
    const double* data = host.data_ptr<double>();
    objective.assign(data, data + host.numel());
}

torch::Tensor residualSquares(const torch::Tensor& gv, const torch::Tensor& change, const std::vector<int64_t>& blocks)
{
    torch::NoGradGuard noGrad;
    const std::vector<int64_t> sizes = blocks.empty() ? std::vector<int64_t>{gv.size(1)} : blocks;
    std::vector<torch::Tensor> columns; // [rows] each
    for (const auto* source : {&change, &gv})
        for (const auto& part : source->split_with_sizes(sizes, 1))
            columns.push_back(part.square().sum(1, /*keepdim=*/false, torch::kDouble));
    return torch::stack(columns, 1);
}

ResidualSummary readSummary(const torch::Tensor& hostTable, int64_t blocks, bool withObjective)
{
    const auto table = hostTable.to(torch::kDouble).contiguous();
    const double* data = table.data_ptr<double>();
    const int64_t rows = table.size(0), width = table.size(1);
    TORCH_CHECK(width >= 2 * blocks + (withObjective ? 1 : 0), "a residual table of ", width, " columns");
    ResidualSummary summary(rows, blocks);
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t b = 0; b < blocks; ++b) {
            summary.changeSquares[size_t(r * blocks + b)] = data[r * width + b];
            summary.imageSquares[size_t(r * blocks + b)] = data[r * width + blocks + b];
        }
        if (withObjective)
            summary.objective.push_back(data[r * width + 2 * blocks]);
    }
    return summary;
}

ResidualSummary summarizeResidual(const torch::Tensor& gv, const torch::Tensor& change,
                                  const std::vector<int64_t>& blocks, const torch::Tensor& objective)
{
    torch::NoGradGuard noGrad;
    auto table = residualSquares(gv, change, blocks);
    if (objective.defined())
        table = torch::cat({table, objective.detach().reshape({gv.size(0), 1}).to(torch::kDouble)}, 1);
    const auto blockCount = blocks.empty() ? int64_t(1) : int64_t(blocks.size());
    return readSummary(table.to(torch::kCPU), blockCount, objective.defined()); // the one read
}

} // namespace jiio
