#include "solvers/trace.h"

#include "io/atomic_file.h"
#include "numbers.h"

#include <iomanip>
#include <sstream>

namespace jiio {

void TraceRecorder::onIteration(const IterationStats& stats)
{
    rows_.push_back(stats);
    segments_.push_back(segment_);
}

void TraceRecorder::writeCsv(std::ostream& out) const
{
    out << "iter,time_s,objective,res_z,res_x,res_mu,res_total,f_evals,vjps,inner_iters,segment\n";
    auto number = [&out](double value) {
        if (std::isnan(value))
            out << "";
        else
            out << value;
    };
    out << std::setprecision(9);
    for (size_t i = 0; i < rows_.size(); ++i) {
        const auto& r = rows_[i];
        out << r.iteration << ',';
        number(r.elapsedSeconds);
        out << ',';
        number(r.objective);
        out << ',';
        number(r.residualZ);
        out << ',';
        number(r.residualX);
        out << ',';
        number(r.residualMu);
        out << ',';
        number(r.residualTotal);
        out << ',' << r.functionEvaluations << ',' << r.vjpCount << ',' << r.innerIterations << ','
            << segments_[i] << '\n';
    }
}

void TraceRecorder::saveCsv(const std::string& path) const
{
    auto out = classicStream();
    writeCsv(out);
    writeFileAtomically(path, out.str());
}

} // namespace jiio
