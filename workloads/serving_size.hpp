// File: workloads/serving_size.hpp
//
// `codesim size`: searches deployments for the cheapest that carries the
// traffic within the SLOs. The space is the cartesian product of
// search.prefill_ep x search.decode_ep x search.decode_batch (empty: the
// largest feasible batch per decode EP size) x search.mtp_depth x
// search.kv_precision (empty: the scenario's own). For each EP size the unit is
// EP / gpus_per_node nodes and the redundant experts are rounded up so that
// every GPU holds the same number of expert slots (EPLB placement). Each
// candidate is priced by the steady-state estimate (serving_estimate.hpp);
// infeasible ones are kept out of the ranking and counted.
#pragma once

#include <functional>
#include <vector>

#include "workloads/serving.hpp"
#include "workloads/serving_estimate.hpp"

namespace codesim::workloads {

struct SizeCandidate {
  PoolPlan prefill;
  PoolPlan decode;  // carries the candidate's KV precision
  MtpSettings mtp;  // the candidate's MTP depth (acceptance as the scenario's)
  ServingEstimate estimate;
};

// `spec` with the candidate's pools and MTP settings: what the candidate
// is, for re-estimating or simulating it.
ServingSpec candidate_spec(const ServingSpec& spec, const SizeCandidate& c);

// The cheapest ranked candidate for each value of one searched dimension
// (MTP depth or KV precision), in the order the search lists the values;
// values with no feasible candidate are absent. What a choice is worth:
// the cost of the best deployment that makes it.
struct SizeOption {
  std::string value;  // "0", "1" (MTP depth) or "bf16", "fp8" (KV precision)
  size_t rank = 0;    // index into SizeResult::ranked
};

struct SizeResult {
  std::vector<SizeCandidate> ranked;  // feasible, cheapest first
  int evaluated = 0;
  int infeasible = 0;
  // Filled when the search tries more than one value of the dimension.
  std::vector<SizeOption> by_mtp_depth;
  std::vector<SizeOption> by_kv_precision;
};

// A pool plan for EP size `ep` derived from `base` (nodes, redundant experts).
// Returns false when `ep` is not a whole number of nodes.
bool plan_for_ep(const ServingSpec& spec, const PoolPlan& base, int ep, PoolPlan& out);

// `progress` (optional) is called after each pool estimate with (done,
// total): the estimates are the search's cost (each times its unit's
// all-to-all on the flow engine when the hardware has a fabric).
SizeResult size_deployment(const ServingSpec& spec,
                           const std::function<void(size_t done, size_t total)>& progress = {});

}  // namespace codesim::workloads
