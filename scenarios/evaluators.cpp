#include "scenarios/evaluators.hpp"

#include "scenarios/scenario.hpp"
#include "scenarios/sweep.hpp"
#include "topology/cost.hpp"
#include "topology/generators.hpp"
#include "topology/stats.hpp"

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

}  // namespace

void register_builtin_evaluators() {
  register_evaluator("topology", "fabric size, cost and bisection of the scenario's cluster",
                     evaluate_topology);
}

}  // namespace codesim::scenarios
