// codesim net FILE [--json|--csv] [--report DIR] [--compare-routing]
// [--trace OUT] [--simgrid]: replay one communication pattern (scenario
// `comm`) on the scenario's fabric (`cluster`) with its routing policy and
// faults (`network`). The report draws the busiest links' utilisation over
// time (heatmap, from the last policy's replay) and, with
// --compare-routing, the completion time per policy.
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/output_flags.hpp"
#include "reports/charts_fabric.hpp"
#include "reports/charts_forms.hpp"
#include "scenarios/scenario.hpp"
#include "sim/collectives.hpp"
#include "sim/simgrid_backend.hpp"
#include "sim/task_graph.hpp"
#include "topology/generators.hpp"
#include "topology/routing.hpp"
#include "sim/strings.hpp"

namespace codesim::cli {
namespace {

struct NetOptions {
  std::string file;
  std::vector<std::string> overrides;
  reports::OutputOptions out;
  bool compare = false;
  bool simgrid = false;
  std::string trace;
};

sim::CommPattern make_pattern(const scenarios::CommSpec& c, int gpus) {
  const int n = c.group > 0 ? std::min(c.group, gpus) : gpus;
  const auto g = sim::iota_group(n);
  using K = scenarios::CommPatternKind;
  switch (c.pattern) {
    case K::kAllToAll: return sim::all_to_all(g, c.size);
    case K::kAllToAllPeers: return sim::all_to_all_peers(g, c.peers, c.size);
    case K::kRingAllReduce: return sim::ring_allreduce(g, c.size);
    case K::kTreeAllReduce: return sim::tree_allreduce(g, c.size);
    case K::kReduceScatter: return sim::ring_reduce_scatter(g, c.size);
    case K::kAllGather: return sim::ring_all_gather(g, c.size);
    case K::kSendRecv: return sim::send_recv(c.src, c.dst, c.size);
  }
  return {};
}

std::vector<sim::LinkFault> make_faults(const scenarios::NetworkSpec& n, const topology::Fabric& f,
                                        std::string& error) {
  std::vector<sim::LinkFault> out;
  std::vector<topology::VertexId> switches;
  for (topology::VertexId v = 0; v < boost::num_vertices(f.graph); ++v)
    if (f.graph[v].kind == topology::DeviceKind::kSwitch) switches.push_back(v);
  for (const auto& x : n.faults) {
    sim::LinkFault lf;
    lf.at = Time::zero() + x.at;
    lf.factor = x.factor;
    using T = scenarios::FaultTarget;
    switch (x.target) {
      case T::kLink:
        if (static_cast<size_t>(x.id) >= f.num_links()) {
          error = "network.faults: link id " + std::to_string(x.id) + " out of range (fabric has " +
                  std::to_string(f.num_links()) + " cables)";
          return {};
        }
        lf.links = {2 * x.id, 2 * x.id + 1};
        lf.what = "cable " + std::to_string(x.id);
        break;
      case T::kSwitch:
        if (static_cast<size_t>(x.id) >= switches.size()) {
          error = "network.faults: switch id " + std::to_string(x.id) + " out of range (fabric has " +
                  std::to_string(switches.size()) + " switches)";
          return {};
        }
        lf.links = topology::links_of_vertex(f, switches[static_cast<size_t>(x.id)]);
        lf.what = "switch " + std::to_string(x.id);
        break;
      case T::kPlane:
        lf.links = topology::links_of_plane(f, x.id);
        if (lf.links.empty()) {
          error = "network.faults: plane " + std::to_string(x.id) + " has no links (fabric has " +
                  std::to_string(f.planes) + " planes)";
          return {};
        }
        lf.what = "plane " + std::to_string(x.id);
        break;
      case T::kNic:
        if (x.id >= f.num_gpus()) {
          error = "network.faults: GPU id " + std::to_string(x.id) + " out of range";
          return {};
        }
        for (auto nic : f.gpu_nics[static_cast<size_t>(x.id)]) {
          auto ls = topology::links_of_vertex(f, nic);
          lf.links.insert(lf.links.end(), ls.begin(), ls.end());
        }
        lf.what = "NIC of GPU " + std::to_string(x.id);
        break;
    }
    out.push_back(std::move(lf));
  }
  return out;
}

struct Outcome {
  std::string routing;
  double seconds = 0;
  uint64_t flows = 0;
  double algbw = 0, busbw = 0;
  double wall = 0;
  sim::ReplayResult r;
};

Outcome run_once(const topology::Fabric& f, const sim::LinkTable& links, const scenarios::Scenario& s,
                 topology::RoutingPolicy pol, const std::vector<sim::LinkFault>& faults,
                 std::vector<sim::UtilisationSample>* util, sim::TaskGraph& g) {
  const auto& net = *s.network;
  topology::RoutingOptions ro;
  ro.policy = pol;
  ro.seed = static_cast<uint64_t>(net.seed);
  ro.rail_forwarding = net.rail_forwarding;
  ro.pxn_sender_side = net.pxn_sender_side;
  topology::Router router(f, ro);
  g = sim::TaskGraph{};
  const sim::CommPattern p = make_pattern(*s.comm, f.num_gpus());
  const Bytes alg = p.algorithm_bytes;
  const double bus_factor = p.bus_factor;
  g.add_comm(p.name, 0, 1, p);
  sim::ReplayOptions opt;
  opt.network.merge_quantum = net.merge_quantum;
  opt.network.message_overhead = net.message_overhead;
  opt.network.flowlet_gap = net.flowlet_gap;
  const auto t0 = std::chrono::steady_clock::now();
  Outcome o;
  o.r = sim::replay(g, links, router, opt, faults, util);
  o.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  o.routing = std::string(config::enum_to_string(pol));
  o.seconds = o.r.makespan.seconds();
  o.flows = o.r.network.flows_started;
  // A collective with undelivered flows never completed: it has no
  // bandwidth (counting its bytes over the delivered flows' time would
  // overstate it, 266 GB/s on a 50 GB/s NIC).
  o.algbw = o.seconds > 0 && o.r.undelivered_flows == 0 ? alg.as_double() / o.seconds / 1e9 : 0;
  o.busbw = o.algbw * bus_factor;
  return o;
}

nlohmann::json to_json(const Outcome& o) {
  nlohmann::json j = {{"routing", o.routing},
                      {"completion_time_s", o.seconds},
                      {"flows", o.flows},
                      {"algorithm_bandwidth_GBps", o.algbw},
                      {"bus_bandwidth_GBps", o.busbw},
                      {"events", o.r.network.events},
                      {"solves", o.r.network.solves},
                      {"undelivered_flows", o.r.undelivered_flows},
                      {"rerouted_flows", o.r.rerouted_flows},
                      {"degraded_flows", o.r.degraded_flows},
                      {"faults_applied", o.r.faults_applied},
                      {"wall_time_s", o.wall}};
  return j;
}

reports::ResultTable routing_table(const std::vector<Outcome>& outs) {
  reports::ResultTable t("Replay per routing policy");
  t.add_column("routing")
      .add_column("completion_time_s", "completion (s)", 6)
      .add_column("flows")
      .add_column("algorithm_bandwidth_GBps", "algbw (GB/s)", 3)
      .add_column("bus_bandwidth_GBps", "busbw (GB/s)", 3)
      .add_column("undelivered_flows", "undelivered")
      .add_column("rerouted_flows", "re-routed")
      .add_column("degraded_flows", "slowed")
      .add_column("events")
      .add_column("solves")
      .add_column("wall_time_s", "wall (s)", 3);
  for (const auto& x : outs)
    t.add_row({x.routing, x.seconds, static_cast<int64_t>(x.flows), x.algbw, x.busbw,
               static_cast<int64_t>(x.r.undelivered_flows), static_cast<int64_t>(x.r.rerouted_flows),
               static_cast<int64_t>(x.r.degraded_flows), static_cast<int64_t>(x.r.network.events),
               static_cast<int64_t>(x.r.network.solves), x.wall});
  return t;
}

reports::Report net_report(const scenarios::Scenario& s, const topology::Fabric& f, const sim::LinkTable& links,
                           const std::vector<Outcome>& outs, const std::vector<sim::UtilisationSample>& util,
                           const reports::ResultTable& table) {
  reports::Report rep("codesim net " + s.name);
  if (!s.description.empty()) rep.paragraph(s.description);
  rep.paragraph(f.kind + ", " + std::to_string(f.num_gpus()) + " GPUs, " +
                std::string(config::enum_to_string(s.comm->pattern)) + " " + to_string(s.comm->size) + ".");
  rep.table(table);
  const Outcome& last = outs.back();
  const auto u = reports::bin_utilisation(util, links, last.r.makespan);
  if (!u.links.empty())
    rep.chart("link-utilisation",
              reports::svg::render(reports::link_utilisation_heatmap(
                  u, links, "Link utilisation over time (" + last.routing + ", busiest links)")),
              "Mean utilisation (rate / capacity) of the " + std::to_string(u.links.size()) +
                  " links that carried the most bytes, per time bin, under " + last.routing + " routing.");
  if (outs.size() > 1) {
    std::vector<std::string> names;
    std::vector<double> ms;
    for (const auto& x : outs) {
      names.push_back(x.routing);
      ms.push_back(x.seconds * 1e3);
    }
    rep.chart("completion-per-routing", reports::svg::render(reports::routing_completion_chart(names, ms)),
              "Completion time of the pattern under each routing policy.");
  }
  std::string faults;
  for (const auto& x : outs)
    for (const auto& fa : x.r.faults_applied) faults += x.routing + ": " + fa + "\n";
  if (!faults.empty()) {
    rep.heading("Faults applied");
    rep.preformatted(faults);
  }
  return rep;
}

int run_net(const NetOptions& o, GlobalOptions& global) {
  const reports::OutputOptions opt = with_quiet(o.out, global);
  scenarios::Scenario s;
  config::Diagnostics d;
  if (!scenarios::load_scenario(o.file, o.overrides, s, d)) {
    std::cerr << d.str();
    return 1;
  }
  std::string missing;
  if (!s.cluster) missing += " cluster";
  if (!s.comm) missing += " comm";
  if (!missing.empty()) {
    std::cerr << o.file << ": codesim net needs the section(s):" << missing << "\n";
    return 1;
  }
  if (!s.network) s.network = scenarios::NetworkSpec{};
  const topology::Fabric f = topology::build_fabric(*s.cluster, s.name);
  const sim::LinkTable links = topology::export_links(f);
  std::string err;
  const auto faults = make_faults(*s.network, f, err);
  if (!err.empty()) {
    std::cerr << o.file << ": " << err << "\n";
    return 1;
  }
  if (s.comm->pattern == scenarios::CommPatternKind::kSendRecv &&
      (s.comm->src < 0 || s.comm->dst < 0 || s.comm->src >= f.num_gpus() || s.comm->dst >= f.num_gpus())) {
    std::cerr << o.file << ": key 'comm.src'/'comm.dst': GPU ids must be in [0, " << f.num_gpus() << ")\n";
    return 1;
  }
  // What the pattern cannot take on this fabric (the builders would clamp
  // it silently): a group larger than the cluster, more peers than the
  // group has, a transfer to itself.
  const int group = s.comm->group > 0 ? s.comm->group : f.num_gpus();
  std::string bad;
  if (s.comm->group > f.num_gpus())
    bad = "key 'comm.group': " + std::to_string(s.comm->group) + " GPUs, but the cluster has " +
          std::to_string(f.num_gpus());
  else if (s.comm->pattern == scenarios::CommPatternKind::kAllToAllPeers && s.comm->peers > group - 1)
    bad = "key 'comm.peers': " + std::to_string(s.comm->peers) + " peers, but a group of " + std::to_string(group) +
          " GPUs has " + std::to_string(group - 1) + " others";
  else if (s.comm->pattern == scenarios::CommPatternKind::kSendRecv && s.comm->src == s.comm->dst)
    bad = "key 'comm.dst': a send_recv needs two different GPUs (src and dst are both " +
          std::to_string(s.comm->src) + ")";
  if (!bad.empty()) {
    std::cerr << o.file << ": " << bad << "\n";
    return 1;
  }

  std::vector<topology::RoutingPolicy> pols = {s.network->routing};
  if (o.compare)
    pols = {topology::RoutingPolicy::kEcmp, topology::RoutingPolicy::kAdaptive, topology::RoutingPolicy::kSpray,
            topology::RoutingPolicy::kDmodk};
  std::vector<Outcome> outs;
  sim::TaskGraph g;
  std::vector<sim::UtilisationSample> util;
  const bool want_util = !o.trace.empty() || !opt.report_dir.empty();
  for (auto pol : pols) outs.push_back(run_once(f, links, s, pol, faults, want_util ? &util : nullptr, g));

  reports::Forms forms;
  if (!o.trace.empty()) {
    std::ostringstream os;
    sim::write_chrome_trace(os, g, outs.back().r, links, util);
    forms.trace_path = o.trace;
    forms.trace_text = os.str();
  }
  nlohmann::json sg;
  if (o.simgrid) {
    topology::RoutingOptions ro;
    ro.policy = s.network->routing;
    topology::Router router(f, ro);
    sim::ReplayResult r;
    std::string why;
    const auto t0 = std::chrono::steady_clock::now();
    if (!sim::replay_simgrid(g, links, router, r, why)) {
      std::cerr << "SimGrid: " << why << "\n";
      return 1;
    }
    sg = {{"completion_time_s", r.makespan.seconds()},
          {"wall_time_s", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}};
    // SimGrid is given the healthy fabric: the scenario's faults are codesim's alone.
    if (s.network && !s.network->faults.empty())
      sg["note"] = "SimGrid replays the fabric without network.faults (" + std::to_string(s.network->faults.size()) +
                   "); codesim's figure includes them, so the two differ by the faults' effect";
  }

  if (opt.json) {
    nlohmann::json j = o.compare ? nlohmann::json{{"scenario", s.name}, {"routing_comparison", nlohmann::json::array()}}
                                 : to_json(outs[0]);
    j["scenario"] = s.name;
    j["gpus"] = f.num_gpus();
    j["pattern"] = std::string(config::enum_to_string(s.comm->pattern));
    if (o.compare)
      for (const auto& x : outs) j["routing_comparison"].push_back(to_json(x));
    if (o.simgrid) j["simgrid"] = sg;
    forms.json_text = j.dump(2) + "\n";
  } else {
    std::string text;
    if (!global.quiet)
      text += sim::strprintf("%s: %s, %d GPUs, %s %s\n", s.name.c_str(), f.kind.c_str(), f.num_gpus(),
                  std::string(config::enum_to_string(s.comm->pattern)).c_str(), to_string(s.comm->size).c_str());
    text += sim::strprintf("%-9s %14s %10s %12s %12s %10s %10s\n", "routing", "completion_ms", "flows", "algbw_GB/s",
                "busbw_GB/s", "undeliv.", "wall_s");
    for (const auto& x : outs)
      text += sim::strprintf("%-9s %14.4f %10llu %12.3f %12.3f %10llu %10.3f\n", x.routing.c_str(), x.seconds * 1e3,
                  static_cast<unsigned long long>(x.flows), x.algbw, x.busbw,
                  static_cast<unsigned long long>(x.r.undelivered_flows), x.wall);
    for (const auto& x : outs) {
      for (const auto& fa : x.r.faults_applied) text += sim::strprintf("fault (%s): %s\n", x.routing.c_str(), fa.c_str());
      if (!x.r.faults_applied.empty() || x.r.undelivered_flows > 0)
        text += sim::strprintf("faults (%s): %llu flows re-routed, %llu slowed (crossed a failed/degraded link), "
                    "%llu undelivered%s\n",
                    x.routing.c_str(), static_cast<unsigned long long>(x.r.rerouted_flows),
                    static_cast<unsigned long long>(x.r.degraded_flows),
                    static_cast<unsigned long long>(x.r.undelivered_flows),
                    x.r.undelivered_flows > 0 ? " (the collective did not complete: algbw and busbw are 0)" : "");
    }
    if (o.simgrid)
      text += sim::strprintf("SimGrid cross-check: completion %.4f ms (codesim %.4f ms)%s\n",
                  sg["completion_time_s"].get<double>() * 1e3, outs.back().seconds * 1e3,
                  sg.contains("note") ? ("  [" + sg["note"].get<std::string>() + "]").c_str() : "");
    forms.human_text = text;
  }
  const reports::ResultTable table = routing_table(outs);
  forms.csv_table = &table;
  std::optional<reports::Report> rep;
  if (!opt.report_dir.empty()) {
    rep.emplace(net_report(s, f, links, outs, util, table));
    forms.report = &*rep;
  }
  if (const int rc = reports::emit_forms(forms, opt, std::cout, std::cerr); rc != 0) return rc;
  // Undelivered flows are a result, not an error, but scripts should notice.
  return outs.back().r.undelivered_flows > 0 ? 2 : 0;
}

}  // namespace

void register_net_commands(CLI::App& app, GlobalOptions& global) {
  auto* net = app.add_subcommand("net", "Replay a communication pattern on a fabric (flow-level, max-min fair)")
                  ->footer("Examples:\n"
                           "  codesim net scenarios/net/a2a-2048-ft2.yaml --json\n"
                           "  codesim net scenarios/net/a2a-2048x64-ft2-ecmp.yaml --compare-routing\n"
                           "  codesim net scenarios/net/a2a-128-ft2-fault.yaml --report out/net   # link heatmap\n"
                           "--json prints completion_time_s, flows, algorithm_bandwidth_GBps, ...\n"
                           "Exit status: 0 ok, 1 bad input, 2 some flows could not be delivered.");
  static NetOptions o;
  net->add_option("file", o.file, "Scenario with cluster, comm and (optional) network sections")
      ->required()
      ->check(CLI::ExistingFile);
  net->add_option("--set", o.overrides, "Override a key: --set network.routing=adaptive");
  add_output_flags(net, o.out);
  net->add_flag("--compare-routing", o.compare, "Run ECMP, adaptive, spraying and d-mod-k and compare");
  net->add_option("--trace", o.trace, "Write a Chrome/Perfetto trace JSON (small runs)");
  net->add_flag("--simgrid", o.simgrid, "Also replay on SimGrid 3.32 as a cross-check (small runs)");
  net->callback([&global] { global.exit_code = run_net(o, global); });
}

}  // namespace codesim::cli
