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

bool training_inputs(const Scenario& s, const config::Node& root, workloads::TrainingInputs& out,
                     config::Diagnostics& diags) {
  if (!s.cluster || !s.plan || !s.training) {
    diags.add(root.mark, "(document)",
              std::string("codesim train needs the sections cluster, plan and training; missing:") +
                  (s.cluster ? "" : " cluster") + (s.plan ? "" : " plan") + (s.training ? "" : " training"));
    return false;
  }
  if (s.network && !s.network->faults.empty()) {
    const config::Node* n = root.find("network");
    const config::Node* f = n ? n->find("faults") : nullptr;
    diags.add(f ? f->mark : root.mark, "network.faults",
              "codesim train does not model failures (faults are replayed by codesim net, with a comm section); "
              "remove them, or degrade the cluster itself (e.g. cluster.node_spec.nic_spec.effective_bandwidth)");
    return false;
  }
  return workloads::make_training_inputs(*s.cluster, *s.plan, *s.training, root.find("plan"), out, diags,
                                         training_network(s));
}

}  // namespace codesim::scenarios
