// codesim train FILE [--json|--csv] [--report DIR] [--trace FILE] [--ranks]:
// one training step of a model on a cluster under a parallel plan (scenario
// sections cluster, plan, training). The report draws the step timeline (one
// Gantt lane per pipeline rank), the Table 4 breakdown per rank and the cost
// per trillion tokens; the trace is a Chrome/Perfetto JSON of the same
// timeline.
// codesim calibrate [--json]: the compute model against the H800 kernels it
// was calibrated on.
#include <cstdarg>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/output_flags.hpp"
#include "reports/charts_forms.hpp"
#include "reports/charts_training.hpp"
#include "scenarios/scenario.hpp"
#include "workloads/calibration_table.hpp"
#include "workloads/training_setup.hpp"

namespace codesim::cli {
namespace {

using nlohmann::json;
using namespace codesim::workloads;

double ms(Duration d) { return d / Milliseconds(1); }

json table4_json(const Table4& t) {
  return {{"1F", t.f.seconds()},   {"bubble", t.bubble.seconds()}, {"1B", t.b.seconds()},
          {"1W", t.w.seconds()},   {"1F1B", t.fb.seconds()},       {"opt", t.opt.seconds()}};
}

json result_json(const TrainingResult& r, const scenarios::Scenario& sc) {
  json j;
  j["scenario"] = sc.name;
  j["gpus"] = r.gpus;
  j["step_time_s"] = r.step.seconds();
  j["pipeline_s"] = r.pipeline.seconds();
  j["tokens_per_step"] = r.tokens_per_step;
  j["tokens_per_day"] = r.tokens_per_day;
  j["tflops_per_gpu_causal"] = r.tflops_causal;
  j["tflops_per_gpu_noncausal"] = r.tflops_noncausal;
  j["mfu_causal"] = r.mfu_causal;
  j["mfu_noncausal"] = r.mfu_noncausal;
  j["gpu_hours_per_trillion_tokens"] = r.gpu_hours_per_trillion_tokens;
  j["usd_per_trillion_tokens_rental"] = r.usd_per_trillion_rental;
  j["usd_per_trillion_tokens_owned"] = r.usd_per_trillion_owned;
  j["owned_capex_usd"] = r.owned_capex_usd;
  j["owned_fabric_usd"] = r.owned_fabric_usd;
  j["breakdown_rank"] = r.report_rank;
  j["breakdown_s"] = table4_json(r.breakdown);
  json ranks = json::array();
  for (const auto& t : r.per_rank) ranks.push_back(table4_json(t));
  j["breakdown_per_rank_s"] = ranks;
  json stages = json::array();
  for (const auto& s : r.stages)
    stages.push_back({{"layers", s.layer_names},
                      {"f_ms", ms(s.chunk.f)},
                      {"b_ms", ms(s.chunk.b)},
                      {"b_input_ms", ms(s.chunk.b_input)},
                      {"w_ms", ms(s.chunk.w)}});
  j["stages"] = stages;
  json fb = json::array();
  for (const auto& f : r.fb) fb.push_back({ms(f[0]), ms(f[1])});
  j["fb_pair_ms"] = fb;
  j["per_layer_ms"] = {{"dispatch_f", ms(r.dispatch_f)}, {"combine_f", ms(r.combine_f)},
                       {"dispatch_b", ms(r.dispatch_b)}, {"combine_b", ms(r.combine_b)},
                       {"compute_f", ms(r.moe_compute_f)}, {"compute_b", ms(r.moe_compute_b)},
                       {"compute_w", ms(r.moe_compute_w)}};
  j["pp_transfer_ms"] = ms(r.pp_transfer);
  j["tp_comm_f_ms"] = ms(r.tp_comm_f);
  j["tp_comm_b_ms"] = ms(r.tp_comm_b);
  j["expert_imbalance"] = r.expert_imbalance;
  j["dp_reduce_scatter_ms"] = ms(r.dp_reduce_scatter);
  j["dp_all_gather_ms"] = ms(r.dp_all_gather);
  j["optimizer_compute_ms"] = ms(r.optimizer_compute);
  j["grad_norm_compute_ms"] = ms(r.grad_norm_compute);
  j["grad_norm_wait_ms"] = ms(r.grad_norm_wait);
  auto memory = [](const workloads::MemoryBreakdown& m) {
    return json{{"weights", m.weights.count()},
                {"gradients", m.gradients.count()},
                {"master_weights", m.master_weights.count()},
                {"optimizer_moments", m.optimizer_moments.count()},
                {"activations", m.activations.count()},
                {"runtime", m.runtime.count()},
                {"total", m.total().count()}};
  };
  j["memory_bytes"] = memory(r.memory);  // breakdown_rank
  j["memory_peak_bytes"] = memory(r.memory_peak);
  j["memory_peak_rank"] = r.memory_peak_rank;
  j["notes"] = r.notes;
  return j;
}

// printf into a string (the text form is rendered before anything is printed).
class Printer {
 public:
  void operator()(const char* f, ...) __attribute__((format(printf, 2, 3))) {
    va_list ap, ap2;
    va_start(ap, f);
    va_copy(ap2, ap);
    const int n = std::vsnprintf(nullptr, 0, f, ap);
    va_end(ap);
    if (n > 0) {
      std::string buf(static_cast<size_t>(n) + 1, '\0');
      std::vsnprintf(buf.data(), buf.size(), f, ap2);
      buf.resize(static_cast<size_t>(n));
      text_ += buf;
    }
    va_end(ap2);
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

std::string format_text(const TrainingResult& r, const scenarios::Scenario& sc, bool ranks) {
  Printer P;
  P("%s: %d GPUs\n", sc.name.c_str(), r.gpus);
  P("  step time             %10.3f s   (pipeline %.3f s)\n", r.step.seconds(),
              r.pipeline.seconds());
  P("  tokens per step       %10.0f\n", r.tokens_per_step);
  P("  tokens per day        %10.2f B\n", r.tokens_per_day / 1e9);
  P("  TFLOPS/GPU            %10.1f causal, %.1f non-causal\n", r.tflops_causal,
              r.tflops_noncausal);
  P("  MFU (BF16 peak)       %9.2f %% causal, %.2f %% non-causal\n", 100 * r.mfu_causal,
              100 * r.mfu_noncausal);
  P("  GPU-hours / 1T tokens %10.0f\n", r.gpu_hours_per_trillion_tokens);
  P("  $ / 1T tokens         %10.0f rental, %.0f owned (capex %.1f M$ + fabric %.1f M$ amortised, + power)\n",
              r.usd_per_trillion_rental, r.usd_per_trillion_owned, r.owned_capex_usd / 1e6,
              r.owned_fabric_usd / 1e6);
  const Table4& t = r.breakdown;
  P("  Table 4 breakdown (pipeline rank %d), s:\n", r.report_rank);
  P("    1F %.2f  bubble %.2f  1B %.2f  1W %.2f  1F1B %.2f  opt %.2f  (sum %.3f)\n",
              t.f.seconds(), t.bubble.seconds(), t.b.seconds(), t.w.seconds(), t.fb.seconds(),
              t.opt.seconds(), t.sum().seconds());
  if (ranks)
    for (size_t i = 0; i < r.per_rank.size(); ++i) {
      const Table4& u = r.per_rank[i];
      P("    rank %2zu: 1F %.2f bubble %.2f 1B %.2f 1W %.2f 1F1B %.2f opt %.2f", i, u.f.seconds(), u.bubble.seconds(),
        u.b.seconds(), u.w.seconds(), u.fb.seconds(), u.opt.seconds());
      // The overlapped F&B pair's time per direction: only schedules that have one.
      if (i < r.fb.size())
        P(" | F&B %.1f/%.1f ms\n", ms(r.fb[i][0]), ms(r.fb[i][1]));
      else
        P("\n");
    }
  if (r.moe_compute_f > Duration::zero()) {
    P("  per MoE layer and micro-batch: dispatch %.2f ms, combine %.2f ms (F); %.2f / %.2f ms (B)\n",
      ms(r.dispatch_f), ms(r.combine_f), ms(r.dispatch_b), ms(r.combine_b));
    P("  per MoE layer and micro-batch, compute kernels: F %.2f ms, B %.2f ms, W %.2f ms\n", ms(r.moe_compute_f),
      ms(r.moe_compute_b), ms(r.moe_compute_w));
  }
  if (r.tp_comm_f > Duration::zero())
    P("  TP all-gathers and reduce-scatters per block and micro-batch: %.2f ms forward, %.2f ms backward\n",
      ms(r.tp_comm_f), ms(r.tp_comm_b));
  P("  ");
  if (r.pp_transfer > Duration::zero()) P("PP transfer %.2f ms; ", ms(r.pp_transfer));
  P("rank %d: DP reduce-scatter %.1f ms, gradient norm %.1f ms + %.1f ms wait, "
    "AdamW %.1f ms, all-gather %.1f ms\n",
    r.report_rank, ms(r.dp_reduce_scatter), ms(r.grad_norm_compute), ms(r.grad_norm_wait),
    ms(r.optimizer_compute), ms(r.dp_all_gather));
  P("  memory per GPU (rank %d): %s\n", r.report_rank, r.memory.str().c_str());
  if (r.memory_peak_rank != r.report_rank)
    P("  memory per GPU, the most on any rank (rank %d): %s\n", r.memory_peak_rank, r.memory_peak.str().c_str());
  for (const auto& n : r.notes) P("  note: %s\n", n.c_str());
  return P.text();
}

// The one-row summary (--csv): the JSON's scalar keys, then the Table 4
// breakdown of the reported rank.
reports::ResultTable summary_table(const TrainingResult& r, const scenarios::Scenario& sc) {
  reports::ResultTable t("Training step");
  t.add_column("scenario")
      .add_column("gpus")
      .add_column("step_time_s", "step (s)", 3)
      .add_column("pipeline_s", "pipeline (s)", 3)
      .add_column("tokens_per_step", "tokens/step", 0)
      .add_column("tokens_per_day", "tokens/day", 0)
      .add_column("tflops_per_gpu_causal", "TFLOPS/GPU causal", 1)
      .add_column("tflops_per_gpu_noncausal", "TFLOPS/GPU non-causal", 1)
      .add_column("mfu_causal", "MFU causal", 4)
      .add_column("mfu_noncausal", "MFU non-causal", 4)
      .add_column("gpu_hours_per_trillion_tokens", "GPU-h/1T tokens", 0)
      .add_column("usd_per_trillion_tokens_rental", "$/1T rental", 0)
      .add_column("usd_per_trillion_tokens_owned", "$/1T owned", 0)
      .add_column("breakdown_rank", "rank")
      .add_column("breakdown_1F_s", "1F (s)", 3)
      .add_column("breakdown_bubble_s", "bubble (s)", 3)
      .add_column("breakdown_1B_s", "1B (s)", 3)
      .add_column("breakdown_1W_s", "1W (s)", 3)
      .add_column("breakdown_1F1B_s", "1F1B (s)", 3)
      .add_column("breakdown_opt_s", "opt (s)", 3);
  const Table4& b = r.breakdown;
  t.add_row({sc.name, r.gpus, r.step.seconds(), r.pipeline.seconds(), r.tokens_per_step, r.tokens_per_day,
             r.tflops_causal, r.tflops_noncausal, r.mfu_causal, r.mfu_noncausal, r.gpu_hours_per_trillion_tokens,
             r.usd_per_trillion_rental, r.usd_per_trillion_owned, r.report_rank, b.f.seconds(), b.bubble.seconds(),
             b.b.seconds(), b.w.seconds(), b.fb.seconds(), b.opt.seconds()});
  return t;
}

reports::ResultTable ranks_table(const TrainingResult& r) {
  reports::ResultTable t("Table 4 breakdown per pipeline rank");
  t.add_column("rank")
      .add_column("f_s", "1F (s)", 3)
      .add_column("bubble_s", "bubble (s)", 3)
      .add_column("b_s", "1B (s)", 3)
      .add_column("w_s", "1W (s)", 3)
      .add_column("fb_s", "1F1B (s)", 3)
      .add_column("opt_s", "opt (s)", 3)
      .add_column("sum_s", "sum (s)", 3)
      .add_column("fb_pair_fwd0_ms", "F&B dir 0 (ms)", 1)
      .add_column("fb_pair_fwd1_ms", "F&B dir 1 (ms)", 1);
  for (size_t i = 0; i < r.per_rank.size(); ++i) {
    const Table4& u = r.per_rank[i];
    std::vector<reports::Cell> row = {static_cast<int64_t>(i), u.f.seconds(), u.bubble.seconds(), u.b.seconds(),
                                      u.w.seconds(), u.fb.seconds(), u.opt.seconds(), u.sum().seconds()};
    row.resize(10);  // F&B pair times: empty when the schedule has none
    if (i < r.fb.size()) {
      row[8] = ms(r.fb[i][0]);
      row[9] = ms(r.fb[i][1]);
    }
    t.add_row(std::move(row));
  }
  return t;
}

reports::ResultTable comm_table(const TrainingResult& r) {
  reports::ResultTable t("Communication and optimizer");
  t.add_column("quantity").add_column("time_ms", "time (ms)", 2);
  t.add_row({"EP dispatch, forward (per MoE layer and micro-batch)", ms(r.dispatch_f)});
  t.add_row({"EP combine, forward", ms(r.combine_f)});
  t.add_row({"EP dispatch, backward", ms(r.dispatch_b)});
  t.add_row({"EP combine, backward", ms(r.combine_b)});
  t.add_row({"MoE layer compute kernels, forward", ms(r.moe_compute_f)});
  t.add_row({"MoE layer compute kernels, input gradient", ms(r.moe_compute_b)});
  t.add_row({"MoE layer compute kernels, weight gradient", ms(r.moe_compute_w)});
  t.add_row({"TP collectives per block and micro-batch, forward", ms(r.tp_comm_f)});
  t.add_row({"TP collectives per block and micro-batch, backward", ms(r.tp_comm_b)});
  t.add_row({"PP transfer (per micro-batch)", ms(r.pp_transfer)});
  t.add_row({"DP reduce-scatter", ms(r.dp_reduce_scatter)});
  t.add_row({"Gradient norm on the shard (clipping)", ms(r.grad_norm_compute)});
  t.add_row({"Wait for the global gradient norm", ms(r.grad_norm_wait)});
  t.add_row({"AdamW on the shard", ms(r.optimizer_compute)});
  t.add_row({"DP all-gather", ms(r.dp_all_gather)});
  return t;
}

reports::Report train_report(const TrainingResult& r, const scenarios::Scenario& sc, const TrainingInputs& in,
                             const reports::ResultTable& summary) {
  reports::Report rep("codesim train " + sc.name);
  if (!sc.description.empty()) rep.paragraph(sc.description);
  rep.table(reports::key_value_table(summary));
  rep.chart("step-timeline", reports::svg::render(reports::training_timeline_chart(r)),
            "One training step: every pipeline op of each rank (F forward, B backward, W weight gradients, "
            "FB overlapped forward+backward pair; labels are micro-batch ids, ' = reverse direction), then the "
            "DP reduce-scatter, AdamW and all-gather tail. One GPU per pipeline stage (DP and EP folded).");
  rep.chart("table4-breakdown", reports::svg::render(reports::training_breakdown_chart(r)),
            "ISCA'25 Table 4 components per pipeline rank.");
  rep.table(ranks_table(r));
  rep.chart("cost", reports::svg::render(reports::training_cost_chart(r, in.options.lifetime_years)),
            "Dollars per trillion tokens: rented GPUs, or owned hardware (GPUs, NICs, servers) and fabric "
            "amortised over " + reports::Cell(in.options.lifetime_years).format() + " years, plus power.");
  rep.table(comm_table(r));
  rep.heading("Memory per GPU (rank " + std::to_string(r.report_rank) + ")");
  rep.paragraph(r.memory.str());
  if (r.memory_peak_rank != r.report_rank) {
    rep.heading("Memory per GPU, the most on any rank (rank " + std::to_string(r.memory_peak_rank) + ")");
    rep.paragraph(r.memory_peak.str());
  }
  if (!r.notes.empty()) {
    rep.heading("Notes");
    for (const auto& n : r.notes) rep.paragraph(n);
  }
  return rep;
}

}  // namespace

void register_train_commands(CLI::App& app, GlobalOptions& global) {
  auto* cmd = app.add_subcommand("train", "Simulate one training step: step time, Table 4 breakdown, MFU, cost")
                  ->footer("Examples:\n  codesim train scenarios/paper/v3-train-2048-h800-mpft.yaml\n"
                           "  codesim train scenarios/paper/v3-train-2048-h800-mpft.yaml --json\n"
                           "  codesim train scenarios/paper/v3-train-2048-h800-mpft.yaml --csv --ranks\n"
                           "  codesim train scenarios/paper/v3-train-2048-h800-mpft.yaml --report out/train "
                           "--trace out/train.json   # HTML with the step timeline; Perfetto trace");
  static std::string file, trace;
  static std::vector<std::string> overrides;
  static bool ranks = false;
  static reports::OutputOptions out;
  cmd->add_option("file", file, "Scenario file with cluster, plan and training sections")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--set", overrides, "Override a key: --set plan.pipeline.degree=8");
  add_output_flags(cmd, out);
  cmd->add_option("--trace", trace,
                  "Write a Chrome/Perfetto trace JSON of the step (one track per pipeline rank)")
      ->option_text("FILE");
  cmd->add_flag("--ranks", ranks, "Print the breakdown of every pipeline rank (text; --csv: the per-rank table)");
  cmd->callback([&global] {
    config::Diagnostics d;
    config::Node root;
    scenarios::Scenario sc;
    bool ok = config::load_file(file, root, d);
    for (const auto& o : overrides) ok = ok && config::apply_override(root, o, d);
    if (ok) ok = scenarios::read_scenario(root, sc, d);
    TrainingInputs in;
    if (ok) ok = scenarios::training_inputs(sc, root, in, d);
    if (!ok) {
      std::cerr << d.str();
      global.exit_code = 1;
      return;
    }
    std::string err;
    const TrainingResult r = simulate_training(in, err);
    if (!err.empty()) {
      std::cerr << file << ": " << err << "\n";
      global.exit_code = 1;
      return;
    }
    const reports::OutputOptions opt = with_quiet(out, global);
    reports::Forms forms;
    if (opt.json) forms.json_text = result_json(r, sc).dump(2) + "\n";
    else if (!opt.csv) forms.human_text = format_text(r, sc, ranks);
    const reports::ResultTable summary = summary_table(r, sc);
    const reports::ResultTable per_rank = ranks_table(r);
    forms.csv_table = ranks ? &per_rank : &summary;
    std::optional<reports::Report> rep;
    if (!opt.report_dir.empty()) {
      rep.emplace(train_report(r, sc, in, summary));
      forms.report = &*rep;
    }
    if (!trace.empty()) {
      forms.trace_path = trace;
      forms.trace_text = reports::training_trace(r, sc.name).dump() + "\n";
    }
    global.exit_code = reports::emit_forms(forms, opt, std::cout, std::cerr);
  });

  auto* cal = app.add_subcommand("calibrate", "Print the compute model's kernel times against the H800 measurements it was fitted to")
                  ->footer("Example:\n  codesim calibrate --json");
  static bool cal_json = false;
  static std::string cal_file;
  cal->add_flag("--json", cal_json, "Print JSON");
  cal->add_option("--calibration", cal_file, "Calibration file (default workloads/calibration.yaml)");
  cal->callback([&global] {
    config::Diagnostics d;
    ComputeCalibration c;
    if (!load_calibration(cal_file.empty() ? default_calibration_path() : cal_file, c, d)) {
      std::cerr << d.str();
      global.exit_code = 1;
      return;
    }
    const auto rows = calibration_table(c);
    if (cal_json) {
      json j = json::array();
      for (const auto& row : rows)
        j.push_back({{"kernel", row.kernel}, {"source", row.source}, {"measured_ms", row.measured_ms},
                     {"modelled_ms", row.modelled_ms}, {"error", row.error()}});
      std::cout << j.dump(2) << "\n";
    } else {
      std::printf("%-52s %-8s %10s %10s %8s\n", "kernel", "source", "measured", "modelled", "error");
      for (const auto& row : rows)
        std::printf("%-52s %-8s %8.3fms %8.3fms %+7.1f%%\n", row.kernel.c_str(), row.source.c_str(),
                    row.measured_ms, row.modelled_ms, 100 * row.error());
    }
    global.exit_code = 0;
  });
}

}  // namespace codesim::cli
