// File: topology/generators.hpp
//
// Fabric generators: each builds the FULL graph of a cluster on Boost.Graph,
// per the conventions of topology/fabric.hpp:
//
//   per node   GPUs; one NIC vertex per NIC port; a PCIe switch per
//              `gpus_per_pcie_switch` GPUs (GPU - PCIe switch - NIC), or a
//              direct GPU-NIC PCIe link; one NVSwitch vertex per NVLink
//              domain (the node's NVSwitch chips folded into one
//              non-blocking crossbar; 72 GPUs for nvl72).
//   fabric     the switches of the chosen kind and every cable.
//
// Endpoint order: endpoint e is port j of GPU g with e = g * ports_per_gpu + j
// (node-major). Leaves, routers and rails are filled in that order, so the
// first and second half of the endpoints are the first and second half of
// the nodes (used for the bisection).
//
// Link properties: scale-out links carry min(NIC port, switch port)
// bandwidth and SwitchSpec::per_hop_latency(); each side's GPU-NIC path
// carries half of SwitchSpec::host_latency(), so a 64 B message across one
// leaf adds up to the published same-leaf latency (ISCA Tab. 5, T21).
// GPU-NVSwitch links carry nvlink_per_direction and half of nvlink_latency.
//
// Link kinds (for the cost model): fat-tree switch-to-switch links are
// optical (spines sit in other racks); dragonfly links inside a group are
// copper and global links optical; slim fly links inside a rack (rack x holds
// routers (0,x,*) and (1,x,*), the layout of Besta & Hoefler) are copper, the
// rest optical. NIC-to-switch cables take FabricSpec::endpoint_link.
#pragma once

#include <cstdint>
#include <string>

#include "topology/cluster.hpp"
#include "topology/fabric.hpp"

namespace codesim::topology {

// Whether `cluster.nodes` nodes fit the fabric (radix, planes,
// oversubscription, dragonfly/slim fly parameters): "" when they do, else
// what is wrong and what would fit. ClusterSpec::validate reports it.
std::string check_fabric(const ClusterSpec& cluster);

// Builds the whole cluster. Precondition: `cluster` passed validation
// (ClusterSpec::validate), which checks capacity and radix.
Fabric build_fabric(const ClusterSpec& cluster, std::string name);

}  // namespace codesim::topology
