// File: topology/fabric.hpp
//
// The physical graph of a cluster: GPUs, NICs, the scale-up domain
// (NVSwitch), PCIe, and the scale-out switches with every cable between
// them. Generators (topology/generators.hpp) build it on Boost.Graph; routing
// (topology/routing.hpp) finds paths on it; the cost model
// (topology/cost.hpp) prices it; the network engine (sim/) sees it only as
// directed links with a capacity and a latency.
//
// Conventions, relied on by routing and by the engine:
//  * The graph is undirected; each edge is one full-duplex cable or
//    on-board link. Its `bandwidth` is per direction. Edge e (its `id`) is
//    the two directed links 2*id (from the lower vertex id to the higher) and
//    2*id+1 (the reverse): see directed_link().
//  * GPU g is gpu[g]; g = node * gpus_per_node + local index. NICs of GPU g
//    are gpu_nics[g] (one per plane/port; MPFT and MRFT have one NIC per GPU
//    in plane = local index; a multi-port NIC has several).
//  * "Endpoints" are NIC ports attached to the scale-out fabric; "switch
//    links" are switch-to-switch cables. These are the quantities of the
//    paper's Table 3.
#pragma once

#include <boost/graph/adjacency_list.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "sim/units.hpp"

namespace codesim::topology {

enum class DeviceKind { kGpu, kNic, kNvSwitch, kPcieSwitch, kSwitch };
constexpr auto enum_names(DeviceKind) {
  return std::array{std::pair{DeviceKind::kGpu, std::string_view("gpu")},
                    std::pair{DeviceKind::kNic, std::string_view("nic")},
                    std::pair{DeviceKind::kNvSwitch, std::string_view("nvswitch")},
                    std::pair{DeviceKind::kPcieSwitch, std::string_view("pcie_switch")},
                    std::pair{DeviceKind::kSwitch, std::string_view("switch")}};
}

// How a link is built; the cost model prices each kind differently.
enum class LinkKind { kNvlink, kPcie, kCopper, kOptical };
constexpr auto enum_names(LinkKind) {
  return std::array{std::pair{LinkKind::kNvlink, std::string_view("nvlink")},
                    std::pair{LinkKind::kPcie, std::string_view("pcie")},
                    std::pair{LinkKind::kCopper, std::string_view("copper")},
                    std::pair{LinkKind::kOptical, std::string_view("optical")}};
}

struct Device {
  DeviceKind kind = DeviceKind::kSwitch;
  int node = -1;   // server index for GPUs, NICs, NVSwitches; -1 for fabric switches
  int local = -1;  // index inside the server (GPU/NIC index), or the switch's index in its tier
  int plane = -1;  // fabric plane (MPFT) or rail (MRFT, rail-only); -1 when not applicable
  int tier = -1;   // switch layer: 0 leaf/ToR, 1 spine, 2 core; routers of DF/SF are tier 0
  int group = -1;  // pod (FT3), group (dragonfly), scale-up domain (NVL72); -1 otherwise
  int radix = 0;   // ports, for switches
};

struct LinkProps {
  int id = 0;           // dense edge index, 0..num_edges-1
  Bandwidth bandwidth;  // per direction
  Duration latency;     // propagation + serialisation overhead per hop
  LinkKind kind = LinkKind::kCopper;
};

using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS, Device, LinkProps>;
using VertexId = Graph::vertex_descriptor;
using EdgeId = Graph::edge_descriptor;

// The id of the directed link that crosses edge `e` from vertex `from`.
inline int64_t directed_link(const Graph& g, EdgeId e, VertexId from) {
  const auto lo = std::min(boost::source(e, g), boost::target(e, g));
  return 2 * static_cast<int64_t>(g[e].id) + (from == lo ? 0 : 1);
}

struct Fabric {
  std::string name;
  std::string kind;  // generator name: ft2, ft3, mpft, mrft, dragonfly, slimfly, rail_only, nvl72
  Graph graph;
  int nodes = 0;
  int gpus_per_node = 0;
  int planes = 1;
  std::vector<VertexId> gpu;                    // gpu[g]
  std::vector<std::vector<VertexId>> gpu_nics;  // NIC vertices of GPU g, by port/plane
  std::vector<VertexId> nvswitch;               // per node (or per scale-up domain) NVSwitch vertex

  // Added by the generators (topology/generators.hpp) for stats and cost:
  std::string gpu_model;     // catalog GPU preset of every GPU
  std::string nic_model;     // catalog NIC preset of every compute NIC
  std::string switch_model;  // catalog switch preset of every fabric switch
  int radix = 0;             // ports per fabric switch
  Bandwidth switch_port_bandwidth;  // per switch port, one direction (the resolved switch spec)
  int ports_per_nic = 1;     // a multi-port NIC is one NIC vertex per port
  int scale_up_gpus = 0;     // GPUs per NVLink domain (one nvswitch vertex each)
  // Bisection bandwidth (one direction) of the fabric between the first and
  // the second half of the endpoints (in endpoint order), from the
  // generator's structure; tests check it against a max-flow.
  Bandwidth bisection;

  int num_gpus() const { return static_cast<int>(gpu.size()); }
  int node_of(int g) const { return g / gpus_per_node; }
  int local_of(int g) const { return g % gpus_per_node; }
  size_t num_links() const { return boost::num_edges(graph); }
  size_t num_directed_links() const { return 2 * boost::num_edges(graph); }
};

}  // namespace codesim::topology
