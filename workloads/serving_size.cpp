#include "workloads/serving_size.hpp"

#include <algorithm>

namespace codesim::workloads {

bool plan_for_ep(const ServingSpec& spec, const PoolPlan& base, int ep, PoolPlan& out) {
  const int gpn = spec.hardware.gpus_per_node;
  if (ep <= 0 || ep % gpn != 0) return false;
  out = base;
  out.ep = ep;
  out.nodes = ep / gpn;
  out.units = 0;
  if (spec.model.moe) {
    const int routed = spec.model.moe->n_routed_experts;
    const int slots = expert_slots_per_gpu(routed, base.redundant_experts, ep) * ep;
    out.redundant_experts = slots - routed;
  }
  return true;
}

SizeResult size_deployment(const ServingSpec& spec) {
  SizeResult r;
  std::vector<double> batches = spec.search.decode_batch;
  if (batches.empty()) batches.push_back(0);  // 0: largest feasible
  ServingSpec s = spec;
  for (int pep : spec.search.prefill_ep) {
    if (!plan_for_ep(spec, spec.prefill, pep, s.prefill)) continue;
    for (int dep : spec.search.decode_ep) {
      if (!plan_for_ep(spec, spec.decode, dep, s.decode)) continue;
      for (double b : batches) {
        s.decode.batch_per_gpu = b;
        ++r.evaluated;
        ServingEstimate e = estimate_serving(s, spec.search.integer_units);
        if (!e.meets_slo) {
          ++r.infeasible;
          continue;
        }
        r.ranked.push_back({s.prefill, s.decode, std::move(e)});
      }
    }
  }
  std::stable_sort(r.ranked.begin(), r.ranked.end(), [](const SizeCandidate& a, const SizeCandidate& b) {
    return a.estimate.cost_per_day_usd < b.estimate.cost_per_day_usd;
  });
  return r;
}

}  // namespace codesim::workloads
