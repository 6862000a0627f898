// codesim size FILE [--json|--csv] [--report DIR]: the cheapest deployment
// (prefill and decode node counts, EP sizes, decode batch) that carries the
// scenario's traffic within its SLOs, with the runners-up. See
// workloads/serving_size.hpp. --csv prints one row per deployment shown
// (the cheapest first); the report plots their decode throughput against
// TPOT with the SLO, their node counts, and the KV cache capacity.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <unistd.h>

#include "cli/commands.hpp"
#include "cli/output_flags.hpp"
#include "reports/charts_forms.hpp"
#include "reports/charts_serving.hpp"
#include "scenarios/scenario.hpp"
#include "workloads/inference_memory.hpp"
#include "workloads/serving_fleet.hpp"
#include "workloads/serving_size.hpp"
#include "sim/strings.hpp"

namespace codesim::cli {
namespace {

using nlohmann::json;
using namespace codesim::workloads;

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
          {"prefill_tokens_per_s_per_node_average", e.input_tokens_per_s_per_prefill_node},
          {"decode_tokens_per_s_per_node_average", e.output_tokens_per_s_per_decode_node},
          {"decode_batch_per_gpu", e.decode.batch_per_gpu},
          {"mtp_depth", c.mtp.depth},
          {"kv_precision", std::string(config::enum_to_string(c.decode.kv_precision))},
          {"decode_limited_by", e.decode.limited_by},
          {"tpot_s", e.decode.tpot.seconds()},
          {"tokens_per_s_per_user", e.decode.tokens_per_s_per_user},
          {"ttft_s", e.ttft.seconds()}};
}

std::string candidate_line(const SizeCandidate& c, int gpn) {
  const ServingEstimate& e = c.estimate;
  std::ostringstream o;
  o << "prefill EP" << c.prefill.ep << " x " << sim::strprintf("%.2f", e.prefill_units) << " units = "
    << sim::strprintf("%.2f", e.prefill_nodes) << " nodes, decode EP" << c.decode.ep << " x "
    << sim::strprintf("%.2f", e.decode_units) << " units = " << sim::strprintf("%.2f", e.decode_nodes) << " nodes (batch "
    << sim::strprintf("%.1f", e.decode.batch_per_gpu) << "/GPU, " << e.decode.limited_by << "; MTP " << c.mtp.depth
    << ", KV " << config::enum_to_string(c.decode.kv_precision) << "): "
    << sim::strprintf("%.2f", e.total_nodes) << " nodes, " << sim::strprintf("%.0f", e.total_nodes * gpn) << " GPUs, "
    << sim::strprintf("$%.0f/day", e.cost_per_day_usd);
  return o.str();
}

// What one searched choice (MTP depth, KV precision) is worth: the cheapest
// deployment that makes it, one line per value.
std::vector<std::string> option_lines(const SizeResult& r) {
  std::vector<std::string> out;
  if (r.ranked.empty()) return out;
  const double base = r.ranked.front().estimate.cost_per_day_usd;
  auto add = [&](const std::vector<SizeOption>& opts, const char* what) {
    for (const SizeOption& o : opts) {
      const ServingEstimate& e = r.ranked[o.rank].estimate;
      out.push_back(sim::strprintf("%s %s: %.2f nodes, $%.0f/day (%+.1f%% against the cheapest), decode %.0f output "
                                   "tokens/s per node at batch %.1f/GPU (rank %zu)",
                                   what, o.value.c_str(), e.total_nodes, e.cost_per_day_usd,
                                   100 * (e.cost_per_day_usd / base - 1), e.decode.tokens_per_s_per_node,
                                   e.decode.batch_per_gpu, o.rank + 1));
    }
  };
  add(r.by_mtp_depth, "MTP depth");
  add(r.by_kv_precision, "KV");
  return out;
}

json options_json(const SizeResult& r, const std::vector<SizeOption>& opts, int gpn) {
  json a = json::array();
  for (const SizeOption& o : opts) {
    json j = candidate_json(r.ranked[o.rank], gpn);
    j["rank"] = o.rank + 1;
    a.push_back(j);
  }
  return a;
}

