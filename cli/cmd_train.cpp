// codesim train FILE [--json] [--ranks]: one training step of a model on a
// cluster under a parallel plan (scenario sections cluster, plan, training).
// codesim calibrate [--json]: the compute model against the H800 kernels it
// was calibrated on.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
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
                       {"dispatch_b", ms(r.dispatch_b)}, {"combine_b", ms(r.combine_b)}};
  j["pp_transfer_ms"] = ms(r.pp_transfer);
  j["dp_reduce_scatter_ms"] = ms(r.dp_reduce_scatter);
  j["dp_all_gather_ms"] = ms(r.dp_all_gather);
  j["optimizer_compute_ms"] = ms(r.optimizer_compute);
  j["memory_bytes"] = {{"weights", r.memory.weights.count()},
                       {"gradients", r.memory.gradients.count()},
                       {"master_weights", r.memory.master_weights.count()},
                       {"optimizer_moments", r.memory.optimizer_moments.count()},
                       {"activations", r.memory.activations.count()},
                       {"total", r.memory.total().count()}};
  j["notes"] = r.notes;
  return j;
}

void print_text(const TrainingResult& r, const scenarios::Scenario& sc, bool ranks) {
  std::printf("%s: %d GPUs\n", sc.name.c_str(), r.gpus);
  std::printf("  step time             %10.3f s   (pipeline %.3f s)\n", r.step.seconds(),
              r.pipeline.seconds());
  std::printf("  tokens per step       %10.0f\n", r.tokens_per_step);
  std::printf("  tokens per day        %10.2f B\n", r.tokens_per_day / 1e9);
  std::printf("  TFLOPS/GPU            %10.1f causal, %.1f non-causal\n", r.tflops_causal,
              r.tflops_noncausal);
  std::printf("  MFU (BF16 peak)       %9.2f %% causal, %.2f %% non-causal\n", 100 * r.mfu_causal,
              100 * r.mfu_noncausal);
  std::printf("  GPU-hours / 1T tokens %10.0f\n", r.gpu_hours_per_trillion_tokens);
  std::printf("  $ / 1T tokens         %10.0f rental, %.0f owned (capex %.1f M$ + fabric %.1f M$ amortised, + power)\n",
              r.usd_per_trillion_rental, r.usd_per_trillion_owned, r.owned_capex_usd / 1e6,
              r.owned_fabric_usd / 1e6);
  const Table4& t = r.breakdown;
  std::printf("  Table 4 breakdown (pipeline rank %d), s:\n", r.report_rank);
  std::printf("    1F %.2f  bubble %.2f  1B %.2f  1W %.2f  1F1B %.2f  opt %.2f  (sum %.3f)\n",
              t.f.seconds(), t.bubble.seconds(), t.b.seconds(), t.w.seconds(), t.fb.seconds(),
              t.opt.seconds(), t.sum().seconds());
  if (ranks)
    for (size_t i = 0; i < r.per_rank.size(); ++i) {
      const Table4& u = r.per_rank[i];
      std::printf("    rank %2zu: 1F %.2f bubble %.2f 1B %.2f 1W %.2f 1F1B %.2f opt %.2f | F&B %.1f/%.1f ms\n", i,
                  u.f.seconds(), u.bubble.seconds(), u.b.seconds(), u.w.seconds(), u.fb.seconds(),
                  u.opt.seconds(), r.fb.empty() ? 0.0 : ms(r.fb[i][0]), r.fb.empty() ? 0.0 : ms(r.fb[i][1]));
    }
  std::printf("  per MoE layer and micro-batch: dispatch %.2f ms, combine %.2f ms (F); %.2f / %.2f ms (B)\n",
              ms(r.dispatch_f), ms(r.combine_f), ms(r.dispatch_b), ms(r.combine_b));
  std::printf("  PP transfer %.2f ms; DP reduce-scatter %.1f ms, all-gather %.1f ms, AdamW %.1f ms\n",
              ms(r.pp_transfer), ms(r.dp_reduce_scatter), ms(r.dp_all_gather), ms(r.optimizer_compute));
  std::printf("  memory per GPU (rank %d): %s\n", r.report_rank, r.memory.str().c_str());
  for (const auto& n : r.notes) std::printf("  note: %s\n", n.c_str());
}

}  // namespace

void register_train_commands(CLI::App& app, GlobalOptions& global) {
  auto* cmd = app.add_subcommand("train", "Simulate one training step: step time, Table 4 breakdown, MFU, cost")
                  ->footer("Example:\n  codesim train scenarios/paper/v3-train-2048-h800-mpft.yaml --json");
  static std::string file;
  static std::vector<std::string> overrides;
  static bool as_json = false, ranks = false;
  cmd->add_option("file", file, "Scenario file with cluster, plan and training sections")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--set", overrides, "Override a key: --set plan.pipeline.degree=8");
  cmd->add_flag("--json", as_json, "Print JSON");
  cmd->add_flag("--ranks", ranks, "Print the breakdown of every pipeline rank");
  cmd->callback([&global] {
    config::Diagnostics d;
    config::Node root;
    scenarios::Scenario sc;
    bool ok = config::load_file(file, root, d);
    for (const auto& o : overrides) ok = ok && config::apply_override(root, o, d);
    if (ok) ok = scenarios::read_scenario(root, sc, d);
    if (ok && (!sc.cluster || !sc.plan || !sc.training)) {
      d.add(root.mark, "(document)",
            std::string("codesim train needs the sections cluster, plan and training; missing:") +
                (sc.cluster ? "" : " cluster") + (sc.plan ? "" : " plan") + (sc.training ? "" : " training"));
      ok = false;
    }
    TrainingInputs in;
    if (ok) ok = make_training_inputs(*sc.cluster, *sc.plan, *sc.training, root.find("plan"), in, d);
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
    if (as_json)
      std::cout << result_json(r, sc).dump(2) << "\n";
    else
      print_text(r, sc, ranks);
    global.exit_code = 0;
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
