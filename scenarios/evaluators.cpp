#include "scenarios/evaluators.hpp"

#include "scenarios/scenario.hpp"
#include "scenarios/sweep.hpp"
#include "topology/cost.hpp"
#include "topology/generators.hpp"
#include "topology/stats.hpp"
#include "workloads/serving_estimate.hpp"
#include "workloads/serving_fleet.hpp"
#include "workloads/serving_sim.hpp"
#include "workloads/training_setup.hpp"

namespace codesim::scenarios {

namespace {

PointResult skipped(std::string reason) {
  PointResult r;
  r.status = PointResult::Status::kSkipped;
  r.reason = std::move(reason);
  return r;
}

// Reads the scenario; on error returns the first diagnostic as the reason.
bool read_point(const config::Node& tree, Scenario& s, PointResult& fail) {
  config::Diagnostics d;
  if (!read_scenario(tree, s, d)) {
    fail = skipped(d.list().empty() ? "invalid scenario" : d.list().front().str());
    return false;
  }
  return true;
}

PointResult evaluate_topology(const config::Node& tree, const std::string&) {
  Scenario s;
  PointResult r;
  if (!read_point(tree, s, r)) return r;
  if (!s.cluster) return skipped("the scenario has no 'cluster' section");
  if (std::string why = topology::check_fabric(*s.cluster); !why.empty()) return skipped(why);
  topology::Fabric f = topology::build_fabric(*s.cluster, s.name);
  std::string err;
  auto cost = topology::price_fabric(f, s.cluster->price_list, err);
  if (!cost) return skipped(err);
  topology::FabricStats st = topology::compute_stats(f);
  r.metrics["endpoints"] = static_cast<double>(st.endpoints);
  r.metrics["switches"] = static_cast<double>(st.switches);
  r.metrics["switch_links"] = static_cast<double>(st.switch_links);
  r.metrics["diameter_hops"] = st.diameter;
  r.metrics["bisection_GBps"] = st.bisection.bytes_per_second() / 1e9;
  r.metrics["fabric_cost_usd"] = cost->fabric_usd();
  r.metrics["total_cost_usd"] = cost->total_usd();
  r.metrics["cost_per_endpoint_usd"] =
      st.endpoints > 0 ? cost->fabric_usd() / static_cast<double>(st.endpoints) : 0.0;
  r.text["fabric_kind"] = f.kind;
  return r;
}

// The training step: fast (analytic communication, list-scheduled pipeline,
// about 10 ms a point) or full (communication replayed on the fabric's flow
// engine, seconds a point at 2,048 GPUs).
PointResult evaluate_train_with(const config::Node& tree, workloads::CommTiming timing) {
  Scenario s;
  PointResult r;
  if (!read_point(tree, s, r)) return r;
  if (!s.cluster || !s.plan || !s.training)
    return skipped("the scenario needs the sections cluster, plan and training");
  if (std::string why = topology::check_fabric(*s.cluster); !why.empty()) return skipped(why);
  // The fast model is exact only on a non-blocking switched fabric under a
  // balanced routing: a direct network's links, an oversubscribed leaf's
  // uplinks (its closed form is an upper bound: FT2 4:1 45.95 s against the
  // replay's 38.87) and ECMP's hash collisions (19.69 against 24.54 s) are
  // only seen by the flow engine, so such points are replayed (about 0.4 s
  // each at 2,048 GPUs; the row's comm_timing says which).
  if (timing == workloads::CommTiming::kAnalytic && !workloads::analytic_is_exact(*s.cluster, training_network(s)))
    timing = workloads::CommTiming::kFlow;
  s.training->comm = timing;
  workloads::TrainingInputs in;
  config::Diagnostics d;
  if (!training_inputs(s, tree, in, d)) return skipped(d.list().empty() ? "invalid plan" : d.list().front().str());
  std::string err;
  const workloads::TrainingResult t = workloads::simulate_training(in, err);
  if (!err.empty()) return skipped(err);
  r.metrics["step_time_s"] = t.step.seconds();
  r.metrics["tokens_per_day"] = t.tokens_per_day;
  r.metrics["days_per_trillion_tokens"] = t.tokens_per_day > 0 ? 1e12 / t.tokens_per_day : 0;
  r.metrics["mfu_causal"] = t.mfu_causal;
  r.metrics["gpu_hours_per_trillion_tokens"] = t.gpu_hours_per_trillion_tokens;
  r.metrics["usd_per_trillion_tokens_rental"] = t.usd_per_trillion_rental;
  r.metrics["usd_per_trillion_tokens_owned"] = t.usd_per_trillion_owned;
  r.metrics["fabric_cost_usd"] = t.owned_fabric_usd;
  if (const int64_t eps = s.cluster->num_endpoints(); eps > 0)
    r.metrics["fabric_cost_per_endpoint_usd"] = t.owned_fabric_usd / static_cast<double>(eps);
  r.metrics["gpus"] = t.gpus;
  // The rank that needs the most HBM: what decides whether the plan fits.
  r.metrics["memory_GB"] = t.memory_peak.total().as_double() / 1e9;
  r.metrics["mfu_noncausal"] = t.mfu_noncausal;
  // The overlapped F&B chunk pair of pipeline rank 4 (a stage of 4 MoE
  // layers, as in profile-data train.json).
  if (t.fb.size() > 4) r.metrics["fb_pair_rank4_ms"] = t.fb[4][0] / Milliseconds(1);
  // One MoE layer's compute-stream kernels per pass (T29, per pass).
  r.metrics["moe_compute_f_ms"] = t.moe_compute_f / Milliseconds(1);
  r.metrics["moe_compute_b_ms"] = t.moe_compute_b / Milliseconds(1);
  r.metrics["moe_compute_w_ms"] = t.moe_compute_w / Milliseconds(1);
  // ... and its DeepEP all-to-alls (the busiest GPU's wait included).
  r.metrics["moe_dispatch_f_ms"] = t.dispatch_f / Milliseconds(1);
  r.metrics["moe_combine_f_ms"] = t.combine_f / Milliseconds(1);
  r.metrics["moe_dispatch_b_ms"] = t.dispatch_b / Milliseconds(1);
  r.metrics["moe_combine_b_ms"] = t.combine_b / Milliseconds(1);
  // ISCA'25 Table 4's components, for the reported pipeline rank.
  r.metrics["table4_1f_s"] = t.breakdown.f.seconds();
  r.metrics["table4_bubble_s"] = t.breakdown.bubble.seconds();
  r.metrics["table4_1b_s"] = t.breakdown.b.seconds();
  r.metrics["table4_1w_s"] = t.breakdown.w.seconds();
  r.metrics["table4_1f1b_s"] = t.breakdown.fb.seconds();
  r.metrics["table4_opt_s"] = t.breakdown.opt.seconds();
  r.text["fabric_kind"] = std::string(config::enum_to_string(s.cluster->fabric.kind));
  r.text["comm_timing"] = t.comm_timing;
  // What the training model says it leaves out of this point's time.
  for (const auto& n : t.notes)
    if (n.rfind("WARNING", 0) == 0) r.text["warning"] += (r.text["warning"].empty() ? "" : " | ") + n;
  return r;
}

PointResult evaluate_train(const config::Node& tree, const std::string&) {
  return evaluate_train_with(tree, workloads::CommTiming::kAnalytic);
}
PointResult evaluate_train_full(const config::Node& tree, const std::string&) {
  return evaluate_train_with(tree, workloads::CommTiming::kFlow);
}

// The fast steady-state serving estimate (pool sizes from the traffic); with
// `full`, the pools are replayed as one fleet on the fabric and re-sized at
// the shared rates (serving.hardware.fleet_replay), then the request-level
// simulation of those pools replaces the latency and per-node throughput
// metrics (serving.simulate sets its length).
PointResult evaluate_serve_with(const config::Node& tree, bool full) {
  Scenario s;
  PointResult r;
  if (!read_point(tree, s, r)) return r;
  if (!s.serving) return skipped("the scenario has no 'serving' section");
  workloads::ServingEstimate e = workloads::estimate_serving(*s.serving, s.serving->search.units);
  if (!e.decode.feasible) return skipped("decode infeasible: " + e.decode.limited_by);
  // With `full`, the pools sized with units alone are replayed as one fleet
  // on the fabric and re-sized at the shared rates (as `codesim size`).
  workloads::ServingSpec spec = *s.serving;
  if (full && spec.hardware.fleet_replay && spec.hardware.fabric) {
    const workloads::FleetEstimate fe = workloads::estimate_with_fleet(spec, e, spec.search.units);
    if (fe.estimate) {
      e = *fe.estimate;
      spec = fe.spec;
      if (fe.fleet.prefill_alone_ps > 0 && fe.fleet.prefill_shared_ps > 0)
        r.metrics["fleet_prefill_comm_slowdown"] = fe.fleet.prefill_shared_ps / fe.fleet.prefill_alone_ps;
      if (fe.fleet.decode_alone_ps > 0 && fe.fleet.decode_shared_ps > 0)
        r.metrics["fleet_decode_comm_slowdown"] = fe.fleet.decode_shared_ps / fe.fleet.decode_alone_ps;
      if (!e.decode.feasible) return skipped("decode infeasible on the shared fabric: " + e.decode.limited_by);
    }
    r.text["fleet"] = fe.fleet.note;
  }
  r.metrics["total_nodes"] = e.total_nodes;
  r.metrics["prefill_nodes"] = e.prefill_nodes;
  r.metrics["decode_nodes"] = e.decode_nodes;
  r.metrics["cost_per_day_usd"] = e.cost_per_day_usd;
  r.metrics["usd_per_m_output"] = e.usd_per_m_output;
  r.metrics["usd_per_m_input"] = e.usd_per_m_input;
  r.metrics["tpot_s"] = e.decode.tpot.seconds();
  r.metrics["tokens_per_s_per_user"] = e.decode.tokens_per_s_per_user;
  r.metrics["decode_tokens_per_s_per_node"] = e.decode.tokens_per_s_per_node;
  r.metrics["decode_batch_per_gpu"] = e.decode.batch_per_gpu;
  r.metrics["meets_slo"] = e.meets_slo ? 1 : 0;
  r.metrics["prefill_input_tokens_per_s_per_node"] = e.prefill.input_tokens_per_s_per_node;
  // The load per node in use of the pools as counted (search.units): what a
  // fleet's average per node measures.
  r.metrics["decode_tokens_per_s_per_node_average"] = e.output_tokens_per_s_per_decode_node;
  r.metrics["prefill_input_tokens_per_s_per_node_average"] = e.input_tokens_per_s_per_prefill_node;
  if (!e.meets_slo) r.text["why_not"] = e.why_not;
  if (full) {
    if (const std::string why = spec.simulate_problem(); !why.empty())
      return skipped("serving.simulate: " + why);
    const workloads::SimResult sim = workloads::simulate_serving(spec, e);
    if (sim.completed == 0) return skipped("the request-level simulation completed no request");
    r.metrics["tpot_s"] = sim.tpot.mean;
    r.metrics["tokens_per_s_per_user"] = sim.tpot.mean > 0 ? 1.0 / sim.tpot.mean : 0;
    r.metrics["decode_tokens_per_s_per_node_average"] = sim.output_tokens_per_s_per_decode_node;
    r.metrics["prefill_input_tokens_per_s_per_node_average"] = sim.input_tokens_per_s_per_prefill_node;
    r.metrics["tpot_p99_s"] = sim.tpot.p99;
    r.metrics["ttft_p50_s"] = sim.ttft.p50;
    r.metrics["ttft_p99_s"] = sim.ttft.p99;
    r.metrics["requests_completed"] = static_cast<double>(sim.completed);
  }
  return r;
}

PointResult evaluate_serve(const config::Node& tree, const std::string&) { return evaluate_serve_with(tree, false); }
PointResult evaluate_serve_full(const config::Node& tree, const std::string&) {
  return evaluate_serve_with(tree, true);
}

}  // namespace

namespace {

// Every metric each evaluator may report (a point reports the conditional
// ones, marked, only where they exist), in the order of the code above.
const std::vector<std::string> kTopologyMetrics = {
    "endpoints", "switches", "switch_links", "diameter_hops", "bisection_GBps", "fabric_cost_usd", "total_cost_usd",
    "cost_per_endpoint_usd"};
const std::vector<std::string> kTrainMetrics = {
    "step_time_s", "tokens_per_day", "days_per_trillion_tokens", "mfu_causal", "gpu_hours_per_trillion_tokens",
    "usd_per_trillion_tokens_rental", "usd_per_trillion_tokens_owned", "fabric_cost_usd",
    "fabric_cost_per_endpoint_usd", "gpus", "memory_GB", "mfu_noncausal",
    "fb_pair_rank4_ms",  // with more than 4 pipeline ranks
    "moe_compute_f_ms", "moe_compute_b_ms", "moe_compute_w_ms", "moe_dispatch_f_ms", "moe_combine_f_ms",
    "moe_dispatch_b_ms", "moe_combine_b_ms", "table4_1f_s", "table4_bubble_s", "table4_1b_s", "table4_1w_s",
    "table4_1f1b_s", "table4_opt_s"};
const std::vector<std::string> kServeMetrics = {
    "total_nodes", "prefill_nodes", "decode_nodes", "cost_per_day_usd", "usd_per_m_output", "usd_per_m_input",
    "tpot_s", "tokens_per_s_per_user", "decode_tokens_per_s_per_node", "decode_batch_per_gpu", "meets_slo",
    "prefill_input_tokens_per_s_per_node", "decode_tokens_per_s_per_node_average",
    "prefill_input_tokens_per_s_per_node_average"};
std::vector<std::string> serve_full_metrics() {
  std::vector<std::string> m = kServeMetrics;
  for (const char* extra : {"fleet_prefill_comm_slowdown", "fleet_decode_comm_slowdown",  // with a fleet replay
                            "tpot_p99_s", "ttft_p50_s", "ttft_p99_s", "requests_completed"})
    m.push_back(extra);
  return m;
}

}  // namespace

void register_builtin_evaluators() {
  register_evaluator("train", "fast training step model: step time, MFU, $/1T tokens", evaluate_train,
                     kTrainMetrics);
  register_evaluator("train-full",
                     "training step with its communication replayed on the fabric (flow engine)",
                     evaluate_train_full, kTrainMetrics);
  register_evaluator("serve", "steady-state serving estimate: nodes, $/day, TPOT", evaluate_serve, kServeMetrics);
  register_evaluator("serve-full", "serving estimate, then the request-level simulation of its pools",
                     evaluate_serve_full, serve_full_metrics());
  register_evaluator("topology", "fabric size, cost and bisection of the scenario's cluster",
                     evaluate_topology, kTopologyMetrics);
}

}  // namespace codesim::scenarios