// One row per deployment shown, the keys of candidate_json.
// `rank_alone`: each row's rank in the units-alone ranking; `shared`: its
// figures are the shared fabric's (a fleet-checked headline), else each
// unit's alone; `shared_nodes`/`shared_cost`: a replayed runner-up's figures
// on the shared fabric (< 0: not replayed).
struct ShownRow {
  size_t rank_alone = 0;
  bool shared = false;
  double shared_nodes = -1, shared_cost = -1;
};
reports::ResultTable candidates_table(const std::vector<SizeCandidate>& shown, const std::vector<ShownRow>& rows,
                                      int gpn) {
  reports::ResultTable t("Deployments: the cheapest, then the runners-up by their cost with each unit alone");
  t.add_column("rank")
      .add_column("rank_alone", "rank alone")
      .add_column("figures")
      .add_column("prefill_ep", "prefill EP")
      .add_column("decode_ep", "decode EP")
      .add_column("prefill_units", "prefill units", 2)
      .add_column("decode_units", "decode units", 2)
      .add_column("prefill_nodes", "prefill nodes", 2)
      .add_column("decode_nodes", "decode nodes", 2)
      .add_column("total_nodes", "nodes", 2)
      .add_column("gpus", "GPUs", 0)
      .add_column("cost_per_day_usd", "$/day", 0)
      .add_column("usd_per_million_input_tokens", "$/M input", 3)
      .add_column("usd_per_million_output_tokens", "$/M output", 3)
      .add_column("prefill_tokens_per_s_per_node", "prefill tokens/s per node", 0)
      .add_column("decode_tokens_per_s_per_node", "decode tokens/s per node", 0)
      .add_column("decode_batch_per_gpu", "batch/GPU", 1)
      .add_column("mtp_depth", "MTP depth")
      .add_column("kv_precision", "KV")
      .add_column("decode_limited_by", "limited by")
      .add_column("tpot_s", "TPOT (s)", 5)
      .add_column("tokens_per_s_per_user", "tokens/s per user", 1)
      .add_column("ttft_s", "TTFT (s)", 3)
      .add_column("shared_fabric_total_nodes", "nodes on the shared fabric", 2)
      .add_column("shared_fabric_cost_per_day_usd", "$/day on the shared fabric", 0);
  for (size_t i = 0; i < shown.size(); ++i) {
    const SizeCandidate& c = shown[i];
    const ServingEstimate& e = c.estimate;
    const ShownRow& w = rows[i];
    auto opt = [](double v) { return v >= 0 ? reports::Cell(v) : reports::Cell(); };
    const bool shared = w.shared;
    t.add_row({static_cast<int64_t>(i + 1), static_cast<int64_t>(w.rank_alone),
               std::string(shared ? "shared fabric" : "units alone"), c.prefill.ep, c.decode.ep,
               e.prefill_units, e.decode_units,
               e.prefill_nodes, e.decode_nodes, e.total_nodes, e.total_nodes * gpn, e.cost_per_day_usd,
               e.usd_per_m_input, e.usd_per_m_output, e.prefill.input_tokens_per_s_per_node,
               e.decode.tokens_per_s_per_node, e.decode.batch_per_gpu, static_cast<int64_t>(c.mtp.depth),
               std::string(config::enum_to_string(c.decode.kv_precision)), e.decode.limited_by, e.decode.tpot.seconds(),
               e.decode.tokens_per_s_per_user, e.ttft.seconds(), shared ? reports::Cell(e.total_nodes) : opt(w.shared_nodes),
               shared ? reports::Cell(e.cost_per_day_usd) : opt(w.shared_cost)});
  }
  return t;
}

