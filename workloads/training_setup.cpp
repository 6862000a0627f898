#include "workloads/training_setup.hpp"

#include <algorithm>
#include <memory>

#include "models/model_io.hpp"
#include "topology/cost.hpp"
#include "topology/generators.hpp"

namespace codesim::workloads {

bool hashed_routing(const TrainingNetwork& network, const CommModel& net) {
  return network.routing.policy == topology::RoutingPolicy::kEcmp && !net.rail_only;
}

bool analytic_is_exact(const topology::ClusterSpec& cluster, const TrainingNetwork& network) {
  const CommModel net = comm_model_of(cluster);
  return !net.direct && net.oversubscription <= 1 && !hashed_routing(network, net);
}

CommModel comm_model_of(const topology::ClusterSpec& c) {
  CommModel n;
  const auto& node = c.node_spec;
  const int ports = node.ports_per_gpu();
  // What the flow replay's links carry (fabric_comm.cpp achievable_links):
  // a NIC port's link runs at the slower of its two ends, the NIC's port
  // and the switch's, and at most at what the all-to-all reaches of it;
  // the GPU's traffic to its NICs crosses its PCIe link (one per GPU behind
  // a PCIe switch, one per NIC port when the NICs hang off the GPU, as
  // topology/detail/builder.cpp links them).
  Bandwidth per_port = node.nic_spec.effective_bandwidth;
  if (per_port.bytes_per_second() <= 0) per_port = node.nic_spec.port_bandwidth;
  if (node.nic_spec.port_bandwidth.bytes_per_second() > 0) per_port = std::min(per_port, node.nic_spec.port_bandwidth);
  if (c.fabric.switch_spec.port_bandwidth.bytes_per_second() > 0)
    per_port = std::min(per_port, c.fabric.switch_spec.port_bandwidth);
  n.nic_effective = per_port * static_cast<double>(ports);
  if (node.pcie_per_direction.bytes_per_second() > 0) {
    const int pcie_links = node.gpus_per_pcie_switch > 0 ? 1 : ports;  // the builder links each port
    n.nic_effective = std::min(n.nic_effective, node.pcie_per_direction * static_cast<double>(pcie_links));
  }
  n.nvlink = node.gpu_spec.nvlink_achievable.bytes_per_second() > 0 ? node.gpu_spec.nvlink_achievable
                                                                      : node.gpu_spec.nvlink_per_direction;
  n.latency = c.fabric.switch_spec.cross_leaf_latency;
  n.nvlink_latency = node.nvlink_latency;
  n.gpus_per_node = std::max(1, node.gpus);
  // (A cluster smaller than one domain is one domain: the fabric puts all its nodes in it.)
  n.gpus_per_domain = node.scale_up_gpus > n.gpus_per_node && node.scale_up_gpus % n.gpus_per_node == 0
                          ? std::min(node.scale_up_gpus, std::max(1, c.nodes) * n.gpus_per_node)
                          : n.gpus_per_node;
  n.oversubscription = std::max(1.0, c.fabric.oversubscription);
  n.kind = std::string(config::enum_to_string(c.fabric.kind));
  // Nodes under one leaf switch of one plane/rail: the leaf's down ports
  // (radix * o / (1 + o) for down:up = o) over the NIC ports a node puts into
  // that plane (one per plane or rail in MPFT/MRFT/rail-only; all of them in
  // a single-plane fat tree).
  const int radix = c.fabric.effective_radix();
  const double o = n.oversubscription;
  const int down = static_cast<int>(radix * o / (1.0 + o));
  using topology::FabricKind;
  switch (c.fabric.kind) {
    case FabricKind::kMpft:
    case FabricKind::kMrft:
      n.nodes_per_leaf = down;
      break;
    case FabricKind::kRailOnly:
      n.nodes_per_leaf = 0;  // one switch per rail: never leaves a leaf
      n.rail_only = true;
      break;
    case FabricKind::kFt2:
    case FabricKind::kFt3:
      n.nodes_per_leaf = std::max(1, down / std::max(1, n.gpus_per_node * ports));
      break;
    case FabricKind::kDragonfly:
    case FabricKind::kSlimfly:
      n.nodes_per_leaf = 0;  // no leaf model: the closed forms do not see the network's links
      n.direct = true;
      break;
    default:
      n.nodes_per_leaf = 0;  // NVL72 racks: no leaf model
      break;
  }
  return n;
}

namespace {

// r.check on a dotted key, with the mark of the deepest node that exists.
void fail(const config::Node* root, const std::string& root_path, const std::string& dotted,
          const std::string& message, config::Diagnostics& diags) {
  config::Mark mark = root ? root->mark : config::Mark{};
  const config::Node* n = root;
  size_t pos = 0;
  while (n && pos <= dotted.size()) {
    const size_t dot = dotted.find('.', pos);
    const std::string part = dotted.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    const config::Node* child = n->is_map() ? n->find(part) : nullptr;
    if (!child) break;
    n = child;
    mark = n->mark;
    if (dot == std::string::npos) break;
    pos = dot + 1;
  }
  diags.add(mark, root_path + "." + dotted, message);
}

}  // namespace

bool make_training_inputs(const topology::ClusterSpec& cluster, const Plan& plan,
                          const TrainingOptions& options, const config::Node* plan_node,
                          TrainingInputs& out, config::Diagnostics& diags,
                          const TrainingNetwork& network) {
  out = TrainingInputs{};
  out.plan = plan;
  out.options = options;
  if (!models::load_model_spec(options.model_path.empty() ? options.model : options.model_path, {},
                               out.model, diags))
    return false;
  // calibration_path is set by TrainingOptions::validate(); callers that
  // build the options in code may give only `calibration`.
  std::string cal_path = options.calibration_path;
  if (cal_path.empty()) cal_path = options.calibration.empty() ? default_calibration_path() : options.calibration;
  if (!load_calibration(cal_path, out.calibration, diags)) return false;

  const auto& g = cluster.node_spec.gpu_spec;
  out.gpu = GpuCompute{g.bf16_dense, g.fp8_dense, g.hbm_bandwidth, g.sms};
  out.hbm = g.hbm;
  out.net = comm_model_of(cluster);
  out.nodes = cluster.nodes;

  // Plan against cluster and model, reported at the plan's keys.
  config::Diagnostics local;
  config::Node empty = config::Node::make_map();
  config::Reader r(plan_node ? *plan_node : empty, "plan", local);
  check_plan(plan, cluster.num_gpus(), cluster.node_spec.gpus, out.model, out.gpu, out.hbm,
             out.calibration, r, "");
  for (const auto& d : local.list()) {
    std::string key = d.key;
    if (key.rfind("plan..", 0) == 0) key = key.substr(6);
    else if (key.rfind("plan.", 0) == 0) key = key.substr(5);
    fail(plan_node, "plan", key, d.message, diags);
  }
  if (!local.empty()) return false;
  if (options.report_rank >= plan.pipeline.degree) {
    diags.add({}, "training.report_rank",
              "pipeline rank " + std::to_string(options.report_rank) + " does not exist (PP = " +
                  std::to_string(plan.pipeline.degree) + ")");
    return false;
  }

  // Prices: topology's cost model over the generated fabric.
  if (std::string why = topology::check_fabric(cluster); !why.empty()) {
    diags.add({}, "cluster.fabric", why);
    return false;
  }
  auto fabric = std::make_shared<const topology::Fabric>(topology::build_fabric(cluster, "training"));
  std::string err;
  const auto cost = topology::price_fabric(*fabric, cluster.price_list, err);
  if (!cost) {
    diags.add({}, "cluster.prices", err);
    return false;
  }
  out.fabric_usd = cost->fabric_usd();
  if (options.comm == CommTiming::kFlow) {
    out.fabric_comm.fabric = std::move(fabric);
    out.fabric_comm.routing = network.routing;
    out.fabric_comm.network = network.params;
    const auto& nic = cluster.node_spec.nic_spec;
    out.fabric_comm.nic_effective_per_port = nic.effective_bandwidth;
    out.fabric_comm.nvlink_achievable = cluster.node_spec.gpu_spec.nvlink_achievable;
    out.fabric_comm.step_latency = out.net.latency;
  }
  // (Rail-only has one switch per rail: no equal-cost choice to hash.)
  out.net.hashed_routing = hashed_routing(network, out.net);
  out.capex_usd = cost->total_usd() - cost->fabric_usd();
  return true;
}

}  // namespace codesim::workloads
