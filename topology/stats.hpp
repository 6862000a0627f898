// File: topology/stats.hpp
//
// Structural figures of a generated fabric, the quantities of the paper's
// Table 3 (T10) and the invariants the generator tests check:
//
//  * endpoints:    NIC ports cabled to a fabric switch;
//  * switches:     fabric switches (not NVSwitch / PCIe switches);
//  * switch_links: switch-to-switch cables (Table 3's "Links");
//  * diameter:     the largest number of switch-to-switch hops between two
//                  connected switches that hold endpoints (FT2 2, FT3 4,
//                  dragonfly 3, slim fly 2), by breadth-first search from
//                  every endpoint switch;
//  * components:   connected parts of the switch graph that hold endpoints:
//                  1, or the planes of MPFT and the rails of rail-only,
//                  which meet only inside the nodes (NVLink/PCIe);
//  * paths:        the number of equal-cost shortest switch paths between
//                  the first and the last endpoint reachable from it
//                  through the fabric (parallel cables count as distinct
//                  paths), and their length in switch hops;
//  * bisection:    one-direction bandwidth of the fabric between the first
//                  and second half of the endpoints: the generator's value
//                  from its structure, or (slim fly, or when asked) the
//                  max-flow / min-cut of the switch graph.
#pragma once

#include <cstdint>
#include <vector>

#include "topology/fabric.hpp"

namespace codesim::topology {

// The switches of a fabric as a compact graph (CSR), for graph searches that
// must be fast on 16k routers.
struct SwitchGraph {
  std::vector<VertexId> vertex;   // switch index -> fabric vertex
  std::vector<int> index;         // fabric vertex -> switch index, or -1
  std::vector<int64_t> offset;    // arcs of switch i: target[offset[i] .. offset[i+1])
  std::vector<int> target;        // one arc per cable and direction (parallel cables repeat)
  std::vector<double> capacity;   // bytes/s of each arc
  std::vector<int> endpoints;     // endpoints on each switch
  std::vector<int> endpoint_switch;  // endpoint e (in endpoint order) -> switch index

  int size() const { return static_cast<int>(vertex.size()); }
};
SwitchGraph switch_graph(const Fabric& fabric);

// Diameter as defined above; 0 for a single switch, -1 with no endpoints.
int switch_diameter(const SwitchGraph& sg);
// Connected components of the switch graph that hold endpoints.
int endpoint_components(const SwitchGraph& sg);

struct PathCount {
  int hops = -1;      // switch-to-switch hops, -1 when unreachable
  int64_t count = 0;  // equal-cost shortest paths
};
PathCount shortest_paths(const SwitchGraph& sg, int from_switch, int to_switch);

// Max-flow (Boykov-Kolmogorov, Boost.Graph) from the switches of the first
// half of the endpoints to those of the second half, each endpoint feeding
// or draining one port's bandwidth.
Bandwidth max_flow_bisection(const Fabric& fabric, const SwitchGraph& sg);

struct FabricStats {
  int64_t endpoints = 0;
  int64_t switches = 0;
  int64_t switch_links = 0;
  int64_t gpus = 0;
  int64_t vertices = 0;
  int64_t edges = 0;
  int diameter = -1;
  int components = 0;
  PathCount paths;  // first endpoint to the last one it reaches
  Bandwidth bisection;
};
// `exact_bisection`: always use the max-flow (slower on large fabrics).
FabricStats compute_stats(const Fabric& fabric, bool exact_bisection = false);

}  // namespace codesim::topology