reports::Report size_report(const scenarios::Scenario& sc, const ServingSpec& s, const SizeResult& r,
                            const std::vector<SizeCandidate>& shown, const reports::ResultTable& table) {
  reports::Report rep("codesim size " + sc.name);
  if (!sc.description.empty()) rep.paragraph(sc.description);
  const ServingEstimate& e = shown.front().estimate;
  rep.paragraph(sim::strprintf("%.3g", e.input_tokens_per_s) + " input + " + sim::strprintf("%.3g", e.output_tokens_per_s) +
                " output tokens/s; " + std::to_string(r.evaluated) + " deployments evaluated, " +
                std::to_string(r.infeasible) + " miss the SLOs.");
  rep.table(reports::select_columns(
      table, {"rank", "prefill_ep", "decode_ep", "prefill_nodes", "decode_nodes", "total_nodes", "gpus",
              "cost_per_day_usd", "decode_tokens_per_s_per_node", "decode_batch_per_gpu", "mtp_depth", "kv_precision",
              "decode_limited_by", "tpot_s", "ttft_s"}));
  rep.paragraph("A selection of the columns; --csv prints them all.");
  if (const std::vector<std::string> lines = option_lines(r); !lines.empty()) {
    std::string p = "What each choice is worth (the cheapest deployment that makes it): ";
    for (size_t i = 0; i < lines.size(); ++i) p += (i ? "; " : "") + lines[i];
    rep.paragraph(p + ".");
  }
  rep.chart("throughput-vs-tpot", reports::svg::render(reports::size_candidates_chart(shown, s)),
            "Decode output tokens/s per node against TPOT: the cheapest deployment's decode plan as its batch "
            "grows from 1 request per GPU to what the KV cache holds, and the operating point of each deployment "
            "shown (#rank, prefill/decode EP); the dashed line is the TPOT SLO.");
  rep.chart("nodes", reports::svg::render(reports::size_nodes_chart(shown)),
            "Prefill and decode nodes of each deployment.");
  std::vector<KvConcurrency> kvs = {kv_concurrency(s, shown.front().decode, s.kv_context)};
  if (s.kv_comparison) kvs.push_back(kv_concurrency(s, *s.kv_comparison));
  rep.chart("kv-capacity", reports::svg::render(reports::kv_capacity_chart(kvs)),
            "Concurrent requests one GPU's KV cache holds, per model (the cheapest deployment's decode plan).");
  return rep;
}

}  // namespace

