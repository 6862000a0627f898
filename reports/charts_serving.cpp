#include "reports/charts_serving.hpp"
#include "sim/strings.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace codesim::reports {

using namespace codesim::workloads;

namespace {

double ms(Duration d) { return d / Milliseconds(1); }

void add_slo(std::vector<svg::RefLine>& lines, const ServingSpec& spec) {
  if (auto slo = tpot_slo_ms(spec)) lines.push_back({true, *slo, "TPOT SLO " + sim::strprintf("%.1f ms", *slo)});
}

}  // namespace

std::optional<double> tpot_slo_ms(const ServingSpec& spec) {
  if (auto t = spec.slo.tpot_limit()) return ms(*t);
  return std::nullopt;
}

std::vector<DecodePoint> decode_curve(const ServingSpec& spec, const PoolPlan& plan, int max_points) {
  std::vector<DecodePoint> out;
  PoolPlan p = plan;
  p.batch_per_gpu = 0;
  const DecodeEstimate free_batch = estimate_decode(spec, p);
  if (!free_batch.memory.fits || free_batch.kv_capacity < 1) return out;
  std::vector<double> batches;
  for (double b = 1; b < free_batch.kv_capacity && static_cast<int>(batches.size()) + 1 < max_points; b *= 2)
    batches.push_back(b);
  batches.push_back(free_batch.kv_capacity);
  for (double b : batches) {
    p.batch_per_gpu = b;
    const DecodeEstimate e = estimate_decode(spec, p);
    if (!e.memory.fits || b > e.kv_capacity * (1 + 1e-9)) continue;
    out.push_back({b, ms(e.tpot), e.tokens_per_s_per_gpu, e.tokens_per_s_per_node, e.tokens_per_s_per_user});
  }
  return out;
}

svg::LineChart decode_curve_chart(const std::vector<DecodePoint>& curve, const DecodeEstimate& op,
                                  const ServingSpec& spec, const PoolPlan& plan) {
  svg::LineChart c;
  c.title = "Decode throughput against TPOT (EP" + std::to_string(plan.ep) + ", batch 1 to KV capacity)";
  c.x.label = "TPOT (ms)";
  c.y.label = "output tokens/s per node";
  svg::Series s{"batch 1 to KV capacity", {}};
  for (const auto& p : curve) s.points.push_back({p.tpot_ms, p.tokens_per_s_per_node, sim::strprintf("%.0f", p.batch_per_gpu)});
  c.series.push_back(std::move(s));
  if (op.memory.fits && op.batch_per_gpu > 0)
    c.series.push_back({"operating point", {{ms(op.tpot), op.tokens_per_s_per_node, sim::strprintf("%.1f/GPU", op.batch_per_gpu)}}});
  add_slo(c.ref_lines, spec);
  return c;
}

svg::LineChart size_candidates_chart(const std::vector<SizeCandidate>& shown, const ServingSpec& spec) {
  if (shown.empty()) return {};
  const SizeCandidate& best = shown.front();
  const ServingSpec s = candidate_spec(spec, best);  // the cheapest's own MTP depth
  svg::LineChart c = decode_curve_chart(decode_curve(s, best.decode), best.estimate.decode, s, best.decode);
  c.title = "Decode throughput against TPOT: cheapest deployment (EP" + std::to_string(best.decode.ep) +
            ") and runners-up";
  if (c.series.size() > 1) c.series[1].name = "#1 P" + std::to_string(best.prefill.ep) + "/D" +
                                               std::to_string(best.decode.ep) + " (cheapest)";
  for (size_t i = 1; i < shown.size(); ++i) {
    const auto& e = shown[i].estimate;
    const std::string label = "#" + std::to_string(i + 1) + " P" + std::to_string(shown[i].prefill.ep) + "/D" +
                              std::to_string(shown[i].decode.ep);
    c.series.push_back({label, {{ms(e.decode.tpot), e.decode.tokens_per_s_per_node, label}}});
  }
  return c;
}

