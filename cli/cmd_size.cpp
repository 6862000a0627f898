// codesim size FILE [--json]: the cheapest deployment (prefill and decode
// node counts, EP sizes, decode batch) that carries the scenario's traffic
// within its SLOs, with the runners-up. See workloads/serving_size.hpp.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.hpp"
#include "scenarios/scenario.hpp"
#include "workloads/serving_size.hpp"

namespace codesim::cli {
namespace {

using nlohmann::json;
using namespace codesim::workloads;

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

json candidate_json(const SizeCandidate& c, int gpn) {
  const ServingEstimate& e = c.estimate;
  return {{"prefill_ep", c.prefill.ep},
          {"decode_ep", c.decode.ep},
          {"prefill_units", e.prefill_units},
          {"decode_units", e.decode_units},
          {"prefill_nodes", e.prefill_nodes},
          {"decode_nodes", e.decode_nodes},
          {"total_nodes", e.total_nodes},
          {"gpus", e.total_nodes * gpn},
          {"cost_per_day_usd", e.cost_per_day_usd},
          {"usd_per_million_input_tokens", e.usd_per_m_input},
          {"usd_per_million_output_tokens", e.usd_per_m_output},
          {"prefill_tokens_per_s_per_node", e.prefill.input_tokens_per_s_per_node},
          {"decode_tokens_per_s_per_node", e.decode.tokens_per_s_per_node},
          {"decode_batch_per_gpu", e.decode.batch_per_gpu},
          {"decode_limited_by", e.decode.limited_by},
          {"tpot_s", e.decode.tpot.seconds()},
          {"tokens_per_s_per_user", e.decode.tokens_per_s_per_user},
          {"ttft_s", e.ttft.seconds()}};
}

std::string candidate_line(const SizeCandidate& c, int gpn) {
  const ServingEstimate& e = c.estimate;
  std::ostringstream o;
  o << "prefill EP" << c.prefill.ep << " x " << fmt("%.2f", e.prefill_units) << " units = "
    << fmt("%.2f", e.prefill_nodes) << " nodes, decode EP" << c.decode.ep << " x "
    << fmt("%.2f", e.decode_units) << " units = " << fmt("%.2f", e.decode_nodes) << " nodes (batch "
    << fmt("%.1f", e.decode.batch_per_gpu) << "/GPU, " << e.decode.limited_by << "): "
    << fmt("%.2f", e.total_nodes) << " nodes, " << fmt("%.0f", e.total_nodes * gpn) << " GPUs, "
    << fmt("$%.0f/day", e.cost_per_day_usd);
  return o.str();
}

}  // namespace

void register_size_commands(CLI::App& app, GlobalOptions& global) {
  auto* cmd = app.add_subcommand("size", "Find the cheapest inference deployment meeting the traffic and SLOs")
                  ->footer("Example:\n  codesim size scenarios/paper/v3-serve-day6.yaml --json\n"
                           "  codesim size scenarios/paper/v3-serve-day6.yaml --set serving.slo.tokens_per_s_per_user=30");
  static std::string file;
  static std::vector<std::string> overrides;
  static bool as_json = false;
  cmd->add_option("file", file, "Scenario file with a serving: section")->required()->check(CLI::ExistingFile);
  cmd->add_option("--set", overrides, "Override a key");
  cmd->add_flag("--json", as_json, "Print JSON");
  cmd->callback([&global] {
    scenarios::Scenario sc;
    config::Diagnostics d;
    if (!scenarios::load_scenario(file, overrides, sc, d)) {
      std::cerr << d.str();
      global.exit_code = 1;
      return;
    }
    if (!sc.serving) {
      std::cerr << file << ": no 'serving' section; nothing to size\n";
      global.exit_code = 1;
      return;
    }
    const ServingSpec& s = *sc.serving;
    const int gpn = s.hardware.gpus_per_node;
    const SizeResult r = size_deployment(s);
    if (r.ranked.empty()) {
      std::cerr << file << ": no deployment in the search space meets the SLOs (" << r.evaluated
                << " evaluated); widen serving.search or relax serving.slo\n";
      global.exit_code = 2;
      return;
    }
    const SizeCandidate& best = r.ranked.front();
    const ServingEstimate& e = best.estimate;
    const size_t n_runners = std::min(r.ranked.size() - 1, static_cast<size_t>(std::max(0, s.search.runners_up)));
    if (as_json) {
      json out = candidate_json(best, gpn);
      out["scenario"] = sc.name;
      out["evaluated"] = r.evaluated;
      out["infeasible"] = r.infeasible;
      out["integer_units"] = s.search.integer_units;
      out["input_tokens_per_s"] = e.input_tokens_per_s;
      out["output_tokens_per_s"] = e.output_tokens_per_s;
      json ru = json::array();
      for (size_t i = 1; i <= n_runners; ++i) ru.push_back(candidate_json(r.ranked[i], gpn));
      out["runners_up"] = ru;
      std::cout << out.dump(2) << "\n";
    } else {
      std::cout << sc.name << ": " << fmt("%.3g", e.input_tokens_per_s) << " input + "
                << fmt("%.3g", e.output_tokens_per_s) << " output tokens/s; " << r.evaluated
                << " deployments evaluated, " << r.infeasible << " miss the SLOs\n\n"
                << "Cheapest: " << candidate_line(best, gpn) << "\n"
                << "  prefill " << fmt("%.0f", e.prefill.input_tokens_per_s_per_node)
                << " input tokens/s per node, decode " << fmt("%.0f", e.decode.tokens_per_s_per_node)
                << " output tokens/s per node, TPOT " << fmt("%.1f ms", e.decode.tpot / Milliseconds(1)) << " ("
                << fmt("%.1f", e.decode.tokens_per_s_per_user) << " tokens/s per user), mean TTFT "
                << fmt("%.2f s", e.ttft.seconds()) << "\n"
                << "  " << fmt("$%.3f", e.usd_per_m_input) << " per million input tokens, "
                << fmt("$%.3f", e.usd_per_m_output) << " per million output tokens"
                << (s.search.integer_units ? "" : " (time-averaged fractional units)") << "\n";
      if (n_runners) std::cout << "\nRunners-up:\n";
      for (size_t i = 1; i <= n_runners; ++i) std::cout << "  " << i + 1 << ". " << candidate_line(r.ranked[i], gpn) << "\n";
    }
    global.exit_code = 0;
  });
}

}  // namespace codesim::cli
