// codesim sweep FILE: evaluate every point of a design-space sweep on all
// cores (or over MPI ranks under mpirun/srun), resume after interruption,
// and print the Pareto front over the sweep's objectives.
#include <elf.h>
#include <link.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/commands.hpp"
#include "reports/output.hpp"
#include "reports/svg.hpp"
#include "cli/sweep_mpi.hpp"
#include "scenarios/evaluators.hpp"
#include "scenarios/sweep.hpp"
#include "scenarios/sweep_runner.hpp"
#include "workloads/compute_model.hpp"

namespace codesim::cli {

namespace {

// The GNU build ID of this executable (all of codesim is linked statically
// into it, so any code change gives a new one); "" when the linker wrote none.
std::string build_id() {
  std::string id;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* out) {
        // The first object is the executable itself.
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_NOTE) continue;
          const auto* p = reinterpret_cast<const unsigned char*>(info->dlpi_addr + ph.p_vaddr);
          const unsigned char* end = p + ph.p_memsz;
          while (p + sizeof(ElfW(Nhdr)) <= end) {
            const auto* n = reinterpret_cast<const ElfW(Nhdr)*>(p);
            const unsigned char* name = p + sizeof(ElfW(Nhdr));
            const unsigned char* desc = name + ((n->n_namesz + 3) & ~3u);
            if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && std::memcmp(name, "GNU", 4) == 0) {
              static const char* hex = "0123456789abcdef";
              auto& s = *static_cast<std::string*>(out);
              for (unsigned k = 0; k < n->n_descsz; ++k) {
                s += hex[desc[k] >> 4];
                s += hex[desc[k] & 15];
              }
              return 1;
            }
            p = desc + ((n->n_descsz + 3) & ~3u);
          }
        }
        return 1;
      },
      &id);
  return id;
}

// FNV-1a of bytes, as 16 hex digits.
std::string fnv_hex(std::string_view bytes) {
  uint64_t h = 1469598103934665603ull;
  for (char ch : bytes) h = (h ^ static_cast<unsigned char>(ch)) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// FNV-1a of a file's bytes ("-" when it cannot be read).
std::string file_hash(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "-";
  std::ostringstream all;
  all << in.rdbuf();
  return fnv_hex(all.str());
}

void named_files(const config::Node& n, const std::filesystem::path& dir, std::set<std::string>& out);

// `name` if it names an existing file next to `dir`; a YAML file's own
// includes and named files too (once each: `out` is the visited set).
void named_file(const std::string& name, const std::filesystem::path& dir, std::set<std::string>& out) {
  if (name.empty() || name.size() > 1000) return;
  std::error_code ec;
  const std::filesystem::path p = dir / name;
  if (!std::filesystem::is_regular_file(p, ec)) return;
  const std::string canonical = std::filesystem::weakly_canonical(p, ec).string();
  if (!out.insert(canonical).second) return;
  const std::string ext = p.extension().string();
  if (ext != ".yaml" && ext != ".yml") return;
  config::Node doc;
  config::Diagnostics ignored;  // an unreadable file is hashed as bytes only
  if (config::load_file(canonical, doc, ignored)) named_files(doc, std::filesystem::path(canonical).parent_path(), out);
}

// Every string scalar of the tree that names an existing file (the model
// spec, a calibration file, a trace) next to `dir`, or next to the file the
// scalar was written in (an included file's own relative paths).
void named_files(const config::Node& n, const std::filesystem::path& dir, std::set<std::string>& out) {
  if (!n.mark.file.empty()) {  // the file this node was read from (an include of the tree's file)
    std::error_code ec;
    if (std::filesystem::is_regular_file(n.mark.file, ec))
      out.insert(std::filesystem::weakly_canonical(n.mark.file, ec).string());
  }
  if (n.is_scalar()) {
    named_file(n.scalar, dir, out);
    if (!n.mark.file.empty()) named_file(n.scalar, std::filesystem::path(n.mark.file).parent_path(), out);
    return;
  }
  for (const auto& item : n.items) named_files(item, dir, out);
  for (const auto& [k, v] : n.entries) named_files(v, dir, out);
}

// The identity of a sweep run: its evaluator mode, this build (its build
// ID, else the executable's bytes), the sweep's --set overrides, the bytes
// of the sweep file, the base scenario as resolved (its includes merged in),
// the files the base, the axes' values and the overrides name, and the
// default calibration. Resumed rows must match it.
std::string sweep_context(const std::string& mode, const std::string& sweep_file,
                          const std::vector<std::string>& overrides, const std::string& base_path,
                          const config::Node& base, const scenarios::SweepSpec& spec) {
  std::string build = build_id();
  if (build.empty()) build = file_hash("/proc/self/exe");
  std::string c = mode + " build " + build + " sweep " + file_hash(sweep_file) + " base " + fnv_hex(config::emit(base));
  for (const auto& o : overrides) c += " set " + o;
  std::set<std::string> files;
  const std::filesystem::path base_dir = std::filesystem::path(base_path).parent_path();
  named_files(base, base_dir, files);
  for (const auto& axis : spec.axes)
    if (axis.values) named_files(*axis.values, base_dir, files);
  for (const auto& o : overrides)
    if (const size_t eq = o.find('='); eq != std::string::npos) {
      named_file(o.substr(eq + 1), base_dir, files);
      named_file(o.substr(eq + 1), ".", files);
    }
  files.insert(workloads::default_calibration_path());
  for (const auto& f : files) c += " " + std::filesystem::path(f).filename().string() + " " + file_hash(f);
  return c;
}

struct SweepArgs {
  std::string file;
  std::vector<std::string> overrides;
  std::string out_dir;
  int threads = 0;
  bool fresh = false;
  bool full = false;
  bool json = false;
  bool csv = false;
  std::string report_dir;
  std::string colour_by;  // axis name that colours the scatter (default: the first)
};

// Writes `text` to `path` through a temporary file and a rename, so a
// failure never leaves a half-written file.
bool write_atomic(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!(out << text)) return false;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  return !ec;
}