svg::BarChart size_nodes_chart(const std::vector<SizeCandidate>& shown) {
  svg::BarChart c;
  c.title = "Nodes per deployment";
  c.y.label = "nodes";
  c.stacked = true;
  c.value_labels = true;
  c.stacks = {{"prefill nodes", {}}, {"decode nodes", {}}};
  for (size_t i = 0; i < shown.size(); ++i) {
    c.categories.push_back("#" + std::to_string(i + 1) + " P" + std::to_string(shown[i].prefill.ep) + "/D" +
                           std::to_string(shown[i].decode.ep));
    c.stacks[0].values.push_back(shown[i].estimate.prefill_nodes);
    c.stacks[1].values.push_back(shown[i].estimate.decode_nodes);
  }
  return c;
}

svg::BarChart kv_capacity_chart(const std::vector<KvConcurrency>& models) {
  svg::BarChart c;
  c.title = "KV cache capacity per model" +
            (models.empty() ? std::string() : " (" + sim::strprintf("%.0f", models[0].context) + "-token requests)");
  c.y.label = "concurrent requests per GPU";
  c.value_labels = true;
  c.stacks = {{"requests per GPU", {}}};
  for (const auto& k : models) {
    c.categories.push_back(k.model);
    c.stacks[0].values.push_back(k.requests_per_gpu);
  }
  return c;
}

svg::BarChart decode_limit_chart(const DecodeLimitFull& f) {
  svg::BarChart c;
  c.title = "TPOT from the paper's decode speed limit to the full model";
  c.y.label = "TPOT (ms)";
  c.value_labels = true;
  c.stacks = {{"TPOT", {}}};
  c.categories.push_back("paper limit");
  c.stacks[0].values.push_back(ms(f.paper.tpot));
  for (size_t i = 0; i < f.steps.size(); ++i) {
    c.categories.push_back(std::to_string(i + 1));
    c.stacks[0].values.push_back(ms(f.steps[i].tpot));
  }
  c.size.width = 900;
  return c;
}

nlohmann::json step_cost_trace(const std::string& name, const StepCost* decode, const StepCost* prefill) {
  using nlohmann::json;
  json events = json::array();
  auto us = [](Duration d) { return d / Microseconds(1); };
  auto pool = [&](int pid, const char* what, const StepCost& s) {
    events.push_back({{"name", "process_name"}, {"ph", "M"}, {"pid", pid},
                      {"args", {{"name", std::string(what) + " (one GPU, step model terms end to end)"}}}});
    events.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", pid}, {"tid", 0},
                      {"args", {{"name", "step terms"}}}});
    Duration t = Duration::zero();
    auto slice = [&](const char* n, const char* cat, Duration d, json args = json::object()) {
      if (d <= Duration::zero()) return;
      events.push_back({{"name", n}, {"cat", cat}, {"ph", "X"}, {"ts", us(t)}, {"dur", us(d)},
                        {"pid", pid}, {"tid", 0}, {"args", std::move(args)}});
      t = t + d;
    };
    slice("attention", "compute", s.attention);
    slice("dense GEMMs and other kernels", "compute", s.dense);
    slice("routed experts", "compute", s.experts);
    slice("attention TP collectives", "comm", s.tp_comm);
    slice("exposed all-to-all", "comm", s.exposed_comm,
          {{"all_to_all_us", us(s.comm)}, {"hidden_behind_compute_us", us(s.comm - s.exposed_comm)}});
    slice("MTP", "compute", s.mtp);
    // Whatever the step model adds beyond the listed terms (none today).
    if (s.total > t) slice("other", "other", s.total - t);
  };
  if (decode) pool(0, "decode step", *decode);
  if (prefill) pool(1, "prefill forward", *prefill);
  return {{"traceEvents", std::move(events)}, {"displayTimeUnit", "ms"},
          {"otherData",
           {{"producer", "codesim serve"},
            {"scenario", name},
            {"note", "analytic step model: slices are the terms of one step's cost laid end to end, "
                     "not a measured schedule; the request-level simulation exposes no per-request timeline"}}}};
}

}  // namespace codesim::reports
