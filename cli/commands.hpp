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
void register_serve_commands(CLI::App& app, GlobalOptions& global);     // serve
void register_size_commands(CLI::App& app, GlobalOptions& global);      // size

void register_topology_commands(CLI::App& app, GlobalOptions& global);  // topology, topology compare

void register_sweep_commands(CLI::App& app, GlobalOptions& global);     // sweep
void register_model_commands(CLI::App& app, GlobalOptions& global);     // model, trace-import

void register_init_commands(CLI::App& app, GlobalOptions& global);      // init
void register_validate_commands(CLI::App& app, GlobalOptions& global);  // validate
void register_train_commands(CLI::App& app, GlobalOptions& global);     // train, calibrate

void register_net_commands(CLI::App& app, GlobalOptions& global);       // net
void register_reproduce_commands(CLI::App& app, GlobalOptions& global); // reproduce

void register_all(CLI::App& app, GlobalOptions& global);

}  // namespace codesim::cli