std::string fmt_metric(double v) {
  char buf[32];
  if (std::abs(v) >= 1e6 || (std::abs(v) < 1e-3 && v != 0)) std::snprintf(buf, sizeof buf, "%.4g", v);
  else std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

// The HTML/markdown report: a scatter of every feasible point over the first
// two objectives, one colour per value of an axis, with the Pareto front
// drawn; then the front and the skipped points as tables.
reports::Report sweep_report(const scenarios::SweepSpec& spec, const std::vector<scenarios::SweepRow>& rows,
                             const std::vector<scenarios::SweepRow>& front, const std::string& colour_by) {
  reports::Report r("codesim sweep " + spec.name);
  r.paragraph(std::to_string(rows.size()) + " points over " + std::to_string(spec.axes.size()) +
              " axes; mode " + spec.mode + ".");
  size_t axis = 0;
  for (size_t i = 0; i < spec.axes.size(); ++i) {
    const std::string n = spec.axes[i].name.empty() ? spec.axes[i].key : spec.axes[i].name;
    if (n == colour_by) axis = i;
  }
  if (spec.objectives.size() >= 2) {
    const auto& ox = spec.objectives[0];
    const auto& oy = spec.objectives[1];
    reports::svg::ScatterChart c;
    c.title = oy.metric + " against " + ox.metric;
    c.x.label = ox.metric;
    c.y.label = oy.metric;
    std::map<std::string, size_t> series_of;
    for (const auto& row : rows) {
      if (!row.feasible || !row.result.metrics.count(ox.metric) || !row.result.metrics.count(oy.metric)) continue;
      const std::string key = axis < row.point.labels.size() ? row.point.labels[axis].second : "";
      auto [it, fresh] = series_of.emplace(key, c.series.size());
      if (fresh) c.series.push_back({key, {}});
      c.series[it->second].points.push_back(
          {row.result.metrics.at(ox.metric), row.result.metrics.at(oy.metric), "#" + std::to_string(row.point.index)});
    }
    using reports::svg::Better;
    c.pareto = reports::svg::Pareto{ox.goal == scenarios::Goal::kMin ? Better::kLower : Better::kHigher,
                                    oy.goal == scenarios::Goal::kMin ? Better::kLower : Better::kHigher};
    if (!c.series.empty())
      r.chart("pareto", reports::svg::render(c),
              "Every feasible point, coloured by " +
                  (spec.axes.empty() ? std::string() : (spec.axes[axis].name.empty() ? spec.axes[axis].key : spec.axes[axis].name)) +
                  "; the line joins the Pareto front.");
  }
  // Topology comparison against the workload: fabric cost per endpoint
  // against step time (training sweeps), one colour per fabric value.
  {
    reports::svg::ScatterChart c;
    c.title = "Fabric cost per endpoint against training step time";
    c.x.label = "step time, s";
    c.y.label = "fabric cost per endpoint, USD";
    std::map<std::string, size_t> series_of;
    for (const auto& row : rows) {
      const auto& m = row.result.metrics;
      if (!row.feasible || !m.count("fabric_cost_per_endpoint_usd") || !m.count("step_time_s")) continue;
      const std::string key = axis < row.point.labels.size() ? row.point.labels[axis].second : "";
      auto [it, fresh] = series_of.emplace(key, c.series.size());
      if (fresh) c.series.push_back({key, {}});
      c.series[it->second].points.push_back(
          {m.at("step_time_s"), m.at("fabric_cost_per_endpoint_usd"), "#" + std::to_string(row.point.index)});
    }
    if (!c.series.empty())
      r.chart("cost-vs-step", reports::svg::render(c),
              "What each fabric costs per endpoint and how fast it trains the same model and plan.");
  }
  reports::ResultTable t("Pareto front");
  t.add_column("index");
  for (const auto& ax : spec.axes) t.add_column(ax.name.empty() ? ax.key : ax.name);
  for (const auto& o : spec.objectives) t.add_column(o.metric, o.metric, 4);
  for (const auto& row : front) {
    std::vector<reports::Cell> cells{static_cast<double>(row.point.index)};
    for (const auto& [k, v] : row.point.labels) cells.push_back(v);
    for (const auto& o : spec.objectives) cells.push_back(row.result.metrics.at(o.metric));
    t.add_row(std::move(cells));
  }
  r.table(std::move(t));
  reports::ResultTable skipped("Skipped points");
  skipped.add_column("index").add_column("reason");
  for (const auto& row : rows)
    if (row.result.status != scenarios::PointResult::Status::kOk)
      skipped.add_row({static_cast<double>(row.point.index), row.result.reason});
  if (!skipped.rows().empty()) r.table(std::move(skipped));
  return r;
}

int run(const SweepArgs& a, const GlobalOptions& global) {
  scenarios::register_builtin_evaluators();
  scenarios::SweepSpec spec;
  std::string base_path;
  config::Diagnostics diags;
  if (!scenarios::load_sweep(a.file, a.overrides, spec, base_path, diags)) {
    std::cerr << diags.str();
    return 1;
  }
  // --full picks the mode's full variant; a mode without one (topology:
  // exact already) runs as it is.
  scenarios::register_builtin_evaluators();
  std::string mode = a.full && scenarios::find_evaluator(spec.mode + "-full") ? spec.mode + "-full" : spec.mode;
  config::Node base;
  if (!config::load_file(base_path, base, diags) || !scenarios::check_sweep(a.file, spec, mode, base, diags)) {
    std::cerr << diags.str();
    return 1;
  }
  if (!a.colour_by.empty()) {
    std::string names;
    bool found = false;
    for (const auto& ax : spec.axes) {
      const std::string n = ax.name.empty() ? ax.key : ax.name;
      names += (names.empty() ? "" : ", ") + n;
      found = found || n == a.colour_by;
    }
    if (!found) {
      std::cerr << "codesim sweep: --colour-by '" << a.colour_by << "' is not an axis of " << a.file
                << "; its axes are: " << names << "\n";
      return 1;
    }
  }
  const scenarios::Evaluator* eval = scenarios::find_evaluator(mode);

  std::filesystem::path dir = a.out_dir.empty() ? std::filesystem::path("out/sweeps") / spec.name
                                                : std::filesystem::path(a.out_dir);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    std::cerr << "codesim sweep: cannot create output folder '" << dir.string() << "': " << ec.message() << "\n";
    return 1;
  }
  const std::string jsonl = (dir / "rows.jsonl").string();
  if (a.fresh) std::filesystem::remove(jsonl, ec);

  const bool tty = isatty(STDERR_FILENO) && !global.quiet;
  const auto t0 = std::chrono::steady_clock::now();
  scenarios::SweepRunOptions opt;
  opt.threads = a.threads > 0 ? a.threads : std::max(1u, std::thread::hardware_concurrency());
  opt.jsonl_path = jsonl;
  opt.resume = true;
  opt.context = sweep_context(mode, a.file, a.overrides, base_path, base, spec);
  if (tty) {
    opt.progress = [t0](size_t done, size_t total) {
      double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      double eta = done > 0 ? el / static_cast<double>(done) * static_cast<double>(total - done) : 0;
      int width = 30, fill = total ? static_cast<int>(width * done / total) : width;
      std::fprintf(stderr, "\r[%s%s] %zu/%zu  %.1fs elapsed, ETA %.1fs ",
                   std::string(static_cast<size_t>(fill), '#').c_str(),
                   std::string(static_cast<size_t>(width - fill), '.').c_str(), done, total, el, eta);
      if (done == total) std::fprintf(stderr, "\n");
    };
  }

  int rank = 0;
  scenarios::SweepRunSummary sum =
      launched_under_mpi() ? run_sweep_mpi(spec, base, base_path, *eval, opt, rank)
                           : scenarios::run_sweep_threads(spec, base, base_path, *eval, opt);
  if (rank != 0) return 0;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::vector<size_t> front = scenarios::pareto_front(sum.rows, spec.objectives);
  std::vector<scenarios::SweepRow> front_rows;
  for (size_t i : front) front_rows.push_back(sum.rows[i]);
  if (!write_atomic(dir / "rows.csv", scenarios::rows_to_csv(sum.rows)) ||
      !write_atomic(dir / "pareto.csv", scenarios::rows_to_csv(front_rows))) {
    std::cerr << "codesim sweep: cannot write results in '" << dir.string() << "'\n";
    return 1;
  }
  size_t skipped = 0, infeasible = 0;
  for (const auto& r : sum.rows) {
    if (r.result.status != scenarios::PointResult::Status::kOk) ++skipped;
    else if (!r.feasible) ++infeasible;
  }

  if (!a.report_dir.empty()) {
    reports::OutputOptions ro;
    ro.report_dir = a.report_dir;
    ro.quiet = true;
    std::ostringstream sink;
    if (reports::emit(sweep_report(spec, sum.rows, front_rows, a.colour_by), ro, sink, std::cerr) != 0) return 1;
    if (!global.quiet) std::cerr << "report: " << a.report_dir << "/index.html\n";
  }
  if (a.json) {
    nlohmann::ordered_json j;
    j["name"] = spec.name;
    j["points"] = sum.total;
    j["evaluated"] = sum.evaluated;
    j["resumed"] = sum.resumed;
    j["skipped"] = skipped;
    j["infeasible"] = infeasible;
    j["rows_jsonl"] = jsonl;
    j["pareto"] = nlohmann::ordered_json::array();
    for (const auto& r : front_rows) j["pareto"].push_back(nlohmann::ordered_json::parse(scenarios::row_to_json(r)));
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  if (a.csv) {
    std::cout << scenarios::rows_to_csv(sum.rows);
    return 0;
  }
  std::cout << "sweep " << spec.name << ": " << sum.total << " points (" << sum.evaluated
            << " evaluated, " << sum.resumed << " resumed from " << jsonl << "), " << skipped
            << " skipped, " << infeasible << " infeasible, " << fmt_metric(wall) << " s\n";
  std::cout << "rows: " << (dir / "rows.csv").string() << "   pareto: " << (dir / "pareto.csv").string() << "\n\n";
  if (spec.objectives.empty()) return 0;
  std::cout << "Pareto front over";
  for (const auto& o : spec.objectives) std::cout << " " << config::enum_to_string(o.goal) << "(" << o.metric << ")";
  std::cout << ":\n";
  for (const auto& r : front_rows) {
    std::cout << "  #" << r.point.index;
    for (const auto& [k, v] : r.point.labels) std::cout << "  " << k << "=" << v;
    for (const auto& o : spec.objectives) std::cout << "  " << o.metric << "=" << fmt_metric(r.result.metrics.at(o.metric));
    std::cout << "\n";
  }
  if (global.verbose) {
    std::cout << "\nskipped points:\n";
    for (const auto& r : sum.rows)
      if (r.result.status != scenarios::PointResult::Status::kOk)
        std::cout << "  #" << r.point.index << ": " << r.result.reason << "\n";
  }
  return 0;
}

}  // namespace

