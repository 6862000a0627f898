// codesim check FILE... / codesim show FILE: validate and print scenarios.
#include <iostream>

#include "cli/commands.hpp"
#include "scenarios/scenario.hpp"

namespace codesim::cli {

void register_config_commands(CLI::App& app, GlobalOptions& global) {
  auto* check = app.add_subcommand("check", "Validate scenario files strictly; report every error")
                    ->footer("Example:\n  codesim check scenarios/paper/*.yaml");
  static std::vector<std::string> check_files;
  static std::vector<std::string> overrides;
  check->add_option("files", check_files, "Scenario files")->required()->check(CLI::ExistingFile);
  check->add_option("--set", overrides, "Override a key: --set cluster.fabric.planes=4");
  check->callback([&global] {
    int bad = 0;
    for (const auto& f : check_files) {
      scenarios::Scenario s;
      config::Diagnostics d;
      if (scenarios::load_scenario(f, overrides, s, d)) {
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
    std::cout << config::emit(config::Writer::to_node(s));
  });
}

}  // namespace codesim::cli
