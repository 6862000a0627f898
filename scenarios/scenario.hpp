// File: scenarios/scenario.hpp
//
// A scenario names its parts, each an orthogonal axis that can live in its
// own file (combined with `include:`) or be changed from the command line
// (`--set cluster.fabric.planes=4`):
//
//   name, description   what this scenario is for
//   cluster             node type and count, fabric, prices   (topology/)
//
// Later parts (model, plan, workload) are added as their layers arrive.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sim/config.hpp"

namespace codesim::scenarios {

struct Scenario {
  std::string name;
  std::string description;

  template <class V>
  void fields(V& v) {
    v.req("name", name, "short name used in tables and file names");
    v.opt("description", description, "what the scenario is for, with its source");
  }
};

// Loads FILE with its includes, applies --set overrides, and reads it
// strictly. On failure `diags` holds every error; nothing is written.
bool load_scenario(const std::string& path, const std::vector<std::string>& overrides,
                   Scenario& out, config::Diagnostics& diags);

}  // namespace codesim::scenarios
