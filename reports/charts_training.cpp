#include "reports/charts_training.hpp"

#include <algorithm>

namespace codesim::reports {

using workloads::PipeOp;
using workloads::PipeOpKind;
using workloads::TrainingResult;

namespace {

// A micro-batch's label: one prime per direction or chunk past the first
// (DualPipe's second direction: 3'; interleaved 1F1B's chunk 2: 3'').
std::string mb(int index, int dir, bool marked) {
  return std::to_string(index) + (marked && dir > 0 ? std::string(static_cast<size_t>(dir), '\'') : "");
}

bool marks_directions(const TrainingResult& r) {
  return workloads::is_dual(r.program.schedule) || r.program.schedule == workloads::PipelineSchedule::kInterleaved;
}

}  // namespace

std::string pipe_op_category(PipeOpKind k) {
  switch (k) {
    case PipeOpKind::kF: return "F";
    case PipeOpKind::kB:
    case PipeOpKind::kBInput: return "B";
    case PipeOpKind::kW: return "W";
    case PipeOpKind::kFB: return "FB";
  }
  return "?";
}

std::string pipe_op_name(const PipeOp& op, bool dualpipe) {
  switch (op.kind) {
    case PipeOpKind::kF: return "F" + mb(op.fwd_mb, op.fwd_dir, dualpipe);
    case PipeOpKind::kB:
    case PipeOpKind::kBInput: return "B" + mb(op.bwd_mb, op.bwd_dir, dualpipe);
    case PipeOpKind::kW: return "W" + mb(op.bwd_mb, op.bwd_dir, dualpipe);
    case PipeOpKind::kFB:
      return "F" + mb(op.fwd_mb, op.fwd_dir, dualpipe) + "B" + mb(op.bwd_mb, op.bwd_dir, dualpipe);
  }
  return "?";
}

svg::GanttChart training_timeline_chart(const TrainingResult& r) {
  svg::GanttChart c;
  c.title = "Step timeline per pipeline rank";
  c.x.label = "time (s)";
  const bool dp = marks_directions(r);
  const size_t ranks = std::max(r.op_times.size(), r.per_rank.size());
  for (size_t i = 0; i < ranks; ++i) c.lanes.push_back("rank " + std::to_string(i));
  for (size_t rank = 0; rank < r.op_times.size() && rank < r.program.ops.size(); ++rank) {
    const auto& ops = r.program.ops[rank];
    const auto& times = r.op_times[rank];
    for (size_t i = 0; i < ops.size() && i < times.size(); ++i)
      c.bars.push_back({static_cast<int>(rank), times[i].first.seconds(), times[i].second.seconds(),
                        pipe_op_category(ops[i].kind), pipe_op_name(ops[i], dp)});
  }
  for (size_t rank = 0; rank < r.dp_tail.size(); ++rank)
    c.bars.push_back({static_cast<int>(rank), r.dp_tail[rank].first.seconds(), r.dp_tail[rank].second.seconds(),
                      "DP+opt", "DP+opt"});
  // Colours follow the categories' first appearance: sort so that they do
  // not depend on the schedule (F, B, W, FB, DP+opt).
  static const std::vector<std::string> kOrder = {"F", "B", "W", "FB", "DP+opt"};
  std::stable_sort(c.bars.begin(), c.bars.end(), [](const svg::GanttBar& a, const svg::GanttBar& b) {
    auto ia = std::find(kOrder.begin(), kOrder.end(), a.category) - kOrder.begin();
    auto ib = std::find(kOrder.begin(), kOrder.end(), b.category) - kOrder.begin();
    return ia < ib;
  });
  c.size.width = 1060;
  c.size.height = std::max(300, 80 + 28 * static_cast<int>(ranks));
  return c;
}

svg::BarChart training_breakdown_chart(const TrainingResult& r) {
  svg::BarChart c;
  c.title = "Table 4 breakdown per pipeline rank";
  c.y.label = "time (s)";
  c.stacked = true;
  const char* names[] = {"1F", "bubble", "1B", "1W", "1F1B", "opt"};
  for (const char* n : names) c.stacks.push_back({n, {}});
  for (size_t i = 0; i < r.per_rank.size(); ++i) {
    const auto& t = r.per_rank[i];
    c.categories.push_back(std::to_string(i));
    const Duration parts[] = {t.f, t.bubble, t.b, t.w, t.fb, t.opt};
    for (size_t k = 0; k < 6; ++k) c.stacks[k].values.push_back(parts[k].seconds());
  }
  c.size.width = 1060;
  return c;
}

svg::BarChart training_cost_chart(const TrainingResult& r, double lifetime_years) {
  svg::BarChart c;
  c.title = "Cost per trillion training tokens";
  c.y.label = "USD per 1T tokens";
  c.stacked = true;
  c.value_labels = true;
  c.categories = {"rental", "owned"};
  // Owned = (hardware + fabric) / lifetime hours x hours per 1T tokens + power.
  const double hours_per_trillion = r.gpus > 0 ? r.gpu_hours_per_trillion_tokens / r.gpus : 0.0;
  const double lifetime_hours = lifetime_years * 365.25 * 24.0;
  const double hw = lifetime_hours > 0 ? r.owned_capex_usd / lifetime_hours * hours_per_trillion : 0.0;
  const double fabric = lifetime_hours > 0 ? r.owned_fabric_usd / lifetime_hours * hours_per_trillion : 0.0;
  const double power = std::max(0.0, r.usd_per_trillion_owned - hw - fabric);
  c.stacks.push_back({"GPU rental", {r.usd_per_trillion_rental, 0.0}});
  c.stacks.push_back({"hardware, amortised", {0.0, hw}});
  c.stacks.push_back({"fabric, amortised", {0.0, fabric}});
  c.stacks.push_back({"power", {0.0, power}});
  return c;
}

nlohmann::json training_trace(const TrainingResult& r, const std::string& name) {
  using nlohmann::json;
  json events = json::array();
  const bool dp = marks_directions(r);
  auto us = [](Time t) { return t.seconds() * 1e6; };
  events.push_back({{"name", "process_name"}, {"ph", "M"}, {"pid", 0},
                    {"args", {{"name", name + ": pipeline ranks (one GPU per stage)"}}}});
  const size_t ranks = std::max(r.op_times.size(), r.dp_tail.size());
  for (size_t rank = 0; rank < ranks; ++rank) {
    events.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", 0}, {"tid", rank},
                      {"args", {{"name", "rank " + std::to_string(rank)}}}});
    events.push_back({{"name", "thread_sort_index"}, {"ph", "M"}, {"pid", 0}, {"tid", rank},
                      {"args", {{"sort_index", rank}}}});
  }
  for (size_t rank = 0; rank < r.op_times.size() && rank < r.program.ops.size(); ++rank) {
    const auto& ops = r.program.ops[rank];
    const auto& times = r.op_times[rank];
    for (size_t i = 0; i < ops.size() && i < times.size(); ++i) {
      const PipeOp& op = ops[i];
      json args = {{"kind", pipe_op_category(op.kind)}, {"index", i}};
      if (op.kind == PipeOpKind::kF || op.kind == PipeOpKind::kFB) {
        args["fwd_micro_batch"] = op.fwd_mb;
        args["fwd_direction"] = op.fwd_dir;
      }
      if (op.kind != PipeOpKind::kF) {
        args["bwd_micro_batch"] = op.bwd_mb;
        args["bwd_direction"] = op.bwd_dir;
      }
      if (op.kind == PipeOpKind::kBInput) args["input_gradient_only"] = true;
      if (op.kind == PipeOpKind::kFB) args["overlapped"] = op.overlapped;
      events.push_back({{"name", pipe_op_name(op, dp)},
                        {"cat", pipe_op_category(op.kind)},
                        {"ph", "X"},
                        {"ts", us(times[i].first)},
                        {"dur", us(times[i].second) - us(times[i].first)},
                        {"pid", 0},
                        {"tid", rank},
                        {"args", std::move(args)}});
    }
  }
  for (size_t rank = 0; rank < r.dp_tail.size(); ++rank)
    events.push_back({{"name", "DP+opt"},
                      {"cat", "DP+opt"},
                      {"ph", "X"},
                      {"ts", us(r.dp_tail[rank].first)},
                      {"dur", us(r.dp_tail[rank].second) - us(r.dp_tail[rank].first)},
                      {"pid", 0},
                      {"tid", rank},
                      {"args", {{"what", "DP reduce-scatter, AdamW on the shard, parameter all-gather"}}}});
  return {{"traceEvents", std::move(events)}, {"displayTimeUnit", "ms"},
          {"otherData", {{"producer", "codesim train"}, {"scenario", name},
                         {"step_time_s", r.step.seconds()}}}};
}

}  // namespace codesim::reports
