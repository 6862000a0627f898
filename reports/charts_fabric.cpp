#include "reports/charts_fabric.hpp"

#include <algorithm>
#include <map>

namespace codesim::reports {

svg::ScatterChart fabric_cost_chart(const std::vector<FabricPoint>& fabrics) {
  svg::ScatterChart c;
  c.title = "Cost per endpoint against bisection bandwidth";
  c.x.label = "bisection bandwidth (TB/s)";
  c.x.log = true;
  c.y.label = "fabric cost per endpoint (k$)";
  c.y.min = 0;
  std::map<std::string, size_t> series_of;
  for (const auto& f : fabrics) {
    auto [it, fresh] = series_of.emplace(f.kind, c.series.size());
    if (fresh) c.series.push_back({f.kind, {}});
    c.series[it->second].points.push_back({f.bisection_tbps, f.cost_per_endpoint_kusd, f.name});
  }
  if (fabrics.size() > 1) c.pareto = svg::Pareto{svg::Better::kHigher, svg::Better::kLower};
  return c;
}

LinkUtilisation bin_utilisation(const std::vector<sim::UtilisationSample>& samples, const sim::LinkTable& links,
                                Time end, int max_links, int bins) {
  LinkUtilisation u;
  const int64_t t_end = end.ps();
  if (t_end <= 0 || bins <= 0 || max_links <= 0) return u;
  u.bin_seconds = end.seconds() / bins;
  // Per link, its samples in time order (the engine appends them in time order).
  std::map<sim::LinkId, std::vector<std::pair<int64_t, double>>> by_link;
  for (const auto& s : samples)
    if (static_cast<size_t>(s.link) < links.size()) by_link[s.link].emplace_back(s.time_ps, s.bytes_per_second);
  struct Row {
    sim::LinkId link;
    double bytes;
    std::vector<double> integral;  // bytes per bin
  };
  std::vector<Row> rows;
  const double bin_ps = static_cast<double>(t_end) / bins;
  for (auto& [link, ss] : by_link) {
    Row r{link, 0.0, std::vector<double>(static_cast<size_t>(bins), 0.0)};
    for (size_t i = 0; i < ss.size(); ++i) {
      const double rate = ss[i].second;
      if (rate <= 0) continue;
      const double a = static_cast<double>(std::clamp<int64_t>(ss[i].first, 0, t_end));
      const double b = static_cast<double>(i + 1 < ss.size() ? std::clamp<int64_t>(ss[i + 1].first, 0, t_end) : t_end);
      if (b <= a) continue;
      r.bytes += rate * (b - a) * 1e-12;
      for (int k = static_cast<int>(a / bin_ps); k < bins && k * bin_ps < b; ++k) {
        const double lo = std::max(a, k * bin_ps), hi = std::min(b, (k + 1) * bin_ps);
        if (hi > lo) r.integral[static_cast<size_t>(k)] += rate * (hi - lo) * 1e-12;
      }
    }
    if (r.bytes > 0) rows.push_back(std::move(r));
  }
  std::sort(rows.begin(), rows.end(),
            [](const Row& a, const Row& b) { return a.bytes != b.bytes ? a.bytes > b.bytes : a.link < b.link; });
  if (rows.size() > static_cast<size_t>(max_links)) rows.resize(static_cast<size_t>(max_links));
  for (auto& r : rows) {
    const double cap = links.capacity[static_cast<size_t>(r.link)].bytes_per_second();
    std::vector<double> v(r.integral.size(), 0.0);
    for (size_t k = 0; k < v.size(); ++k) v[k] = cap > 0 ? r.integral[k] / (cap * u.bin_seconds) : 0.0;
    u.links.push_back(r.link);
    u.values.push_back(std::move(v));
  }
  return u;
}

svg::Heatmap link_utilisation_heatmap(const LinkUtilisation& u, const sim::LinkTable& links,
                                      const std::string& title) {
  svg::Heatmap h;
  h.title = title;
  for (sim::LinkId l : u.links) {
    const std::string& nm = links.name[static_cast<size_t>(l)];
    h.rows.push_back("link " + std::to_string(l) + (nm.empty() ? "" : " " + nm));
  }
  h.values = u.values;
  h.x_start = 0;
  h.x_step = u.bin_seconds * 1e3;
  h.x.label = "time (ms)";
  h.value_label = "utilisation";
  h.value_min = 0;
  h.value_max = 1;
  h.size.width = 1000;
  h.size.height = std::max(320, 90 + 18 * static_cast<int>(u.links.size()));
  return h;
}

svg::BarChart routing_completion_chart(const std::vector<std::string>& policies,
                                       const std::vector<double>& completion_ms) {
  svg::BarChart c;
  c.title = "Completion time per routing policy";
  c.y.label = "completion time (ms)";
  c.value_labels = true;
  c.categories = policies;
  c.stacks = {{"completion time", completion_ms}};
  return c;
}

}  // namespace codesim::reports
