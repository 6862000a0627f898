// Subcommand registration for the codesim executable.
#pragma once

#include <CLI/CLI.hpp>

namespace codesim::cli {

struct GlobalOptions {
  bool quiet = false;
  bool verbose = false;
  int exit_code = 0;  // set by the subcommand that ran
};

// Each cli/cmd_*.cpp defines one of these; register_all() calls them.
void register_config_commands(CLI::App& app, GlobalOptions& global);    // check, show

void register_all(CLI::App& app, GlobalOptions& global);

}  // namespace codesim::cli