void register_sweep_commands(CLI::App& app, GlobalOptions& global) {
  static SweepArgs args;
  auto* cmd = app.add_subcommand("sweep", "Evaluate a design-space sweep and print its Pareto front")
                  ->footer(
                      "Examples:\n"
                      "  codesim sweep scenarios/sweeps/v3-fabrics.yaml\n"
                      "  codesim sweep scenarios/sweeps/fabric-cost.yaml --json\n"
                      "  mpirun -n 4 codesim sweep scenarios/sweeps/v3-fabrics.yaml   # over MPI ranks\n"
                      "Results are appended to OUT/rows.jsonl as they complete; running the same\n"
                      "command again resumes (use --fresh to start over).");
  cmd->add_option("file", args.file, "Sweep file")->required()->check(CLI::ExistingFile);
  cmd->add_option("--set", args.overrides, "Override a key of the sweep file");
  cmd->add_option("--out", args.out_dir, "Output folder (default out/sweeps/NAME)");
  cmd->add_option("-j,--threads", args.threads, "Worker threads (default: all cores)")->check(CLI::Range(1, 4096));
  cmd->add_flag("--fresh", args.fresh, "Ignore earlier results in the output folder");
  cmd->add_flag("--full", args.full, "Use the full simulation instead of the fast model (modes that have one: train, serve)");
  cmd->add_flag("--json", args.json, "Print a JSON summary with the Pareto rows");
  cmd->add_flag("--csv", args.csv, "Print all rows as CSV");
  cmd->add_option("--report", args.report_dir, "Also write DIR/index.html with the Pareto scatter plot")->option_text("DIR");
  cmd->add_option("--colour-by", args.colour_by, "Axis that colours the scatter plot (default: the first)");
  cmd->callback([&global] { global.exit_code = run(args, global); });
}

}  // namespace codesim::cli
