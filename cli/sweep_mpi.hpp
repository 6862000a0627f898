// The MPI driver of `codesim sweep`: rank 0 hands out point indices on
// request (dynamic load balancing, since points differ in cost) and also
// evaluates points in a thread of its own; every row is gathered into rank
// 0's JSON Lines file. Without MPI (or outside mpirun) it is not used.
#pragma once

#include "scenarios/sweep_runner.hpp"

namespace codesim::cli {

// True when this process was started by mpirun/srun with more than one rank.
bool launched_under_mpi();

// Runs the sweep over all ranks. Only rank 0 returns the rows (sorted by
// index); other ranks return an empty summary with total set.
scenarios::SweepRunSummary run_sweep_mpi(const scenarios::SweepSpec& spec,
                                         const config::Node& base, const std::string& base_path,
                                         const scenarios::Evaluator& eval,
                                         const scenarios::SweepRunOptions& options, int& rank);

}  // namespace codesim::cli
