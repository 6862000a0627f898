// File: reports/charts_fabric.hpp
//
// Pictures of fabrics and of network replays, for `codesim topology
// [compare] --report` and `codesim net --report`:
//
//   fabric_cost_chart         cost per endpoint against bisection bandwidth,
//                             one colour per fabric kind, Pareto front (more
//                             bisection and less cost are better), log x
//   link_utilisation_heatmap  rows = the busiest links (by bytes carried),
//                             columns = time bins over [0, end], value = mean
//                             utilisation in the bin (rate / capacity), from
//                             the flow engine's rate-change samples
//                             (sim::UtilisationSample: a link's rate holds
//                             from its sample to the link's next one)
//   routing_completion_chart  completion time per routing policy
#pragma once

#include <string>
#include <vector>

#include "reports/svg.hpp"
#include "sim/flow_network.hpp"
#include "sim/units.hpp"

namespace codesim::reports {

struct FabricPoint {
  std::string name;
  std::string kind;
  double bisection_tbps = 0;          // TB/s
  double cost_per_endpoint_kusd = 0;  // k$ per endpoint (fabric only)
};
svg::ScatterChart fabric_cost_chart(const std::vector<FabricPoint>& fabrics);

// Mean utilisation per (link, bin). Links that carried nothing are left
// out; at most `max_links` rows, busiest first (ties: lower id first).
struct LinkUtilisation {
  std::vector<sim::LinkId> links;
  std::vector<std::vector<double>> values;  // values[row][bin], 0..1
  double bin_seconds = 0;
};
LinkUtilisation bin_utilisation(const std::vector<sim::UtilisationSample>& samples, const sim::LinkTable& links,
                                Time end, int max_links = 24, int bins = 60);
svg::Heatmap link_utilisation_heatmap(const LinkUtilisation& u, const sim::LinkTable& links,
                                      const std::string& title);

svg::BarChart routing_completion_chart(const std::vector<std::string>& policies,
                                       const std::vector<double>& completion_ms);

}  // namespace codesim::reports
