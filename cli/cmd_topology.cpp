// codesim topology FILE / codesim topology compare FILE... [--json|--csv]
// [--report DIR]: build each scenario's fabric, print its size, diameter and
// cost; the report plots cost per endpoint against bisection bandwidth.
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/output_flags.hpp"
#include "reports/charts_fabric.hpp"
#include "reports/charts_forms.hpp"
#include "scenarios/scenario.hpp"
#include "topology/cost.hpp"
#include "topology/generators.hpp"
#include "topology/stats.hpp"

namespace codesim::cli {
namespace {

struct Row {
  std::string file;
  std::string name;
  std::string kind;
  topology::FabricStats stats;
  topology::CostBreakdown cost;
  double build_seconds = 0;
};

// Loads and validates every file first; returns false (errors on stderr)
// when any is bad, so that nothing is printed for a half-valid set.
bool load_all(const std::vector<std::string>& files, const std::vector<std::string>& overrides,
              std::vector<scenarios::Scenario>& out) {
  bool ok = true;
  for (const auto& f : files) {
    scenarios::Scenario s;
    config::Diagnostics d;
    if (!scenarios::load_scenario(f, overrides, s, d)) {
      std::cerr << d.str();
      ok = false;
      continue;
    }
    if (!s.cluster) {
      std::cerr << f << ": key 'cluster': missing; codesim topology needs a cluster section\n";
      ok = false;
      continue;
    }
    out.push_back(std::move(s));
  }
  return ok;
}

bool evaluate(const scenarios::Scenario& s, const std::string& file, Row& row) {
  const auto t0 = std::chrono::steady_clock::now();
  const topology::Fabric fabric = topology::build_fabric(*s.cluster, s.name);
  row.build_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  row.file = file;
  row.name = s.name;
  row.kind = fabric.kind;
  row.stats = topology::compute_stats(fabric);
  std::string error;
  auto cost = topology::price_fabric(fabric, s.cluster->price_list, error);
  if (!cost) {
    std::cerr << file << ": key 'cluster.prices': " << error << "\n";
    return false;
  }
  row.cost = *cost;
  return true;
}

std::string thousands(int64_t v) {
  std::string s = std::to_string(v < 0 ? -v : v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return v < 0 ? "-" + s : s;
}
std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}
double per_endpoint(const Row& r, double usd) {
  return r.stats.endpoints > 0 ? usd / static_cast<double>(r.stats.endpoints) : 0.0;
}
// Diameter in switch hops; MPFT planes and rail-only rails are separate
// switch graphs (they meet inside the nodes), shown as "2 x8".
std::string diameter_text(const topology::FabricStats& s) {
  if (s.diameter < 0) return "-";
  return std::to_string(s.diameter) + (s.components > 1 ? " x" + std::to_string(s.components) : "");
}

nlohmann::json to_json(const Row& r) {
  nlohmann::json j;
  j["name"] = r.name;
  j["file"] = r.file;
  j["kind"] = r.kind;
  j["endpoints"] = r.stats.endpoints;
  j["switches"] = r.stats.switches;
  j["links"] = r.stats.switch_links;
  j["gpus"] = r.stats.gpus;
  j["diameter_hops"] = r.stats.diameter;
  j["fabric_components"] = r.stats.components;  // MPFT planes / rail-only rails
  j["equal_cost_paths"] = r.stats.paths.count;
  j["equal_cost_path_hops"] = r.stats.paths.hops;
  j["bisection_bytes_per_s"] = r.stats.bisection.bytes_per_second();
  j["cost_usd"] = r.cost.fabric_usd();
  j["cost_per_endpoint_usd"] = per_endpoint(r, r.cost.fabric_usd());
  j["switches_usd"] = r.cost.switches_usd;
  j["switch_links_usd"] = r.cost.switch_links_usd;
  j["copper_switch_links"] = r.cost.copper_switch_links;
  j["optical_switch_links"] = r.cost.optical_switch_links;
  j["total_cost_usd"] = r.cost.total_usd();
  j["graph_vertices"] = r.stats.vertices;
  j["graph_edges"] = r.stats.edges;
  j["build_s"] = r.build_seconds;
  return j;
}

void print_one(std::ostream& out, const Row& r) {
  out << r.name << " (" << r.kind << ", " << r.file << ")\n"
            << "  endpoints         " << thousands(r.stats.endpoints) << "\n"
            << "  switches          " << thousands(r.stats.switches) << "\n"
            << "  links             " << thousands(r.stats.switch_links) << " switch-to-switch ("
            << thousands(r.cost.copper_switch_links) << " copper, " << thousands(r.cost.optical_switch_links)
            << " optical)\n"
            << "  diameter          " << r.stats.diameter << " switch hops"
            << (r.stats.components > 1 ? " within each of " + std::to_string(r.stats.components) +
                                             " disjoint parts (planes/rails; they meet inside the nodes)"
                                       : std::string())
            << "\n"
            << "  equal-cost paths  " << thousands(r.stats.paths.count) << " of " << r.stats.paths.hops
            << " hops (first endpoint to the last one it reaches)\n"
            << "  bisection         " << to_string(r.stats.bisection) << "\n"
            << "  cost              $" << fixed(r.cost.fabric_usd() / 1e6, 2) << "M fabric ($"
            << fixed(per_endpoint(r, r.cost.fabric_usd()) / 1e3, 2) << "k per endpoint); $"
            << fixed(r.cost.total_usd() / 1e6, 2) << "M with NICs, endpoint cables, GPUs and servers\n"
            << "  graph             " << thousands(r.stats.vertices) << " vertices, "
            << thousands(r.stats.edges) << " edges, built in " << fixed(r.build_seconds, 2) << " s\n";
}

std::string printf_line(const char* f, ...) __attribute__((format(printf, 1, 2)));
std::string printf_line(const char* f, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, f);
  std::vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

void print_table(std::ostream& out, const std::vector<Row>& rows) {
  out << printf_line("%-12s %-10s %10s %9s %9s %8s %10s %14s %15s\n", "name", "kind", "endpoints", "switches",
                     "links", "diameter", "cost [M$]", "cost/ep [k$]", "bisection");
  for (const Row& r : rows)
    out << printf_line("%-12s %-10s %10s %9s %9s %8s %10s %14s %15s\n", r.name.c_str(), r.kind.c_str(),
                       thousands(r.stats.endpoints).c_str(), thousands(r.stats.switches).c_str(),
                       thousands(r.stats.switch_links).c_str(), diameter_text(r.stats).c_str(),
                       fixed(r.cost.fabric_usd() / 1e6, 1).c_str(),
                       fixed(per_endpoint(r, r.cost.fabric_usd()) / 1e3, 2).c_str(),
                       to_string(r.stats.bisection).c_str());
  out << "cost = switches + switch-to-switch cables, links = switch-to-switch cables (ISCA'25 Table 3);\n"
         "diameter in switch hops, xN = N disjoint planes/rails\n";
}

// One row per fabric, the keys of the JSON objects (units in the keys).
reports::ResultTable fabric_table(const std::vector<Row>& rows) {
  reports::ResultTable t("Fabrics");
  t.add_column("name")
      .add_column("kind")
      .add_column("endpoints")
      .add_column("switches")
      .add_column("links", "links (switch-to-switch)")
      .add_column("diameter_hops", "diameter (hops)")
      .add_column("fabric_components", "planes/rails")
      .add_column("bisection_TBps", "bisection (TB/s)", 1)
      .add_column("cost_usd", "fabric cost ($)", 0)
      .add_column("cost_per_endpoint_usd", "cost/endpoint ($)", 0)
      .add_column("total_cost_usd", "total cost ($)", 0);
  for (const Row& r : rows)
    t.add_row({r.name, r.kind, r.stats.endpoints, r.stats.switches, r.stats.switch_links, r.stats.diameter,
               r.stats.components, r.stats.bisection.bytes_per_second() / 1e12, r.cost.fabric_usd(),
               per_endpoint(r, r.cost.fabric_usd()), r.cost.total_usd()});
  t.add_note("fabric cost = switches + switch-to-switch cables (ISCA'25 Table 3); total adds NICs, "
             "endpoint cables, GPUs and servers");
  return t;
}

reports::Report fabric_report(const std::vector<Row>& rows, const reports::ResultTable& table) {
  reports::Report rep(rows.size() == 1 ? "codesim topology " + rows[0].name : "codesim topology compare");
  std::vector<reports::FabricPoint> pts;
  for (const Row& r : rows)
    pts.push_back({r.name, r.kind, r.stats.bisection.bytes_per_second() / 1e12,
                   per_endpoint(r, r.cost.fabric_usd()) / 1e3});
  rep.chart("cost-vs-bisection", reports::svg::render(reports::fabric_cost_chart(pts)),
            "Fabric cost (switches and switch-to-switch cables) per endpoint against bisection bandwidth; "
            "the line joins the fabrics no other beats on both.");
  rep.table(table);
  std::ostringstream files;
  for (const Row& r : rows) files << r.name << ": " << r.file << "\n";
  rep.heading("Scenarios");
  rep.preformatted(files.str());
  return rep;
}

// Runs the whole job; returns the exit code.
int run(const std::vector<std::string>& files, const std::vector<std::string>& overrides,
        const reports::OutputOptions& opt, bool table) {
  std::vector<scenarios::Scenario> loaded;
  if (!load_all(files, overrides, loaded)) return 1;
  std::vector<Row> rows(loaded.size());
  for (size_t i = 0; i < loaded.size(); ++i)
    if (!evaluate(loaded[i], files[i], rows[i])) return 1;
  reports::Forms forms;
  if (opt.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const Row& r : rows) arr.push_back(to_json(r));
    forms.json_text = (table ? arr.dump(2) : arr[0].dump(2)) + "\n";
  } else {
    std::ostringstream text;
    if (table) print_table(text, rows);
    else print_one(text, rows[0]);
    forms.human_text = text.str();
  }
  const reports::ResultTable t = fabric_table(rows);
  forms.csv_table = &t;
  std::optional<reports::Report> rep;
  if (!opt.report_dir.empty()) {
    rep.emplace(fabric_report(rows, t));
    forms.report = &*rep;
  }
  return reports::emit_forms(forms, opt, std::cout, std::cerr);
}

}  // namespace

