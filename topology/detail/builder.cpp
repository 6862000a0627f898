#include "topology/detail/builder.hpp"

#include <algorithm>
#include <cmath>

namespace codesim::topology::detail {

void leaf_ports(int radix, double oversubscription, int& down, int& up) {
  down = static_cast<int>(std::lround(radix * oversubscription / (1.0 + oversubscription)));
  up = radix - down;
}

Builder::Builder(Fabric& fabric, const ClusterSpec& cluster)
    : fabric_(fabric),
      cluster_(cluster),
      radix_(cluster.fabric.effective_radix()),
      ports_per_gpu_(cluster.node_spec.ports_per_gpu()),
      port_bandwidth_(std::min(cluster.node_spec.nic_spec.port_bandwidth,
                               cluster.fabric.switch_spec.port_bandwidth)),
      hop_latency_(cluster.fabric.switch_spec.per_hop_latency()) {}

VertexId Builder::add_switch(int tier, int local, int group, int plane) {
  Device d;
  d.kind = DeviceKind::kSwitch;
  d.tier = tier;
  d.local = local;
  d.group = group;
  d.plane = plane;
  d.radix = radix_;
  return add(d);
}

void Builder::link(VertexId a, VertexId b, Bandwidth bw, Duration latency, LinkKind kind) {
  LinkProps p;
  p.id = next_edge_++;
  p.bandwidth = bw;
  p.latency = latency;
  p.kind = kind;
  boost::add_edge(a, b, p, fabric_.graph);
}

std::vector<VertexId> Builder::build_nodes() {
  const NodeSpec& n = cluster_.node_spec;
  const int gpus = n.gpus;
  const int per_pcie = n.gpus_per_pcie_switch;
  const int nodes_per_domain = std::max(1, n.scale_up_gpus / gpus);
  const Bandwidth nvlink = n.gpu_spec.nvlink_per_direction;
  const Duration nvlink_half = n.nvlink_latency * 0.5;
  // Half of the host part of the end-to-end latency on each side, spread
  // over the PCIe links of that side (1 or 2).
  const Duration host_side = cluster_.fabric.switch_spec.host_latency() * 0.5;
  const Duration pcie_link = per_pcie > 0 ? host_side * 0.5 : host_side;

  const size_t total_gpus = static_cast<size_t>(cluster_.nodes) * gpus;
  fabric_.gpu.reserve(total_gpus);
  fabric_.gpu_nics.reserve(total_gpus);
  std::vector<VertexId> endpoints;
  endpoints.reserve(total_gpus * ports_per_gpu_);
  std::vector<VertexId> pcie;
  VertexId nvswitch = 0;
  for (int node = 0; node < cluster_.nodes; ++node) {
    const int domain = node / nodes_per_domain;
    if (node % nodes_per_domain == 0) {
      Device d;
      d.kind = DeviceKind::kNvSwitch;
      d.node = node;
      d.local = 0;
      d.group = domain;
      nvswitch = add(d);
      fabric_.nvswitch.push_back(nvswitch);
    }
    pcie.clear();
    for (int s = 0; per_pcie > 0 && s < gpus / per_pcie; ++s) {
      Device d;
      d.kind = DeviceKind::kPcieSwitch;
      d.node = node;
      d.local = s;
      d.group = domain;
      pcie.push_back(add(d));
    }
    for (int i = 0; i < gpus; ++i) {
      Device d;
      d.kind = DeviceKind::kGpu;
      d.node = node;
      d.local = i;
      d.group = domain;
      const VertexId gpu = add(d);
      fabric_.gpu.push_back(gpu);
      link(gpu, nvswitch, nvlink, nvlink_half, LinkKind::kNvlink);
      if (per_pcie > 0) link(gpu, pcie[i / per_pcie], n.pcie_per_direction, pcie_link, LinkKind::kPcie);
      std::vector<VertexId> nics;
      nics.reserve(ports_per_gpu_);
      for (int j = 0; j < ports_per_gpu_; ++j) {
        Device nd;
        nd.kind = DeviceKind::kNic;
        nd.node = node;
        nd.local = i * ports_per_gpu_ + j;
        nd.group = domain;
        const VertexId nic = add(nd);
        link(per_pcie > 0 ? pcie[i / per_pcie] : gpu, nic, n.pcie_per_direction, pcie_link,
             LinkKind::kPcie);
        nics.push_back(nic);
        endpoints.push_back(nic);
      }
      fabric_.gpu_nics.push_back(std::move(nics));
    }
  }
  return endpoints;
}

Bandwidth Builder::two_layer(const std::vector<std::vector<VertexId>>& leaves, int down, int up,
                             int plane) {
  const int num_leaves = static_cast<int>(leaves.size());
  std::vector<VertexId> leaf(num_leaves);
  int64_t endpoints = 0;
  for (int l = 0; l < num_leaves; ++l) {
    leaf[l] = add_switch(0, l, -1, plane);
    for (VertexId nic : leaves[l]) attach(nic, leaf[l]);
    endpoints += static_cast<int64_t>(leaves[l].size());
  }
  if (num_leaves <= 1) return port_bandwidth_ * static_cast<double>(endpoints / 2);
  const int spines = (num_leaves * up + radix_ - 1) / radix_;
  std::vector<VertexId> spine(spines);
  for (int s = 0; s < spines; ++s) spine[s] = add_switch(1, s, -1, plane);
  for (int l = 0; l < num_leaves; ++l)
    for (int j = 0; j < up; ++j) switch_link(leaf[l], spine[(l * up + j) % spines], LinkKind::kOptical);
  const double half = static_cast<double>(endpoints / 2);
  return port_bandwidth_ * std::min(half, half * up / down);
}

}  // namespace codesim::topology::detail
