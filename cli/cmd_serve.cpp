// codesim serve FILE [--json] [--simulate]: one inference deployment.
//  * `decode_limit:` section: the ISCA'25 decode speed limit under the
//    paper's assumptions, and (with `serving:`) the same case in the full
//    step model, with the corrections that make it slower.
//  * `serving:` section: the steady-state estimate (decode batch, TPOT,
//    tokens/s per user and per node, prefill throughput, pool sizes, cost),
//    KV concurrency per GPU, and with --simulate the request-level
//    simulation (TTFT/TPOT percentiles).
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.hpp"
#include "scenarios/scenario.hpp"
#include "workloads/decode_limit.hpp"
#include "workloads/inference_memory.hpp"
#include "workloads/serving_estimate.hpp"
#include "workloads/serving_sim.hpp"

namespace codesim::cli {
namespace {

using nlohmann::json;
using namespace codesim::workloads;

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}
double us(Duration d) { return d / Microseconds(1); }
double ms(Duration d) { return d / Milliseconds(1); }

json limit_json(const DecodeLimit& l) {
  return {{"bytes_per_ep_step", l.bytes_per_step.count()},
          {"ep_step_us", us(l.ep_step)},
          {"layer_us", us(l.layer)},
          {"tpot_s", l.tpot.seconds()},
          {"tokens_per_s", l.tokens_per_s}};
}

json step_json(const StepCost& c) {
  return {{"attention_s", c.attention.seconds()}, {"dense_gemm_s", c.dense.seconds()},
          {"experts_s", c.experts.seconds()},     {"mtp_s", c.mtp.seconds()},
          {"tp_comm_s", c.tp_comm.seconds()},     {"compute_s", c.compute.seconds()},
          {"all_to_all_s", c.comm.seconds()},     {"exposed_all_to_all_s", c.exposed_comm.seconds()},
          {"total_s", c.total.seconds()},         {"tokens_per_gpu", c.tokens}};
}

json kv_json(const KvConcurrency& k) {
  return {{"model", k.model},
          {"layout", k.layout},
          {"kv_bytes_per_token", k.kv_per_token.count()},
          {"kv_bytes_per_token_per_gpu", k.kv_per_token_per_gpu.count()},
          {"weights_per_gpu_bytes", k.weights_per_gpu.count()},
          {"kv_free_per_gpu_bytes", k.kv_free_per_gpu.count()},
          {"context_tokens", k.context},
          {"concurrent_requests_per_gpu", k.requests_per_gpu}};
}

json stats_json(const LatencyStats& s) {
  return {{"count", s.count}, {"mean", s.mean}, {"p50", s.p50}, {"p90", s.p90}, {"p99", s.p99}};
}

json sim_json(const SimResult& r) {
  return {{"simulated_s", r.simulated.seconds()},
          {"prefill_nodes", r.prefill_nodes},
          {"decode_nodes", r.decode_nodes},
          {"arrived", r.arrived},
          {"completed", r.completed},
          {"events", r.events},
          {"prefill_tokens_per_s_per_node", r.input_tokens_per_s_per_prefill_node},
          {"decode_tokens_per_s_per_node", r.output_tokens_per_s_per_decode_node},
          {"mean_decode_batch_per_gpu", r.mean_decode_batch_per_gpu},
          {"prefill_busy", r.prefill_busy},
          {"prefill_queue_at_end", r.prefill_queue_at_end},
          {"decode_waiting_at_end", r.decode_waiting_at_end},
          {"ttft_s", stats_json(r.ttft)},
          {"tpot_s", stats_json(r.tpot)}};
}

std::string sim_text(const SimResult& r) {
  std::ostringstream o;
  o << "Request-level simulation (" << fmt("%.0f s", r.simulated.seconds()) << " after warm-up, "
    << r.prefill_nodes << " prefill + " << r.decode_nodes << " decode nodes, " << r.events << " events):\n"
    << "  " << r.arrived << " requests arrived, " << r.completed << " completed; prefill busy "
    << fmt("%.1f%%", 100 * r.prefill_busy) << ", queue at end " << r.prefill_queue_at_end << "\n"
    << "  prefill " << fmt("%.0f", r.input_tokens_per_s_per_prefill_node) << " input tokens/s per node; decode "
    << fmt("%.0f", r.output_tokens_per_s_per_decode_node) << " output tokens/s per node, mean batch "
    << fmt("%.1f", r.mean_decode_batch_per_gpu) << " requests/GPU\n"
    << "  TTFT p50/p90/p99 " << fmt("%.3f", r.ttft.p50) << " / " << fmt("%.3f", r.ttft.p90) << " / "
    << fmt("%.3f s", r.ttft.p99) << "; TPOT p50/p90/p99 " << fmt("%.2f", r.tpot.p50 * 1e3) << " / "
    << fmt("%.2f", r.tpot.p90 * 1e3) << " / " << fmt("%.2f ms", r.tpot.p99 * 1e3) << "\n";
  return o.str();
}

void print_step(std::ostream& o, const char* what, const StepCost& c) {
  o << "  " << what << ": " << fmt("%.3f ms", ms(c.total)) << " = compute " << fmt("%.3f", ms(c.compute))
    << " (attention " << fmt("%.3f", ms(c.attention)) << ", dense GEMMs " << fmt("%.3f", ms(c.dense))
    << ", experts " << fmt("%.3f", ms(c.experts)) << ") + exposed all-to-all "
    << fmt("%.3f", ms(c.exposed_comm)) << " of " << fmt("%.3f", ms(c.comm)) << " + MTP "
    << fmt("%.3f", ms(c.mtp)) << " ms\n";
}

}  // namespace

