#pragma once
#include "solvers/observer.h"

#include <ostream>
#include <string>
#include <vector>

namespace jiio {

// Collects per-iteration statistics and writes them as a CSV trace:
//   iter,time_s,objective,res_z,res_x,res_mu,res_total,f_evals,vjps,inner_iters,segment
// `segment` numbers the independent solves of one run (e.g. image tiles).
class TraceRecorder : public SolveObserver {
public:
    void onIteration(const IterationStats& stats) override;
    void onSegment(int index, int /*count*/) override { segment_ = index; }

    const std::vector<IterationStats>& rows() const { return rows_; }
    void writeCsv(std::ostream& out) const;
    // Atomic write to a file.
    void saveCsv(const std::string& path) const;

private:
    std::vector<IterationStats> rows_;
    std::vector<int> segments_;
    int segment_ = 0;
};

} // namespace jiio