void register_topology_commands(CLI::App& app, GlobalOptions& global) {
  struct Options {
    std::string file;
    std::vector<std::string> files;
    std::vector<std::string> overrides;
    reports::OutputOptions out;
  };
  static Options opt;
  auto* topo = app.add_subcommand("topology", "Build a scenario's fabric; print endpoints, switches, links, diameter and cost")
                   ->footer("Examples:\n  codesim topology scenarios/paper/table3-ft2.yaml\n"
                            "  codesim topology compare scenarios/paper/table3-*.yaml --json\n"
                            "  codesim topology compare scenarios/paper/table3-*.yaml --csv\n"
                            "  codesim topology compare scenarios/paper/table3-*.yaml --report out/fabrics"
                            "   # HTML: cost vs bisection");
  topo->add_option("file", opt.file, "Scenario file with a cluster section")->check(CLI::ExistingFile);
  topo->add_option("--set", opt.overrides, "Override a key: --set cluster.fabric.planes=4");
  add_output_flags(topo, opt.out);
  auto* compare = topo->add_subcommand("compare", "Compare several fabrics in one table (ISCA'25 Table 3)")
                      ->footer("Examples:\n  codesim topology compare scenarios/paper/table3-*.yaml\n"
                               "  codesim topology compare scenarios/paper/table3-*.yaml --json   # array of objects "
                               "(name, endpoints, switches, links, cost_usd, cost_per_endpoint_usd, ...)\n"
                               "  codesim topology compare scenarios/paper/table3-*.yaml --report out/fabrics");
  compare->add_option("files", opt.files, "Scenario files")->required()->check(CLI::ExistingFile);
  compare->add_option("--set", opt.overrides, "Override a key in every file");
  add_output_flags(compare, opt.out);
  compare->callback([&global] {
    global.exit_code = run(opt.files, opt.overrides, with_quiet(opt.out, global), true);
  });
  topo->callback([&global, topo, compare] {
    if (compare->parsed()) return;
    if (opt.file.empty()) {
      std::cerr << topo->help();
      global.exit_code = 2;
      return;
    }
    global.exit_code = run({opt.file}, opt.overrides, with_quiet(opt.out, global), false);
  });
}

}  // namespace codesim::cli
