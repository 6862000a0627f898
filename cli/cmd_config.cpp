// codesim check FILE... / codesim show FILE: validate and print scenarios.
#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "scenarios/evaluators.hpp"
#include "scenarios/scenario.hpp"
#include "scenarios/sweep.hpp"

namespace codesim::cli {
namespace {

// A file whose top level holds `sweep:` (and nothing a scenario has).
bool is_sweep_file(const std::string& path) {
  config::Node root;
  config::Diagnostics ignored;
  return config::load_file(path, root, ignored) && root.is_map() && root.find("sweep") != nullptr &&
         root.find("cluster") == nullptr;
}

// What `codesim sweep` checks before it runs a point, for its mode and,
// where registered, the same mode under --full.
bool check_sweep_file(const std::string& path, const std::vector<std::string>& overrides, config::Diagnostics& d) {
  scenarios::register_builtin_evaluators();
  scenarios::SweepSpec spec;
  std::string base_path;
  if (!scenarios::load_sweep(path, overrides, spec, base_path, d)) return false;
  scenarios::Scenario base_scenario;
  if (!scenarios::load_scenario(base_path, {}, base_scenario, d)) return false;
  config::Node base;
  if (!config::load_file(base_path, base, d)) return false;
  // The sweep runs in its mode or, with --full, the full variant (whose
  // metrics are a superset): it is valid if either accepts it.
  const std::string full = spec.mode + "-full";
  if (!scenarios::find_evaluator(full)) return scenarios::check_sweep(path, spec, spec.mode, base, d);
  config::Diagnostics fast;
  if (scenarios::check_sweep(path, spec, spec.mode, base, fast)) return true;
  return scenarios::check_sweep(path, spec, full, base, d);
}

}  // namespace

void register_config_commands(CLI::App& app, GlobalOptions& global) {
  auto* check = app.add_subcommand("check", "Validate scenario and sweep files strictly; report every error")
                    ->footer("Examples:\n  codesim check scenarios/paper/*.yaml\n  codesim check scenarios/sweeps/*.yaml");
  static std::vector<std::string> check_files;
  static std::vector<std::string> overrides;
  check->add_option("files", check_files, "Scenario or sweep files")->required()->check(CLI::ExistingFile);
  check->add_option("--set", overrides, "Override a key: --set cluster.fabric.planes=4");
  check->callback([&global] {
    int bad = 0;
    for (const auto& f : check_files) {
      scenarios::Scenario s;
      config::Diagnostics d;
      if (is_sweep_file(f)) {  // a sweep: its own keys, then its axes against its base scenario
        if (check_sweep_file(f, overrides, d)) {
          if (!global.quiet) std::cout << f << ": ok (sweep)\n";
        } else {
          std::cerr << d.str();
          ++bad;
        }
        continue;
      }
      // A training scenario: also what train checks before it simulates
      // (the plan against cluster and model, the fabric priced).
      config::Node root;
      bool ok = config::load_file(f, root, d);
      for (const auto& o : overrides) ok = ok && config::apply_override(root, o, d);
      if (ok) ok = scenarios::read_scenario(root, s, d);
      if (ok && s.cluster && s.plan && s.training) {
        workloads::TrainingInputs in;
        ok = scenarios::training_inputs(s, root, in, d);
      }
      if (ok) {
        if (!global.quiet) std::cout << f << ": ok\n";
      } else {
        std::cerr << d.str();
        ++bad;
      }
    }
    global.exit_code = bad ? 1 : 0;
  });

  auto* show = app.add_subcommand("show", "Print the fully resolved scenario (includes, overrides and defaults) as YAML")
                   ->footer("Example:\n  codesim show scenarios/paper/table3-mpft.yaml --set cluster.fabric.planes=4");
  static std::string show_file;
  show->add_option("file", show_file, "Scenario file")->required()->check(CLI::ExistingFile);
  show->add_option("--set", overrides, "Override a key");
  show->callback([&global] {
    scenarios::Scenario s;
    config::Diagnostics d;
    if (!scenarios::load_scenario(show_file, overrides, s, d)) {
      std::cerr << d.str();
      global.exit_code = 1;
      return;
    }
    // File keys as absolute paths (as resolved against the scenario's own
    // folder): the printed scenario loads from anywhere.
    auto absolute = [](const std::string& p) { return std::filesystem::absolute(p).lexically_normal().string(); };
    if (s.cluster && !s.cluster->prices_path.empty()) s.cluster->prices = absolute(s.cluster->prices_path);
    if (s.training) {
      if (!s.training->model_path.empty()) s.training->model = absolute(s.training->model_path);
      if (!s.training->calibration_path.empty()) s.training->calibration = absolute(s.training->calibration_path);
    }
    std::cout << config::emit(config::Writer::to_node(s));
  });
}

}  // namespace codesim::cli
