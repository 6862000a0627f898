// File: workloads/serving_size.hpp
//
// `codesim size`: searches deployments for the cheapest that carries the
// traffic within the SLOs. The space is the cartesian product of
// search.prefill_ep x search.decode_ep x search.decode_batch (empty: the
// largest feasible batch per decode EP size). For each EP size the unit is
// EP / gpus_per_node nodes and the redundant experts are rounded up so that
// every GPU holds the same number of expert slots (EPLB placement). Each
// candidate is priced by the steady-state estimate (serving_estimate.hpp);
// infeasible ones are kept out of the ranking and counted.
#pragma once

#include <vector>

#include "workloads/serving.hpp"
#include "workloads/serving_estimate.hpp"

namespace codesim::workloads {

struct SizeCandidate {
  PoolPlan prefill;
  PoolPlan decode;
  ServingEstimate estimate;
};

struct SizeResult {
  std::vector<SizeCandidate> ranked;  // feasible, cheapest first
  int evaluated = 0;
  int infeasible = 0;
};

// A pool plan for EP size `ep` derived from `base` (nodes, redundant experts).
// Returns false when `ep` is not a whole number of nodes.
bool plan_for_ep(const ServingSpec& spec, const PoolPlan& base, int ep, PoolPlan& out);

SizeResult size_deployment(const ServingSpec& spec);

}  // namespace codesim::workloads
