// File: topology/detail/builder.hpp
//
// Shared machinery of the generators: adds devices and links with dense edge
// ids, builds the nodes (GPUs, PCIe, NICs, NVSwitch), and the two-layer Clos
// used by ft2, mpft, mrft and nvl72.
#pragma once

#include <vector>

#include "topology/cluster.hpp"
#include "topology/fabric.hpp"

namespace codesim::topology::detail {

class Builder {
 public:
  Builder(Fabric& fabric, const ClusterSpec& cluster);

  VertexId add(const Device& d) { return boost::add_vertex(d, fabric_.graph); }
  VertexId add_switch(int tier, int local, int group, int plane);
  void link(VertexId a, VertexId b, Bandwidth bw, Duration latency, LinkKind kind);
  // A switch-to-switch cable / a NIC-to-switch cable.
  void switch_link(VertexId a, VertexId b, LinkKind kind) {
    link(a, b, port_bandwidth_, hop_latency_, kind);
  }
  void attach(VertexId nic, VertexId sw) {
    link(nic, sw, port_bandwidth_, hop_latency_, cluster_.fabric.endpoint_link);
  }

  // GPUs, NIC ports, PCIe switches and NVSwitch domains of every node;
  // returns the NIC ports in endpoint order (see generators.hpp).
  std::vector<VertexId> build_nodes();

  // Two-layer Clos over `leaves` (each the endpoints of one leaf): `up`
  // uplinks per leaf spread round-robin over ceil(L * up / radix) spines.
  // Returns the bisection (one direction) of this Clos for the endpoint
  // halves: min(E/2, E/2 * up/down) links.
  Bandwidth two_layer(const std::vector<std::vector<VertexId>>& leaves, int down, int up, int plane);

  int radix() const { return radix_; }
  Bandwidth port_bandwidth() const { return port_bandwidth_; }
  int ports_per_gpu() const { return ports_per_gpu_; }

 private:
  Fabric& fabric_;
  const ClusterSpec& cluster_;
  int radix_;
  int ports_per_gpu_;
  Bandwidth port_bandwidth_;
  Duration hop_latency_;
  int next_edge_ = 0;
};

// Leaf down/up ports for an oversubscription ratio o = down/up at radix k.
void leaf_ports(int radix, double oversubscription, int& down, int& up);

}  // namespace codesim::topology::detail
