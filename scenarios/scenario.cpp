#include "scenarios/scenario.hpp"

namespace codesim::scenarios {

bool load_scenario(const std::string& path, const std::vector<std::string>& overrides,
                   Scenario& out, config::Diagnostics& diags) {
  return config::load(path, overrides, out, diags);
}

bool read_scenario(const config::Node& root, Scenario& out, config::Diagnostics& diags) {
  config::Reader::read_struct(root, "", out, diags);
  return diags.empty();
}

}  // namespace codesim::scenarios
