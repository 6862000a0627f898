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
#include "scenarios/net_spec.hpp"
#include "topology/cluster.hpp"
#include "workloads/decode_limit.hpp"
#include "workloads/serving.hpp"
#include "workloads/plan.hpp"
#include "workloads/training_setup.hpp"
#include "workloads/training.hpp"

namespace codesim::scenarios {

struct Scenario {
  std::string name;
  std::string description;
  std::optional<topology::ClusterSpec> cluster;  // topology/cluster.hpp
  std::optional<workloads::DecodeLimitSpec> decode_limit;  // workloads/decode_limit.hpp
  std::optional<workloads::ServingSpec> serving;           // workloads/serving.hpp
  std::optional<workloads::Plan> plan;                     // workloads/plan.hpp
  std::optional<workloads::TrainingOptions> training;      // workloads/training.hpp
  std::optional<NetworkSpec> network;                      // scenarios/net_spec.hpp
  std::optional<CommSpec> comm;                            // scenarios/net_spec.hpp

  template <class V>
  void fields(V& v) {
    v.req("name", name, "short name used in tables and file names");
    v.opt("description", description, "what the scenario is for, with its source");
    v.opt("cluster", cluster, "nodes, node count and fabric (codesim topology)");
    v.opt("decode_limit", decode_limit, "ISCA'25 decode speed-limit assumptions (codesim serve)");
    v.opt("serving", serving, "inference deployment and traffic (codesim serve, codesim size)");
    v.opt("plan", plan, "training parallel plan: PP/EP/DP, batch, precision (codesim train)");
    v.opt("training", training, "training model file and cost assumptions (codesim train)");
    v.opt("network", network, "routing policy, completion merging, faults (codesim net)");
    v.opt("comm", comm, "communication pattern, size and group (codesim net)");
  }
  // Checks across sections (each section checks itself).
  void validate(config::Reader& r) const {
    if (plan && training)
      r.check(training->report_rank < plan->pipeline.degree, "training.report_rank",
              "pipeline rank " + std::to_string(training->report_rank) + " does not exist (plan.pipeline.degree = " +
                  std::to_string(plan->pipeline.degree) + ": ranks 0-" + std::to_string(plan->pipeline.degree - 1) +
                  ")");
  }
};

// The routing and engine parameters training's flow-timed communication uses:
// the scenario's `network` section (routing, seed, merge_quantum,
// message_overhead, rail_forwarding, pxn_sender_side), or its defaults.
// Faults in the section apply to `codesim net` only.
workloads::TrainingNetwork training_network(const Scenario& s);

// What `codesim train` (and `codesim check`) read from a scenario with the
// sections cluster, plan and training: the plan checked against cluster and
// model, the fabric priced (make_training_inputs), and nothing the step does
// not model accepted silently (network.faults: `codesim net` only). `root`
// is the scenario's resolved tree, for the errors' lines.
bool training_inputs(const Scenario& s, const config::Node& root, workloads::TrainingInputs& out,
                     config::Diagnostics& diags);

// Reads a resolved scenario tree (e.g. a sweep point) strictly.
bool read_scenario(const config::Node& root, Scenario& out, config::Diagnostics& diags);

// Loads FILE with its includes, applies --set overrides, and reads it
// strictly. On failure `diags` holds every error; nothing is written.
bool load_scenario(const std::string& path, const std::vector<std::string>& overrides,
                   Scenario& out, config::Diagnostics& diags);

}  // namespace codesim::scenarios
