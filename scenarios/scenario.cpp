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

workloads::TrainingNetwork training_network(const Scenario& s) {
  workloads::TrainingNetwork n;
  if (!s.network) return n;
  n.routing.policy = s.network->routing;
  n.routing.seed = static_cast<uint64_t>(s.network->seed);
  n.routing.rail_forwarding = s.network->rail_forwarding;
  n.routing.pxn_sender_side = s.network->pxn_sender_side;
  n.params.merge_quantum = s.network->merge_quantum;
  n.params.message_overhead = s.network->message_overhead;
  n.params.flowlet_gap = s.network->flowlet_gap;
  return n;
}

}  // namespace codesim::scenarios
