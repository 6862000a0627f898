#include "workloads/serving.hpp"

#include <algorithm>

#include "topology/catalog.hpp"

namespace codesim::workloads {

void seed_serving_hardware(ServingHardware& hw) {
  if (hw.node.empty()) return;
  const topology::NodeSpec* n = topology::find_node(hw.node);
  if (!n || hw.node_spec.name == hw.node) return;  // unknown (validate reports it) or seeded
  hw.node_spec = *n;
  const topology::GpuSpec& g = n->gpu_spec;
  hw.gpu = g.name;
  // A serving node is the GPUs of one NVLink domain: the server on HGX, the
  // whole rack of 18 four-GPU trays on GB200 NVL72 (EP inside it never
  // touches the NIC; serving_cluster builds the fabric from the trays).
  hw.gpus_per_node = std::max(n->gpus, n->scale_up_gpus);
  hw.hbm_capacity = g.hbm;
  hw.hbm_bandwidth = g.hbm_bandwidth;
  hw.fp8_peak = g.fp8_dense;
  hw.bf16_peak = g.bf16_dense;
  hw.sms = g.sms;
  hw.scale_out_bandwidth = n->nic_spec.port_bandwidth * static_cast<double>(n->ports_per_gpu());
  hw.scale_up_bandwidth = g.nvlink_achievable.bytes_per_second() > 0 ? g.nvlink_achievable : g.nvlink_per_direction;
  // One all-to-all phase crosses the spine: the default switch's cross-leaf latency.
  if (const topology::SwitchSpec* sw = topology::find_switch(topology::FabricSpec{}.switch_model))
    hw.network_latency = sw->cross_leaf_latency;
}

}  // namespace codesim::workloads
