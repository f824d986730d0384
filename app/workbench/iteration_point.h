#pragma once
#include "core/solvers/observer.h"
#include "widgets/convergence_plot.h"

namespace jiio::workbench {

// A solver's per-iteration statistics as the plots take them.
widgets::ConvergencePoint toConvergencePoint(const IterationStats& stats);

} // namespace jiio::workbench
