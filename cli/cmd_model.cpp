// codesim model FILE [--seq-len N] [--json] [--set k=v] [--trace-out T.json]:
//   exact analytic counts of a model spec (models/counts.hpp).
// codesim trace-import PROFILE.json [--json] [--out T.json]:
//   a PyTorch-profiler Chrome trace summarised per phase and kernel class
//   (models/profiler_trace.hpp), optionally converted to a codesim trace.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <random>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "models/counts.hpp"
#include "models/model_io.hpp"
#include "models/profiler_trace.hpp"
#include "models/trace.hpp"
#include "models/transformer.hpp"
#include "sim/strings.hpp"

namespace codesim::cli {
namespace {

using nlohmann::ordered_json;
using namespace codesim::models;

// --scale-from --router reference: the small model routes random token ids
// in sequences of this many tokens (a length that exercises the attention
// without dominating the run; routing does not depend on it).
constexpr int kProxySeqLen = 256;

ordered_json model_json(const ModelSpec& s, int64_t seq_len) {
  const ParamCounts p = count_params(s);
  const TrainFlops f = train_flops_per_token(s, seq_len, false);
  const TrainFlops fm = train_flops_per_token(s, seq_len, true);
  const EpBytes ep = ep_bytes_per_token(s);
  ordered_json kv;
  for (const auto& [prec, name] : enum_names(KvPrecision{}))
    kv[std::string(name)] = kv_cache_bytes_per_token(s, prec).count();
  return {
      {"model", s.name},
      {"source", s.source},
      {"seq_len", seq_len},
      {"params_total", p.total},
      {"params_activated", p.activated},
      {"params_activated_non_embedding", p.activated_non_embedding},
      {"params_embedding", p.embedding},
      {"params_output_head", p.output_head},
      {"params_mtp_module", s.mtp_depth > 0 ? p.mtp_module : 0},
      {"params_total_with_mtp", p.total_with_mtp},
      {"params_activated_with_mtp", p.activated_with_mtp},
      {"kv_cache_bytes_per_token", kv_cache_bytes_per_token(s, KvPrecision::kBf16).count()},
      {"kv_cache_bytes_per_token_by_precision", kv},
      {"kv_cache_values_per_token_per_layer", kv_cache_values_per_token_per_layer(s)},
      {"train_flops_per_token_causal", f.causal().count()},
      {"train_flops_per_token_noncausal", f.noncausal().count()},
      {"train_flops_per_token_dense", f.dense.count()},
      {"train_flops_per_token_causal_with_mtp", fm.causal().count()},
      {"ep_dispatch_bytes_per_copy", ep.dispatch_per_copy.count()},
      {"ep_combine_bytes_per_copy", ep.combine_per_copy.count()},
      {"ep_copies_per_token", ep.copies_per_token},
      {"ep_dispatch_bytes_per_token", ep.dispatch_per_token.count()},
      {"ep_combine_bytes_per_token", ep.combine_per_token.count()},
      {"conventions",
       {{"params_total", "main model: embedding + blocks + final norm + output head; MTP excluded"},
        {"params_activated", "per token, embedding and output head included, MTP excluded"},
        {"params_activated_non_embedding", "params_activated minus the input embedding table"},
        {"kv_cache_bytes_per_token", "BF16; MLA caches kv_lora_rank + qk_rope_head_dim per layer"},
        {"train_flops_per_token",
         "forward+backward: 6 x params_activated_non_embedding + 3 x layers x 2 x heads x "
         "(qk_dim + v_dim) x seq (non-causal) or seq/2 (causal); MTP excluded unless _with_mtp"},
        {"ep_dispatch", "FP8 payload + FP32 scale per 128 values, per token-expert copy"},
        {"ep_combine", "BF16 payload per token-expert copy"}}}};
}

void print_model(const ordered_json& j) {
  auto g = [](double v) { return sim::strprintf("%.2f", v / 1e9); };
  std::cout << j["model"].get<std::string>() << "  (" << j["source"].get<std::string>() << ")\n"
            << "  parameters total            " << g(j["params_total"]) << " B\n"
            << "  parameters activated        " << g(j["params_activated"])
            << " B (incl. embedding and head)\n"
            << "  activated, non-embedding    " << g(j["params_activated_non_embedding"]) << " B\n"
            << "  total with MTP              " << g(j["params_total_with_mtp"]) << " B\n"
            << "  KV cache per token          " << j["kv_cache_bytes_per_token"].get<uint64_t>()
            << " B (BF16), " << j["kv_cache_bytes_per_token_by_precision"]["fp8"].get<uint64_t>()
            << " B (FP8)\n"
            << "  training FLOPs per token    " << g(j["train_flops_per_token_causal"])
            << " GFLOP causal, " << g(j["train_flops_per_token_noncausal"])
            << " GFLOP non-causal (seq " << j["seq_len"].get<int64_t>() << ")\n";
  if (j["ep_copies_per_token"].get<int>() > 0)
    std::cout << "  EP bytes per token-expert   " << j["ep_dispatch_bytes_per_copy"].get<uint64_t>()
              << " B dispatch (FP8), " << j["ep_combine_bytes_per_copy"].get<uint64_t>()
              << " B combine (BF16); x" << j["ep_copies_per_token"].get<int>() << " per token\n";
}

}  // namespace

void register_model_commands(CLI::App& app, GlobalOptions& global) {
  auto* model = app.add_subcommand("model", "Exact analytic counts of a model spec: parameters, "
                                            "training FLOPs, KV cache and EP bytes per token")
                    ->footer("Example:\n  codesim model scenarios/models/deepseek-v3.yaml --seq-len 4096 --json");
  static std::string model_file;
  static int64_t seq_len = 4096;
  static bool model_json_out = false;
  static std::vector<std::string> overrides;
  static std::string trace_out;
  static std::string scale_from;
  static int trace_ep = 64, trace_gpn = 8, trace_max_nodes = 0;
  static uint64_t trace_seed = 1;
  static std::string router = "reference";
  static int proxy_tokens = 2048;
  model->add_option("file", model_file, "Model spec (scenarios/models/*.yaml)")->required();
  model->add_option("--seq-len", seq_len, "Sequence length for the attention FLOPs")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
  model->add_flag("--json", model_json_out, "Print JSON");
  model->add_option("--set", overrides, "Override a key: --set moe.n_activated_experts=6");
  auto* trace_opt = model->add_option("--trace-out", trace_out,
                    "Also write the analytic per-layer op list of one training micro-batch "
                    "(1 sequence of --seq-len) as a codesim trace");
  auto* scale_opt = model->add_option("--scale-from", scale_from,
                    "With --trace-out: add routing and EP byte matrices scaled from a run of a "
                    "small model (e.g. scenarios/models/deepseek-v3-routing-proxy.yaml; "
                    "TRACE_FORMAT.md, 'Scaling to full size')")
      ->needs(trace_opt);
  model->add_option("--router", router,
                    "With --scale-from: 'reference' runs the Eigen reference forward of the small "
                    "model and measures its routing; 'synthetic' draws skewed random affinities "
                    "through the same gate")
      ->check(CLI::IsMember({"reference", "synthetic"}))
      ->needs(scale_opt);
  model->add_option("--proxy-tokens", proxy_tokens,
                    "With --scale-from: tokens the small model routes (whole sequences of 256: "
                    "rounded down to a multiple of 256)")
      ->check(CLI::Range(kProxySeqLen, 1 << 20))
      ->needs(scale_opt);
  model->add_option("--ep", trace_ep, "With --scale-from: EP GPUs (experts placed contiguously)")
      ->check(CLI::Range(1, 1 << 20))
      ->needs(scale_opt);
  model->add_option("--gpus-per-node", trace_gpn, "With --scale-from: GPUs per node")
      ->check(CLI::Range(1, 1 << 10))
      ->needs(scale_opt);
  model->add_option("--max-nodes", trace_max_nodes, "With --scale-from: node limit M (0: none)")
      ->check(CLI::NonNegativeNumber)
      ->needs(scale_opt);
  model->add_option("--seed", trace_seed, "With --scale-from: random seed")->needs(scale_opt);
  model->callback([&global] {
    ModelSpec spec;
    config::Diagnostics d;
    if (!load_model_spec(model_file, overrides, spec, d)) {
      std::cerr << d.str();
      global.exit_code = 1;
      return;
    }
    const ordered_json j = model_json(spec, seq_len);
    // The counts are printed once the trace (if any) is written: a failed
    // run prints only its error.
    if (!trace_out.empty()) {
      OpListOptions o;
      o.seq_len = seq_len;
      std::string error;
      Trace trace = trace_from_op_list(spec, o);
      if (!scale_from.empty()) {
        ModelSpec small;
        config::Diagnostics sd;
        if (!load_model_spec(scale_from, {}, small, sd)) {
          std::cerr << sd.str();
          global.exit_code = 1;
          return;
        }
        if (!spec.moe || !small.moe) {
          std::cerr << "--scale-from: both models must be MoE models\n";
          global.exit_code = 1;
          return;
        }
        if (spec.moe->n_routed_experts % trace_ep != 0) {
          std::cerr << "--ep " << trace_ep << ": must divide the "
                    << spec.moe->n_routed_experts << " routed experts\n";
          global.exit_code = 1;
          return;
        }
        if (trace_ep % trace_gpn != 0) {  // (a node limit above the group's nodes limits nothing)
          std::cerr << "--ep " << trace_ep << " --gpus-per-node " << trace_gpn
                    << ": the EP group must be whole nodes\n";
          global.exit_code = 1;
          return;
        }
        // The reference forward holds every weight of the small model in
        // float32: refuse models that would not fit comfortably here.
        constexpr double kMaxReferenceParams = 2e9;
        const double small_params = static_cast<double>(count_params(small).total);
        if (router == "reference" && small_params > kMaxReferenceParams) {
          std::cerr << scale_from << ": " << sim::strprintf("%.3g", small_params)
                    << " parameters is too large for the reference forward (at most "
                    << sim::strprintf("%.0g", kMaxReferenceParams)
                    << "); use a small model of the same gate, e.g. "
                       "scenarios/models/deepseek-v3-routing-proxy.yaml, or --router synthetic\n";
          global.exit_code = 1;
          return;
        }
        try {
          Trace small_trace;
          if (router == "reference") {
            // The small model's forward on random token ids (weights from the
            // seed): its gate's measured routing, layer by layer.
            constexpr int kSeq = kProxySeqLen;
            const int batch = std::max(1, proxy_tokens / kSeq);
            std::mt19937_64 rng(trace_seed);
            std::uniform_int_distribution<int32_t> id(0, static_cast<int32_t>(small.vocab_size) - 1);
            std::vector<int32_t> tokens(static_cast<size_t>(batch) * kSeq);
            for (int32_t& t : tokens) t = id(rng);
            ReferenceOptions ro;
            ro.seed = trace_seed;
            Transformer ref(small, ro);
            OpLog log;
            ref.forward(tokens, batch, &log);
            small_trace = trace_from_reference(small, log, batch, kSeq);
            small_trace.meta.model = small.name + " (reference forward, random weights, seed " +
                                     std::to_string(trace_seed) + ", " + std::to_string(batch * kSeq) +
                                     " tokens)";
          } else {
            small_trace.meta.model = small.name + " (synthetic router, skew 0.5)";
            small_trace.routing = synthetic_routing(small, proxy_tokens, 0.5, trace_seed);
          }
          ScaleOptions so;
          so.seq_len = seq_len;
          so.placement = ExpertPlacement::contiguous(spec.moe->n_routed_experts, trace_ep, trace_gpn);
          so.max_nodes = trace_max_nodes;
          so.seed = trace_seed;
          trace = scale_trace(small_trace, spec, so);
        } catch (const std::exception& e) {
          std::cerr << "--scale-from " << scale_from << ": " << e.what() << "\n";
          global.exit_code = 1;
          return;
        }
      }
      if (!write_trace(trace, trace_out, error)) {
        std::cerr << error << "\n";
        global.exit_code = 1;
        return;
      }
    }
    if (model_json_out)
      std::cout << j.dump(2) << "\n";
    else
      print_model(j);
    if (!trace_out.empty() && !global.quiet && !model_json_out)
      std::cout << "  trace written to " << trace_out << "\n";
    global.exit_code = 0;
  });

  auto* imp = app.add_subcommand("trace-import",
                                 "Summarise a PyTorch-profiler Chrome trace per phase and kernel "
                                 "class; optionally convert it to a codesim trace")
                  ->footer("Example:\n  codesim trace-import ../shared/reference/profile-data/train.json");
  static std::string profile_file;
  static bool imp_json = false;
  static std::string imp_out;
  imp->add_option("file", profile_file, "Chrome trace JSON (torch.profiler export)")->required();
  imp->add_flag("--json", imp_json, "Print JSON");
  imp->add_option("--out", imp_out, "Write the codesim trace (models/TRACE_FORMAT.md) here");
  imp->callback([&global] {
    ProfileTrace p;
    std::string error;
    if (!read_profiler_trace(profile_file, p, error)) {
      std::cerr << error << "\n";
      global.exit_code = 1;
      return;
    }
    const ProfileSummary s = summarize(p);
    auto ms = [](Duration d) { return d / Milliseconds(1); };
    if (imp_json) {
      ordered_json j;
      j["file"] = profile_file;
      j["trace_name"] = p.trace_name;
      j["device"] = p.device_name;
      j["world_size"] = p.world_size;
      j["kernels"] = p.kernels.size();
      j["gpu_window_ms"] = ms(s.window);
      for (const auto& [stream, st] : s.streams)
        j["streams"][std::to_string(stream)] = {
            {"kernels", st.kernels}, {"busy_ms", ms(st.busy)}, {"window_ms", ms(st.window)}};
      j["groups"] = ordered_json::array();
      for (const auto& g : s.groups)
        j["groups"].push_back({{"phase", g.phase},
                               {"class", std::string(config::enum_to_string(g.cls))},
                               {"stream", g.stream},
                               {"count", g.count},
                               {"layers", g.layers},
                               {"total_ms", ms(g.total)},
                               {"mean_per_kernel_ms", ms(g.mean_per_kernel())},
                               {"mean_per_layer_ms", ms(g.mean_per_layer())}});
      std::cout << j.dump(2) << "\n";
    } else {
      std::cout << profile_file << ": " << p.device_name << ", world size " << p.world_size << ", "
                << p.kernels.size() << " GPU activities\n"
                << "GPU window " << sim::strprintf("%.3f", ms(s.window)) << " ms\n";
      for (const auto& [stream, st] : s.streams)
        std::cout << "  stream " << stream << ": " << st.kernels << " kernels, busy "
                  << sim::strprintf("%.3f", ms(st.busy)) << " ms, window " << sim::strprintf("%.3f", ms(st.window))
                  << " ms\n";
      std::printf("%-14s %-20s %6s %6s %6s %12s %14s\n", "phase", "class", "stream", "count",
                  "layers", "mean/kernel", "mean/layer ms");
      for (const auto& g : s.groups)
        std::printf("%-14s %-20s %6d %6d %6d %12.3f %14.3f\n", g.phase.c_str(),
                    std::string(config::enum_to_string(g.cls)).c_str(), g.stream, g.count,
                    g.layers, ms(g.mean_per_kernel()), ms(g.mean_per_layer()));
      std::fflush(stdout);
    }
    if (!imp_out.empty() && !write_trace(profile_to_trace(p), imp_out, error)) {
      std::cerr << error << "\n";
      global.exit_code = 1;
      return;
    }
    global.exit_code = 0;
  });
}

}  // namespace codesim::cli
