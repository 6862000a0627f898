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
// How the flow-timed communication is routed (the scenario's `network`
// section, translated by scenarios/).
struct TrainingNetwork {
  topology::RoutingOptions routing;
  sim::NetworkParams params;
};

// Static ECMP: flows hashed onto equal-cost paths (rail-only has one switch
// per rail, so nothing to hash). CommModel::hashed_routing.
bool hashed_routing(const TrainingNetwork& network, const CommModel& net);
// Whether the analytic model (training.comm: analytic) times the cluster's
// fabric exactly: not on direct networks (dragonfly, slim fly), whose router
// links only the flow replay routes over; not with oversubscribed leaves
// (its closed form is an upper bound); not under static ECMP (it sees the
// links but not the flows' collisions). codesim sweep's fast mode replays
// the other points on the flow engine.
bool analytic_is_exact(const topology::ClusterSpec& cluster, const TrainingNetwork& network);

// `plan_node` is the scenario's `plan:` mapping (for error locations); may be
// null. Returns false with every problem in `diags`.
bool make_training_inputs(const topology::ClusterSpec& cluster, const Plan& plan,
                          const TrainingOptions& options, const config::Node* plan_node,
                          TrainingInputs& out, config::Diagnostics& diags,
                          const TrainingNetwork& network = {});

}  // namespace codesim::workloads
