#include "scenarios/scenario.hpp"

namespace codesim::scenarios {

bool load_scenario(const std::string& path, const std::vector<std::string>& overrides,
                   Scenario& out, config::Diagnostics& diags) {
  return config::load(path, overrides, out, diags);
}

}  // namespace codesim::scenarios
