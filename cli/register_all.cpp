#include "cli/commands.hpp"

namespace codesim::cli {

void register_all(CLI::App& app, GlobalOptions& global) {
  register_config_commands(app, global);
}

}  // namespace codesim::cli
