// File: reports/charts_serving.hpp
//
// Pictures and traces of inference results, for `codesim serve` and
// `codesim size` (--report, --trace):
//
//   decode_curve              decode throughput against TPOT: the step model
//                             (workloads::estimate_decode) re-run with the
//                             decode batch fixed at 1, 2, 4, ... requests per
//                             GPU up to what the KV cache holds, plus the
//                             operating point; computed, not sampled
//   decode_curve_chart        that curve as a line chart, TPOT SLO marked
//   size_candidates_chart     the cheapest deployment's decode curve and the
//                             operating points of it and its runners-up,
//                             SLO marked
//   size_nodes_chart          prefill and decode nodes per candidate (stacked)
//   kv_capacity_chart         concurrent requests per GPU that the KV cache
//                             holds, per model (served model and comparison)
//   decode_limit_chart        TPOT from the paper's decode speed limit to the
//                             full step model, one bar per correction
//   step_cost_trace           Chrome trace of one decode step and one prefill
//                             forward as the step model decomposes them (see
//                             below)
//
// The serving model is analytic: it gives the cost of one step as a sum
// (compute = attention + dense GEMMs + routed experts + TP collectives, then
// the all-to-all not hidden behind compute, then MTP), not a schedule. The
// trace lays those terms end to end on one track per pool, so each slice's
// length is the model's number but its position is only the order of the
// sum; the hidden part of the all-to-all is an argument, not a slice. The
// request-level simulation (workloads/serving_sim.hpp) reports percentiles
// only, no per-request timeline, so there is nothing per request to trace.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reports/svg.hpp"
#include "workloads/decode_limit.hpp"
#include "workloads/inference_memory.hpp"
#include "workloads/serving_estimate.hpp"
#include "workloads/serving_size.hpp"

namespace codesim::reports {

struct DecodePoint {
  double batch_per_gpu = 0;
  double tpot_ms = 0;
  double tokens_per_s_per_gpu = 0;
  double tokens_per_s_per_node = 0;
  double tokens_per_s_per_user = 0;
};

// Feasible points only (weights fit, batch within the KV cache), batch
// ascending; at most `max_points` batch sizes (powers of two, then the KV
// capacity itself).
std::vector<DecodePoint> decode_curve(const workloads::ServingSpec& spec, const workloads::PoolPlan& plan,
                                      int max_points = 12);

svg::LineChart decode_curve_chart(const std::vector<DecodePoint>& curve, const workloads::DecodeEstimate& op,
                                  const workloads::ServingSpec& spec, const workloads::PoolPlan& plan);
// The cheapest deployment's decode curve (decode_curve of its decode plan),
// its operating point, and each runner-up's operating point as its own
// series (they often sit on the SLO together).
svg::LineChart size_candidates_chart(const std::vector<workloads::SizeCandidate>& shown,
                                     const workloads::ServingSpec& spec);
svg::BarChart size_nodes_chart(const std::vector<workloads::SizeCandidate>& shown);
svg::BarChart kv_capacity_chart(const std::vector<workloads::KvConcurrency>& models);
svg::BarChart decode_limit_chart(const workloads::DecodeLimitFull& f);

// One process per pool given (null: left out), one slice per step term.
nlohmann::json step_cost_trace(const std::string& name, const workloads::StepCost* decode,
                               const workloads::StepCost* prefill);

// The TPOT SLO in ms (ServingSpec::slo.tpot_limit()), if any.
std::optional<double> tpot_slo_ms(const workloads::ServingSpec& spec);

}  // namespace codesim::reports
