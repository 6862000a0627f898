// Faults on generated fabrics: re-routing, undeliverable flows, what was
// slowed.
#include <gtest/gtest.h>

#include "net_test_util.hpp"
#include "sim/collectives.hpp"

using namespace codesim;
using namespace codesim::nettest;
using topology::FabricKind;
using topology::RoutingPolicy;

namespace {
std::vector<topology::VertexId> switches(const topology::Fabric& f) {
  std::vector<topology::VertexId> s;
  for (topology::VertexId v = 0; v < boost::num_vertices(f.graph); ++v)
    if (f.graph[v].kind == topology::DeviceKind::kSwitch) s.push_back(v);
  return s;
}
}  // namespace

// FT2 with 128 GPUs: 4 leaves, 2 spines. Failing one spine mid-run halves
// the spine layer: flows on it re-route over the other spine (equal-cost
// paths that are up), all are delivered, the run gets slower, and the
// result counts re-routed and slowed flows.
TEST(RoutingFault, SpineFailureReroutesAndSlowsButDelivers) {
  const auto f = make_fabric(FabricKind::kFt2, 16);
  const auto sw = switches(f);
  ASSERT_EQ(sw.size(), 6u);
  const auto g = sim::iota_group(128);
  const auto healthy = run_pattern(f, sim::all_to_all(g, MiB(1)), {RoutingPolicy::kAdaptive});
  sim::LinkFault fault{Time::zero() + Microseconds(100), topology::links_of_vertex(f, sw[5]), 0, "spine 1"};
  const auto faulty = run_pattern(f, sim::all_to_all(g, MiB(1)), {RoutingPolicy::kAdaptive}, {}, {fault});
  EXPECT_EQ(faulty.result.undelivered_flows, 0u);
  EXPECT_GT(faulty.result.rerouted_flows, 0u);
  EXPECT_GT(faulty.seconds, healthy.seconds * 1.2);  // half the spine capacity for most of the run
  ASSERT_EQ(faulty.result.faults_applied.size(), 1u);
  EXPECT_NE(faulty.result.faults_applied[0].find("spine 1 failed"), std::string::npos);
}

// Cutting every NIC of node 1 leaves no path to its GPUs from other nodes:
// those flows are reported undelivered (never dropped silently), the rest
// complete, and the task is listed as unfinished.
TEST(RoutingFault, IsolatedNodeIsReportedUndeliverable) {
  const auto f = make_fabric(FabricKind::kFt2, 4);
  std::vector<sim::LinkId> cut;
  for (int gpu = 8; gpu < 16; ++gpu)
    for (auto nic : f.gpu_nics[static_cast<size_t>(gpu)]) {
      auto ls = topology::links_of_vertex(f, nic);
      cut.insert(cut.end(), ls.begin(), ls.end());
    }
  sim::LinkFault fault{Time::zero(), cut, 0, "node 1 NICs"};
  const auto r = run_pattern(f, sim::all_to_all(sim::iota_group(32), MiB(1)), {RoutingPolicy::kEcmp}, {}, {fault});
  // Node 1's 8 GPUs exchange with the 24 others in both directions.
  EXPECT_EQ(r.result.undelivered_flows, 2u * 8 * 24);
  EXPECT_EQ(r.result.unfinished.size(), 1u);
}

// MPFT: losing plane 0 entirely. GPUs whose NIC is in plane 0 forward over
// NVLink to a node peer's NIC (sender side), and traffic to plane-0 GPUs
// lands on another plane's NIC and is forwarded: everything is delivered.
TEST(RoutingFault, MpftPlaneFailureFallsBackToOtherPlanes) {
  const auto f = make_fabric(FabricKind::kMpft, 4, 8);
  sim::LinkFault fault{Time::zero(), topology::links_of_plane(f, 0), 0, "plane 0"};
  const auto r = run_pattern(f, sim::all_to_all(sim::iota_group(32), MiB(1)), {RoutingPolicy::kEcmp}, {}, {fault});
  EXPECT_EQ(r.result.undelivered_flows, 0u);
  const auto healthy = run_pattern(f, sim::all_to_all(sim::iota_group(32), MiB(1)), {RoutingPolicy::kEcmp});
  EXPECT_GT(r.seconds, healthy.seconds);  // 7 NICs per node instead of 8
}
