#include "iteration_point.h"

namespace jiio::workbench {

widgets::ConvergencePoint toConvergencePoint(const IterationStats& stats)
{
    widgets::ConvergencePoint point;
    point.iteration = stats.iteration;
    point.seconds = stats.elapsedSeconds;
    point.objective = stats.objective;
    point.residualZ = stats.residualZ;
    point.residualX = stats.residualX;
    point.residualMu = stats.residualMu;
    point.residualTotal = stats.residualTotal;
    return point;
}

} // namespace jiio::workbench
