// File: workloads/training_setup.hpp
//
// Composition of a training run from scenario sections: the cluster
// (topology/cluster.hpp), the plan and the training options. Loads the
// model spec and the calibration file, checks the plan against cluster and
// model (errors name file:line:key of the plan section), derives the
// analytic network view and prices the cluster with topology's cost model.
#pragma once

#include <string>

#include "sim/config.hpp"
#include "topology/cluster.hpp"
#include "workloads/training.hpp"

namespace codesim::workloads {

// The analytic network view of a cluster (see CommModel).
CommModel comm_model_of(const topology::ClusterSpec& cluster);
// Whether the analytic model (training.comm: analytic) sees what limits the
// cluster's fabric under this routing: not on direct networks (dragonfly,
// slim fly), whose router links only the flow replay routes over, and not
// under hashed ECMP, whose flow collisions it cannot count (it assumes the
// even spread that adaptive routing, spraying and d-mod-k reach). codesim
// sweep's fast mode replays those points on the flow engine.
bool analytic_sees_fabric(const topology::ClusterSpec& cluster, topology::RoutingPolicy routing);

// How the flow-timed communication is routed (the scenario's `network`
// section, translated by scenarios/).
struct TrainingNetwork {
  topology::RoutingOptions routing;
  sim::NetworkParams params;
};

// `plan_node` is the scenario's `plan:` mapping (for error locations); may be
// null. Returns false with every problem in `diags`.
bool make_training_inputs(const topology::ClusterSpec& cluster, const Plan& plan,
                          const TrainingOptions& options, const config::Node* plan_node,
                          TrainingInputs& out, config::Diagnostics& diags,
                          const TrainingNetwork& network = {});

}  // namespace codesim::workloads