void register_serve_commands(CLI::App& app, GlobalOptions& global) {
  auto* cmd = app.add_subcommand("serve", "Simulate one inference deployment (prefill/decode pools, EP, MTP, KV)")
                  ->footer("Examples:\n  codesim serve scenarios/paper/v3-decode-limit-ib.yaml\n"
                           "  codesim serve scenarios/paper/v3-serve-day6.yaml --json\n"
                           "  codesim serve scenarios/paper/v3-serve-day6.yaml --simulate --duration 600s");
  static std::string file;
  static std::vector<std::string> overrides;
  static bool as_json = false, simulate = false;
  static std::string duration_text;
  cmd->add_option("file", file, "Scenario file with a serving: and/or decode_limit: section")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--set", overrides, "Override a key: --set serving.mtp.acceptance=0.9");
  cmd->add_flag("--json", as_json, "Print JSON");
  cmd->add_flag("--simulate", simulate, "Also run the request-level simulation");
  cmd->add_option("--duration", duration_text, "Simulated time after warm-up (e.g. 600s)");
  cmd->callback([&global] {
    scenarios::Scenario sc;
    config::Diagnostics d;
    if (!scenarios::load_scenario(file, overrides, sc, d)) {
      std::cerr << d.str();
      global.exit_code = 1;
      return;
    }
    if (!sc.decode_limit && !sc.serving) {
      std::cerr << file << ": no 'serving' or 'decode_limit' section; nothing to serve\n";
      global.exit_code = 1;
      return;
    }
    if (!duration_text.empty()) {
      Duration dur;
      std::string why;
      if (!parse_duration(duration_text, dur, why) || dur <= Duration::zero()) {
        std::cerr << "--duration '" << duration_text << "': " << (why.empty() ? "must be > 0" : why) << "\n";
        global.exit_code = 1;
        return;
      }
      if (sc.serving) sc.serving->simulate.duration = dur;
    }
    json out = {{"scenario", sc.name}};
    std::ostringstream text;
    text << sc.name << (sc.description.empty() ? "" : ": " + sc.description) << "\n";

    if (sc.decode_limit) {
      const DecodeLimit l = decode_speed_limit(*sc.decode_limit);
      out["decode_limit"] = limit_json(l);
      text << "\nDecode speed limit (ISCA'25 Sec. 2.3.2 assumptions):\n"
           << "  EP step " << fmt("%.2f us", us(l.ep_step)) << " (" << l.bytes_per_step.count()
           << " B per device / " << to_string(sc.decode_limit->bandwidth) << "), layer "
           << fmt("%.2f us", us(l.layer)) << ", TPOT " << fmt("%.2f ms", ms(l.tpot)) << ", "
           << fmt("%.1f tokens/s", l.tokens_per_s) << "\n";
      if (sc.serving) {
        const double ctx = sc.serving->mean_decode_context > 0 ? sc.serving->mean_decode_context : 4096;
        const DecodeLimitFull f = decode_limit_full(*sc.decode_limit, *sc.serving, ctx);
        json steps = json::array();
        text << "\nThe same case in the full model (" << sc.serving->model.name << ", "
             << sc.serving->hardware.gpu << ", EP" << sc.serving->decode.ep << ", KV length "
             << ctx << "):\n";
        Duration prev = f.paper.tpot;
        for (const LimitStep& s : f.steps) {
          steps.push_back({{"what", s.what}, {"tpot_s", s.tpot.seconds()}});
          text << "  " << fmt("%8.3f ms", ms(s.tpot)) << "  (" << fmt("%+.3f", ms(s.tpot - prev)) << ")  "
               << s.what << "\n";
          prev = s.tpot;
        }
        text << "  => TPOT " << fmt("%.2f ms", ms(f.tpot)) << " vs " << fmt("%.2f ms", ms(f.paper.tpot))
             << ": " << fmt("%.2fx", f.slowdown) << " slower, " << fmt("%.1f tokens/s", f.tokens_per_s)
             << ".\n     Why: " << (f.step.exposed_comm < f.step.comm / 2.0
                                         ? "the per-micro-batch compute (weights and KV read from HBM at "
                                           "32 requests) is longer than the all-to-all, so the step is "
                                           "compute-bound and the network is hidden behind it"
                                         : "the all-to-all still dominates; the real hidden size, scales, "
                                           "latency and achieved bandwidth lengthen it")
             << ".\n";
        out["decode_limit_full"] = {{"tpot_s", f.tpot.seconds()},
                                    {"tokens_per_s", f.tokens_per_s},
                                    {"slowdown", f.slowdown},
                                    {"steps", steps},
                                    {"step", step_json(f.step)}};
      }
    }

    if (sc.serving && !sc.decode_limit) {
      const ServingSpec& s = *sc.serving;
      const ServingEstimate e = estimate_serving(s, true);
      const DecodeEstimate& dc = e.decode;
      out["tpot_s"] = dc.tpot.seconds();
      out["tokens_per_s_per_user"] = dc.tokens_per_s_per_user;
      out["decode_tokens_per_s_per_node"] = dc.tokens_per_s_per_node;
      out["decode_batch_per_gpu"] = dc.batch_per_gpu;
      out["decode_limited_by"] = dc.limited_by;
      out["decode_kv_capacity_requests_per_gpu"] = dc.kv_capacity;
      out["accepted_tokens_per_step"] = dc.accepted_per_step;
      out["decode_step"] = step_json(dc.step);
      out["prefill_tokens_per_s_per_node"] = e.prefill.input_tokens_per_s_per_node;
      out["prefill_new_tokens_per_s_per_gpu"] = e.prefill.new_tokens_per_s_per_gpu;
      out["prefill_step"] = step_json(e.prefill.step);
      out["ttft_s"] = e.ttft.seconds();
      out["prefill_nodes"] = e.prefill_nodes;
      out["decode_nodes"] = e.decode_nodes;
      out["total_nodes"] = e.total_nodes;
      out["cost_per_day_usd"] = e.cost_per_day_usd;
      out["usd_per_million_input_tokens"] = e.usd_per_m_input;
      out["usd_per_million_output_tokens"] = e.usd_per_m_output;
      out["meets_slo"] = e.meets_slo;
      if (!e.meets_slo) out["why_not"] = e.why_not;
      const KvConcurrency kv = kv_concurrency(s, s.decode, s.kv_context);
      out["kv_concurrency"] = json::array({kv_json(kv)});
      text << "\nSteady state (" << s.model.name << " on " << s.hardware.gpu << ", "
           << fmt("%.0f", e.arrival_rate) << " requests/s, " << fmt("%.3g", e.input_tokens_per_s)
           << " input + " << fmt("%.3g", e.output_tokens_per_s) << " output tokens/s):\n"
           << "  decode EP" << s.decode.ep << " x " << s.decode.nodes << " nodes: "
           << fmt("%.1f", dc.batch_per_gpu) << " requests/GPU (limited by " << dc.limited_by << "; KV holds "
           << fmt("%.1f", dc.kv_capacity) << "), " << fmt("%.2f", dc.accepted_per_step)
           << " tokens/step, TPOT " << fmt("%.2f ms", ms(dc.tpot)) << ", "
           << fmt("%.1f", dc.tokens_per_s_per_user) << " tokens/s per user, "
           << fmt("%.0f", dc.tokens_per_s_per_node) << " output tokens/s per node\n";
      print_step(text, "decode step", dc.step);
      text << "  prefill EP" << s.prefill.ep << " x " << s.prefill.nodes << " nodes: "
           << fmt("%.0f", e.prefill.tokens_per_gpu) << " new tokens/GPU per forward in "
           << fmt("%.1f ms", ms(e.prefill.step.total)) << ", " << fmt("%.0f", e.prefill.new_tokens_per_s_per_gpu)
           << " new tokens/s/GPU, " << fmt("%.0f", e.prefill.input_tokens_per_s_per_node)
           << " input tokens/s per node (incl. " << fmt("%.1f%%", 100 * s.traffic.cache_hit_rate)
           << " cache hits)\n";
      print_step(text, "prefill forward", e.prefill.step);
      text << "  pools: " << e.prefill_nodes << " prefill + " << e.decode_nodes << " decode = "
           << e.total_nodes << " nodes, " << fmt("$%.0f/day", e.cost_per_day_usd) << ", "
           << fmt("$%.3f", e.usd_per_m_input) << "/M input, " << fmt("$%.3f", e.usd_per_m_output)
           << "/M output; mean TTFT " << fmt("%.2f s", e.ttft.seconds())
           << (e.meets_slo ? "" : "  [SLO NOT MET: " + e.why_not + "]") << "\n";
      text << "\nConcurrent " << fmt("%.0f", s.kv_context) << "-token requests per " << s.hardware.gpu << ":\n";
      auto kv_line = [&](const KvConcurrency& k) {
        text << "  " << k.model << " (" << k.layout << "): KV " << k.kv_per_token.count() << " B/token, weights "
             << fmt("%.1f GB", k.weights_per_gpu.as_double() / 1e9) << "/GPU, KV space "
             << fmt("%.1f GB", k.kv_free_per_gpu.as_double() / 1e9) << "/GPU -> "
             << fmt("%.1f", k.requests_per_gpu) << " requests/GPU\n";
      };
      kv_line(kv);
      if (s.kv_comparison) {
        const KvConcurrency other = kv_concurrency(s, *s.kv_comparison);
        out["kv_concurrency"].push_back(kv_json(other));
        kv_line(other);
        if (other.requests_per_gpu > 0)
          text << "  ratio " << fmt("%.2fx", kv.requests_per_gpu / other.requests_per_gpu) << " (KV per token "
               << fmt("%.2fx", other.kv_per_token.as_double() / kv.kv_per_token.as_double()) << ")\n";
      }
      if (simulate) {
        const SimResult r = simulate_serving(s, e);
        out["simulation"] = sim_json(r);
        text << "\n" << sim_text(r);
      }
    }
    if (as_json)
      std::cout << out.dump(2) << "\n";
    else if (!global.quiet)
      std::cout << text.str();
    else
      std::cout << text.str();
    global.exit_code = 0;
  });
}

}  // namespace codesim::cli
