// File: topology/routing.hpp
//
// Paths on a topology::Fabric, and the routing policies the network engine
// calls when a flow starts (sim::PathSelector).
//
// Directed link ids follow fabric.hpp: edge e is links 2e (low -> high vertex)
// and 2e+1. export_links() turns the fabric into the engine's LinkTable with
// exactly these ids, so per-link results map back to cables.
//
// A GPU-to-GPU route is built from three parts:
//   * inside a node (or NVLink domain): GPU -> NVSwitch -> GPU over NVLink
//     edges, GPU -> NIC over PCIe edges (found once per pair, cached);
//   * the NIC pair: a source NIC port of the sender and a destination NIC on
//     the receiver's node in the same scale-out component ("plane"). In a
//     multi-plane fat-tree (MPFT) the planes are disconnected, so traffic
//     stays in the plane of the sending NIC: when the receiver's own NIC is
//     in another plane, the flow lands on the NIC of the receiver-node GPU
//     with the sender's plane and is forwarded over NVLink (DeepEP's
//     node-limited path; NCCL PXN does the mirror image on the sender side,
//     selectable with RoutingOptions::pxn_sender_side). With
//     `rail_forwarding` the same forwarding is used whenever the NICs'
//     planes/rails differ, even if the fabric connects them (MRFT + PXN);
//   * between the two NICs' switches: equal-cost shortest paths on the switch
//     graph. Distances to each destination switch are computed once by BFS
//     and cached, which makes a fat-tree path O(hops) per flow (the 4.19M
//     flows of a 2,048-GPU all-to-all route in well under a second) and works
//     unchanged on dragonfly and slim fly (minimal routing).
//
// Policies, per hop among the equal-cost next hops:
//   kEcmp     static hash of (src, dst, flow id, switch) - collisions included;
//   kAdaptive least assigned flows on the candidate link, looking one hop
//             ahead (so an FT2 picks the spine whose up AND down link are
//             least loaded); decided when a flow starts and, with
//             sim::NetworkParams::flowlet_gap > 0, again at every flowlet
//             boundary (the engine moves the flow when that is less loaded);
//   kSpray    the flow is split evenly over every equal-cost next hop at
//             every switch (and over the sender's NIC ports);
//   kDmodk    fixed destination-mod-k: the i-th choice takes
//             (D / prod(earlier counts)) mod count, D = destination NIC index.
// Failed links (LinkState::up) are skipped; when every equal-cost path is
// down, the distances are recomputed without the failed links (a longer
// path), and a sender whose NICs are all cut off forwards over NVLink to a
// node peer whose NIC still works. No path at all -> empty route
// (undeliverable, reported by the engine).
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sim/flow_network.hpp"
#include "topology/fabric.hpp"

namespace codesim::topology {

enum class RoutingPolicy { kEcmp, kAdaptive, kSpray, kDmodk };
constexpr auto enum_names(RoutingPolicy) {
  return std::array{std::pair{RoutingPolicy::kEcmp, std::string_view("ecmp")},
                    std::pair{RoutingPolicy::kAdaptive, std::string_view("adaptive")},
                    std::pair{RoutingPolicy::kSpray, std::string_view("spray")},
                    std::pair{RoutingPolicy::kDmodk, std::string_view("dmodk")}};
}

struct RoutingOptions {
  RoutingPolicy policy = RoutingPolicy::kEcmp;
  uint64_t seed = 0;               // ECMP hash salt
  bool rail_forwarding = false;    // forward over NVLink whenever planes/rails differ
  bool pxn_sender_side = false;    // forward before the network (NCCL PXN) instead of after
  bool reroute_on_failure = true;  // false: a flow on a failed link is undeliverable
};

// The engine's link table for `fabric` (ids as in fabric.hpp).
sim::LinkTable export_links(const Fabric& fabric);

// Directed links touching a vertex (both directions), for switch failures.
std::vector<sim::LinkId> links_of_vertex(const Fabric& fabric, VertexId v);
// Every directed link of scale-out plane `plane` (NIC<->switch and
// switch<->switch links whose switches carry that plane), for plane failures.
std::vector<sim::LinkId> links_of_plane(const Fabric& fabric, int plane);
// Both directed links of the cable between two vertices; empty if none.
std::vector<sim::LinkId> links_between(const Fabric& fabric, VertexId a, VertexId b);

class Router : public sim::PathSelector {
 public:
  Router(const Fabric& fabric, RoutingOptions options);
  ~Router() override;
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  void select(const sim::FlowRequest& req, const sim::LinkState& links,
              sim::RouteBuilder& out) override;
  bool reroutes() const override { return options_.reroute_on_failure; }
  bool adaptive() const override { return options_.policy == RoutingPolicy::kAdaptive; }

  // Number of equal-cost switch paths between the switches of two GPUs'
  // first NICs (1 inside a node), for tests.
  int64_t count_equal_cost_paths(int src_gpu, int dst_gpu);
  const RoutingOptions& options() const { return options_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  RoutingOptions options_;
};

}  // namespace codesim::topology
