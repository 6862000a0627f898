#include "workloads/serving_size.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>

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

ServingSpec candidate_spec(const ServingSpec& spec, const SizeCandidate& c) {
  ServingSpec s = spec;
  s.prefill = c.prefill;
  s.decode = c.decode;
  s.mtp = c.mtp;
  return s;
}

namespace {

// The cheapest ranked candidate per value of `key`, in the order of `values`.
template <class T, class Key>
std::vector<SizeOption> options(const std::vector<SizeCandidate>& ranked, const std::vector<T>& values, Key key,
                                std::string (*name)(T)) {
  std::vector<SizeOption> out;
  if (values.size() < 2) return out;
  for (const T& v : values) {
    for (size_t i = 0; i < ranked.size(); ++i)
      if (key(ranked[i]) == v) {
        out.push_back({name(v), i});
        break;
      }
  }
  return out;
}

std::string depth_name(int d) { return std::to_string(d); }
std::string kv_name(models::KvPrecision p) { return std::string(config::enum_to_string(p)); }

}  // namespace

SizeResult size_deployment(const ServingSpec& spec, const std::function<void(size_t, size_t)>& progress) {
  SizeResult r;
  std::vector<double> batches = spec.search.decode_batch;
  if (batches.empty()) batches.push_back(0);  // 0: largest feasible
  std::vector<int> depths = spec.search.mtp_depth;
  if (depths.empty()) depths.push_back(spec.mtp.depth);
  std::vector<models::KvPrecision> kvs = spec.search.kv_precision;
  if (kvs.empty()) kvs.push_back(spec.decode.kv_precision);
  // Pool estimates to make (an upper bound: EP sizes of whole nodes, each once).
  const size_t total = depths.size() * kvs.size() *
                       (std::set<int>(spec.search.prefill_ep.begin(), spec.search.prefill_ep.end()).size() +
                        std::set<int>(spec.search.decode_ep.begin(), spec.search.decode_ep.end()).size() *
                            batches.size());
  size_t done = 0;
  auto tick = [&] {
    ++done;
    if (progress) progress(std::min(done, total), total);
  };
  ServingSpec s = spec;
  for (int depth : depths) {
    s.mtp.depth = depth;
    for (models::KvPrecision kv : kvs) {
      s.decode.kv_precision = kv;  // the prefill keeps its own plan; its KV transfer follows the decode's
      // Each pool's estimate depends on its own plan (and the MTP depth and
      // KV precision), not on the other pool's: make each once.
      std::map<int, std::pair<PoolPlan, PrefillEstimate>> prefills;
      for (int pep : spec.search.prefill_ep) {
        PoolPlan p;
        if (prefills.count(pep) || !plan_for_ep(spec, spec.prefill, pep, p)) continue;
        prefills.emplace(pep, std::pair{p, estimate_prefill(s, p)});
        tick();
      }
      std::map<std::pair<int, size_t>, std::pair<PoolPlan, DecodeEstimate>> decodes;
      std::set<int> prefill_seen;
      for (int pep : spec.search.prefill_ep) {
        const auto pit = prefills.find(pep);
        if (pit == prefills.end() || !prefill_seen.insert(pep).second) continue;  // a listed twice: once
        s.prefill = pit->second.first;
        std::set<int> decode_seen;
        for (int dep : spec.search.decode_ep) {
          PoolPlan d;
          if (!decode_seen.insert(dep).second || !plan_for_ep(spec, spec.decode, dep, d)) continue;
          d.kv_precision = kv;
          for (size_t bi = 0; bi < batches.size(); ++bi) {
            d.batch_per_gpu = batches[bi];
            auto dit = decodes.find({dep, bi});
            if (dit == decodes.end()) {
              dit = decodes.emplace(std::pair{dep, bi}, std::pair{d, estimate_decode(s, d)}).first;
              tick();
            }
            s.decode = d;
            ++r.evaluated;
            ServingEstimate e = estimate_serving(s, pit->second.second, dit->second.second, spec.search.units);
            if (!e.meets_slo) {
              ++r.infeasible;
              continue;
            }
            r.ranked.push_back({s.prefill, s.decode, s.mtp, std::move(e)});
          }
        }
      }
    }
  }
  // Cheapest first; at equal cost (whole units often tie) the lower mean
  // TTFT, then the lower TPOT.
  std::stable_sort(r.ranked.begin(), r.ranked.end(), [](const SizeCandidate& a, const SizeCandidate& b) {
    const double ca = a.estimate.cost_per_day_usd, cb = b.estimate.cost_per_day_usd;
    if (ca != cb) return ca < cb;  // (exact: a tolerance would not be a strict weak order)
    if (a.estimate.ttft != b.estimate.ttft) return a.estimate.ttft < b.estimate.ttft;
    return a.estimate.decode.tpot < b.estimate.decode.tpot;
  });
  r.by_mtp_depth = options(r.ranked, depths, [](const SizeCandidate& c) { return c.mtp.depth; }, depth_name);
  r.by_kv_precision =
      options(r.ranked, kvs, [](const SizeCandidate& c) { return c.decode.kv_precision; }, kv_name);
  return r;
}

}  // namespace codesim::workloads
