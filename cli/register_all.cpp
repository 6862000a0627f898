#include "cli/commands.hpp"

namespace codesim::cli {

void register_all(CLI::App& app, GlobalOptions& global) {
  register_config_commands(app, global);
  register_net_commands(app, global);
  register_init_commands(app, global);
  register_validate_commands(app, global);
  register_sweep_commands(app, global);
  register_topology_commands(app, global);
  register_serve_commands(app, global);
  register_size_commands(app, global);
  register_model_commands(app, global);
  register_train_commands(app, global);
  register_reproduce_commands(app, global);
}

}  // namespace codesim::cli