void register_size_commands(CLI::App& app, GlobalOptions& global) {
  auto* cmd = app.add_subcommand("size", "Find the cheapest inference deployment meeting the traffic and SLOs")
                  ->footer("Example:\n  codesim size scenarios/paper/v3-serve-day6.yaml --json\n"
                           "  codesim size scenarios/paper/v3-serve-day6.yaml --set serving.slo.tokens_per_s_per_user=30\n"
                           "  codesim size scenarios/paper/v3-serve-day6.yaml --csv\n"
                           "  codesim size scenarios/paper/v3-serve-day6.yaml --report out/size");
  static std::string file;
  static std::vector<std::string> overrides;
  static reports::OutputOptions oo;
  cmd->add_option("file", file, "Scenario file with a serving: section")->required()->check(CLI::ExistingFile);
  cmd->add_option("--set", overrides, "Override a key");
  add_output_flags(cmd, oo);
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
    // Progress on a terminal: the pool estimates (each unit's all-to-all on
    // the flow engine), then the fleet replays.
    const bool tty = isatty(STDERR_FILENO) && !global.quiet;
    const auto t0 = std::chrono::steady_clock::now();
    auto show = [&](const char* what, size_t done, size_t total, bool last) {
      if (!tty) return;
      const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::fprintf(stderr, "\r  %s %zu/%zu  %.1fs elapsed ", what, done, total, el);
      if (last) std::fprintf(stderr, "\n");
    };
    bool progress_shown = false;
    const SizeResult r = size_deployment(s, [&](size_t done, size_t total) {
      show("pool estimates", done, total, false);
      progress_shown = true;
    });
    if (tty && progress_shown) std::fprintf(stderr, "\n");  // (the total is an upper bound: end the line here)
    if (r.ranked.empty()) {
      if (r.evaluated == 0)
        std::cerr << file << ": no deployment to evaluate: serving.search.prefill_ep and decode_ep must each list "
                  << "at least one EP size of whole nodes of " << gpn << " GPUs (hardware.gpus_per_node)\n";
      else
        std::cerr << file << ": no deployment in the search space meets the SLOs (" << r.evaluated
                  << " evaluated); widen serving.search or relax serving.slo\n";
      global.exit_code = 2;
      return;
    }
    // The search ranks deployments with each unit's all-to-all timed alone.
    // With fleet_replay, candidates are then replayed as whole fleets on one
    // fabric and re-sized at the shared rates (workloads/serving_fleet.hpp),
    // cheapest alone first, as a branch and bound: sharing a fabric does not
    // speed a unit up (true of every fleet replayed, though max-min sharing
    // does not promise it), so a deployment's cost alone bounds its shared
    // cost from below, and the replays stop once the next candidate alone costs
    // at least the best shared one that meets the SLOs (or after
    // kMaxFleetChecks). The headline ("Cheapest") is that best: the units and
    // cost it needs on the shared fabric.
    // (Each fleet replay takes 0.2-2 s at the day-6 scale: at most 8 keeps a
    // search on an oversubscribed fabric within seconds; the 2:1 FT2 case
    // proves its best after 7.)
    constexpr size_t kMaxFleetChecks = 8;
    FleetEstimate fleet_est;
    FleetTail tail;
    // Rank (0-based) of the candidate the fleet check reports: the headline's
    // (0 unless a replay met the SLOs; then the cheapest on the shared fabric).
    size_t fleet_index = 0;
    size_t fleet_tried = 0;  // candidates whose fleet was replayed and estimated
    bool fleet_ok = false;   // fleet_est meets the SLOs on the shared fabric
    bool fleet_proven = false;  // no unreplayed candidate can be cheaper shared
    struct Replayed {
      size_t rank;
      double nodes, cost;
      bool ok;
    };
    std::vector<Replayed> replayed;
    std::vector<std::pair<size_t, std::string>> unreplayed;  // later candidates whose fleet could not be replayed
    if (s.hardware.fleet_replay && s.hardware.fabric) {
      const size_t checks = std::min(r.ranked.size(), kMaxFleetChecks);
      double bound = std::numeric_limits<double>::infinity();
      size_t i = 0;
      for (; i < checks; ++i) {
        if (fleet_ok && r.ranked[i].estimate.cost_per_day_usd >= bound) break;
        const ServingSpec chosen = candidate_spec(s, r.ranked[i]);
        show("fleet replays (at most)", i + 1, checks, false);
        FleetEstimate fe = estimate_with_fleet(chosen, r.ranked[i].estimate, s.search.units);
        if (!fe.estimate) {  // not replayed (e.g. the fabric cannot hold it): nothing shared to check
          if (i == 0) {
            fleet_est = std::move(fe);
            break;
          }
          // A later candidate: skip it; its shared cost is unknown, so the
          // result is not proven the cheapest unless the bound passes it.
          unreplayed.push_back({i, fe.fleet.note});
          continue;
        }
        ++fleet_tried;
        const bool ok = fe.estimate->meets_slo;
        replayed.push_back({i, fe.estimate->total_nodes, fe.estimate->cost_per_day_usd, ok});
        if (ok && fe.estimate->cost_per_day_usd < bound) {
          bound = fe.estimate->cost_per_day_usd;
          fleet_est = std::move(fe);
          fleet_index = i;
          fleet_ok = true;
        } else if (i == 0) {
          fleet_est = std::move(fe);
        }
      }
      fleet_proven = fleet_ok && (i >= r.ranked.size() || r.ranked[i].estimate.cost_per_day_usd >= bound);
      for (const auto& u : unreplayed)
        if (r.ranked[u.first].estimate.cost_per_day_usd < bound) fleet_proven = false;
      if (tty && checks > 0) std::fprintf(stderr, "\n");
      if (fleet_est.estimate) tail = fleet_tail(fleet_est.spec, *fleet_est.estimate, fleet_est.fleet);
    }
    // The headline: the fleet-checked best at its shared rates where one met
    // the SLOs, else the ranking's first alone.
    const SizeCandidate& alone = r.ranked[fleet_index];
    SizeCandidate best = alone;
    if (fleet_ok) best.estimate = *fleet_est.estimate;
    const ServingEstimate& e = best.estimate;
    // The shared fabric changed the answer (another candidate, or its cost by
    // more than rounding): say how.
    const bool moved = fleet_ok && (fleet_index > 0 || std::abs(e.cost_per_day_usd / alone.estimate.cost_per_day_usd - 1) > 1e-4);
    const FleetComm& fleet = fleet_est.fleet;
    const std::optional<ServingEstimate>& shared = fleet_est.estimate;
    // Runners-up: the units-alone ranking without the headline's candidate.
    std::vector<size_t> runners;
    for (size_t i = 0; i < r.ranked.size() && runners.size() < static_cast<size_t>(std::max(0, s.search.runners_up)); ++i)
      if (i != fleet_index) runners.push_back(i);
    auto replay_of = [&](size_t rank) -> const Replayed* {
      for (const Replayed& x : replayed)
        if (x.rank == rank) return &x;
      return nullptr;
    };
    const reports::OutputOptions opt = with_quiet(oo, global);
    reports::Forms forms;
    std::ostringstream text;
    if (opt.json) {
      json out = candidate_json(best, gpn);
      out["scenario"] = sc.name;
      out["evaluated"] = r.evaluated;
      out["infeasible"] = r.infeasible;
      out["units"] = std::string(config::enum_to_string(s.search.units));
      out["input_tokens_per_s"] = e.input_tokens_per_s;
      out["output_tokens_per_s"] = e.output_tokens_per_s;
      out["ranked_on"] = fleet_ok ? "shared fabric" : "units alone";
      if (fleet_ok) out["units_alone"] = candidate_json(alone, gpn);
      json ru = json::array();
      for (size_t i : runners) {
        json j = candidate_json(r.ranked[i], gpn);
        j["rank_alone"] = i + 1;
        if (const Replayed* x = replay_of(i))
          j["shared_fabric"] = {{"total_nodes", x->nodes}, {"cost_per_day_usd", x->cost}, {"meets_slo", x->ok}};
        ru.push_back(j);
      }
      out["runners_up"] = ru;
      if (!r.by_mtp_depth.empty()) out["by_mtp_depth"] = options_json(r, r.by_mtp_depth, gpn);
      if (!r.by_kv_precision.empty()) out["by_kv_precision"] = options_json(r, r.by_kv_precision, gpn);
      if (!fleet.note.empty()) {
        json fc = {{"replayed", fleet.replayed}, {"note", fleet.note}, {"candidate_rank", fleet_index + 1},
                   {"candidates_checked", fleet_tried}, {"candidate", candidate_json(r.ranked[fleet_index], gpn)},
                   {"cheapest_proven", fleet_proven}};
        json reps = json::array();
        for (const Replayed& x : replayed)
          reps.push_back({{"rank_alone", x.rank + 1}, {"total_nodes", x.nodes}, {"cost_per_day_usd", x.cost},
                          {"meets_slo", x.ok}});
        fc["replays"] = reps;
        json skipped = json::array();
        for (const auto& u : unreplayed) skipped.push_back({{"rank_alone", u.first + 1}, {"why", u.second}});
        if (!skipped.empty()) fc["not_replayed"] = skipped;
        if (!fleet_est.stopped.empty()) fc["stopped"] = fleet_est.stopped;
        if (shared) {
          fc["slowest_unit_tpot_s"] = tail.decode_tpot.seconds();
          fc["slowest_unit_ttft_s"] = tail.ttft.seconds();
          if (!tail.warning.empty()) fc["tail_warning"] = tail.warning;
          fc["prefill_nodes"] = shared->prefill_nodes;
          fc["decode_nodes"] = shared->decode_nodes;
          fc["total_nodes"] = shared->total_nodes;
          fc["cost_per_day_usd"] = shared->cost_per_day_usd;
          fc["meets_slo"] = shared->meets_slo;
          fc["settled"] = fleet_est.settled;
          if (!shared->meets_slo) fc["why_not"] = shared->why_not;
        }
        out["fleet_check"] = fc;
      }
      forms.json_text = out.dump(2) + "\n";
    } else {
      text << sc.name << ": " << sim::strprintf("%.3g", e.input_tokens_per_s) << " input + "
                << sim::strprintf("%.3g", e.output_tokens_per_s) << " output tokens/s; " << r.evaluated
                << " deployments evaluated, " << r.infeasible << " miss the SLOs\n\n"
                << "Cheapest: " << candidate_line(best, gpn) << "\n"
                << "  prefill " << sim::strprintf("%.0f", e.prefill.input_tokens_per_s_per_node)
                << " input tokens/s per node, decode " << sim::strprintf("%.0f", e.decode.tokens_per_s_per_node)
                << " output tokens/s per node at the SLO (fleet average " << sim::strprintf("%.0f", e.input_tokens_per_s_per_prefill_node)
                << " / " << sim::strprintf("%.0f", e.output_tokens_per_s_per_decode_node) << ", "
                << config::enum_to_string(s.search.units) << " units), TPOT " << sim::strprintf("%.1f ms", e.decode.tpot / Milliseconds(1)) << " ("
                << sim::strprintf("%.1f", e.decode.tokens_per_s_per_user) << " tokens/s per user), mean TTFT "
                << sim::strprintf("%.2f s", e.ttft.seconds()) << "\n"
                << "  " << sim::strprintf("$%.3f", e.usd_per_m_input) << " per million input tokens, "
                << sim::strprintf("$%.3f", e.usd_per_m_output) << " per million output tokens"
                << (s.search.units == UnitCount::kWhole ? "" : " (time-averaged units)") << "\n";
      if (moved) {
        text << "  ranked on the shared fabric: with each unit alone it takes " << sim::strprintf("%.2f", alone.estimate.total_nodes)
             << " nodes, " << sim::strprintf("$%.0f/day", alone.estimate.cost_per_day_usd) << " (rank " << fleet_index + 1
             << " of the units-alone ranking); " << fleet_tried << " candidate" << (fleet_tried == 1 ? "" : "s")
             << " replayed as whole fleets, "
             << (fleet_proven ? std::string("no other can be cheaper on it (each costs at least its units-alone figure)")
                 : !unreplayed.empty()
                     ? "the cheapest shared is not proven (candidate " + std::to_string(unreplayed.front().first + 1) +
                           " could not be replayed: " + unreplayed.front().second + ")"
                     : "the cheapest shared is not proven (replays stop at " + std::to_string(kMaxFleetChecks) + ")")
             << "\n";
      }
      if (!fleet.note.empty()) {
        text << "  fleet check";
        if (fleet_index > 0) text << " (candidate " << fleet_index + 1 << " of the units-alone ranking)";
        text << ": " << fleet.note << "\n";
        if (shared) {
          text << "    at those rates: " << sim::strprintf("%.2f", shared->total_nodes) << " nodes, "
               << sim::strprintf("$%.0f/day", shared->cost_per_day_usd);
          if (shared->meets_slo)
            text << ", meets the SLOs";
          else
            text << ", SLOs NOT met" << (fleet_tried > 1 ? " by any of the " + std::to_string(fleet_tried) +
                                                               " candidates checked"
                                                         : std::string())
                 << ": " << shared->why_not;
          text << (fleet_est.settled ? "" : " (" + fleet_est.unsettled() + ")") << "\n";
          text << "    slowest units: decode TPOT " << sim::strprintf("%.2f ms", tail.decode_tpot / Milliseconds(1))
               << ", prefill mean TTFT " << sim::strprintf("%.2f s", tail.ttft.seconds())
               << (tail.warning.empty() ? "" : "  [" + tail.warning + "]") << "\n";
        }
      }
      if (!runners.empty())
        text << "\nRunners-up"
             << (fleet_ok ? (replayed.size() > 1 ? " (ranked with each unit alone; rank, then the shared fabric's figures where replayed)"
                                                 : " (ranked with each unit alone)")
                          : "")
             << ":\n";
      for (size_t i : runners) {
        text << "  " << i + 1 << ". " << candidate_line(r.ranked[i], gpn);
        if (const Replayed* x = replay_of(i))
          text << "; shared fabric: " << sim::strprintf("%.2f", x->nodes) << " nodes, " << sim::strprintf("$%.0f/day", x->cost)
               << (x->ok ? "" : ", misses the SLOs");
        text << "\n";
      }
      if (const std::vector<std::string> lines = option_lines(r); !lines.empty()) {
        text << "\nWhat each choice is worth (the cheapest deployment that makes it" << (moved ? ", each unit alone" : "") << "):\n";
        for (const std::string& l : lines) text << "  " << l << "\n";
      }
      forms.human_text = text.str();
    }
    std::vector<SizeCandidate> shown = {best};
    std::vector<ShownRow> shown_rows = {{fleet_index + 1, fleet_ok}};
    for (size_t i : runners) {
      shown.push_back(r.ranked[i]);
      ShownRow w{i + 1};
      if (const Replayed* x = replay_of(i)) w.shared_nodes = x->nodes, w.shared_cost = x->cost;
      shown_rows.push_back(w);
    }
    const reports::ResultTable table = candidates_table(shown, shown_rows, gpn);
    forms.csv_table = &table;
    std::optional<reports::Report> rep;
    if (!opt.report_dir.empty()) {
      rep.emplace(size_report(sc, s, r, shown, table));
      forms.report = &*rep;
    }
    global.exit_code = reports::emit_forms(forms, opt, std::cout, std::cerr);
  });
}

}  // namespace codesim::cli
