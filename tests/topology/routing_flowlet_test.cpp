// Adaptive routing per flowlet on a real fabric (topology::Router kAdaptive
// with sim::NetworkParams::flowlet_gap): engine-level closed forms are in
// tests/sim/engine_flowlet_test.cpp.
#include <gtest/gtest.h>

#include "net_test_util.hpp"

using namespace codesim;

namespace {

// FT2, 8 H800 nodes = 64 GPUs on 2 leaves, 32 spines. Each GPU i of leaf 0
// sends one long flow (64 MiB) to GPU 32 + i on leaf 1 and one short flow
// (1 MiB) to GPU 32 + (i + 1) mod 32, all at t = 0. Adaptive routing
// balances flow COUNTS when the flows start (2 per spine), blind to their
// sizes, so some spines carry two long flows. Once the short flows have
// ended, those long flows still share one 400G uplink while other spines
// idle: per-flow AR is stuck at half the NIC rate for them.
sim::CommPattern long_and_short() {
  sim::CommPattern p;
  p.name = "long+short";
  for (int i = 0; i < 32; ++i) {
    p.add({i, 32 + i, MiB(64)});
    p.add({i, 32 + (i + 1) % 32, MiB(1)});
  }
  p.algorithm_bytes = MiB(64);
  return p;
}

sim::NetworkParams with_gap(Duration gap) {
  sim::NetworkParams np;
  np.flowlet_gap = gap;
  return np;
}

}  // namespace

TEST(RoutingFlowlet, FlowletAdaptiveRecoversFromSizeBlindPlacement) {
  const auto f = nettest::make_fabric(topology::FabricKind::kFt2, 8);
  const topology::RoutingOptions ar{topology::RoutingPolicy::kAdaptive};
  const auto per_flow = nettest::run_pattern(f, long_and_short(), ar);
  const Duration gap = Microseconds(20);
  const auto flowlet = nettest::run_pattern(f, long_and_short(), ar, with_gap(gap));
  // 400G = 50 GB/s per NIC and per spine uplink.
  const double nic = 50e9;
  const double two_long_on_one_uplink = MiB(64).as_double() / (nic / 2);  // 2.684 ms
  const double nic_bound = (MiB(64) + MiB(1)).as_double() / nic;           // 1.363 ms
  EXPECT_EQ(per_flow.result.network.flowlet_moves, 0u);
  EXPECT_GE(per_flow.seconds, two_long_on_one_uplink);
  EXPECT_GT(flowlet.result.network.flowlet_moves, 0u);
  EXPECT_GE(flowlet.seconds, nic_bound);
  // A doubled-up long flow waits at most one gap after the short flows end
  // before it moves; allow two, plus 10 us for the IB/NVLink latencies.
  EXPECT_LE(flowlet.seconds, nic_bound + 2 * gap.seconds() + 10e-6);
  EXPECT_LT(flowlet.seconds, 0.55 * per_flow.seconds);
}

// The option is inert where it does not apply: with a non-adaptive policy,
// or set to 0, every task time is bit-identical to a run without it.
TEST(RoutingFlowlet, OffOrNonAdaptiveIsBitIdentical) {
  const auto f = nettest::make_fabric(topology::FabricKind::kFt2, 8);
  for (const auto pol : {topology::RoutingPolicy::kEcmp, topology::RoutingPolicy::kSpray,
                         topology::RoutingPolicy::kDmodk, topology::RoutingPolicy::kAdaptive}) {
    const topology::RoutingOptions ro{pol};
    const auto ref = nettest::run_pattern(f, long_and_short(), ro);
    const Duration gap = pol == topology::RoutingPolicy::kAdaptive ? Duration::zero() : Microseconds(20);
    const auto r = nettest::run_pattern(f, long_and_short(), ro, with_gap(gap));
    EXPECT_EQ(r.result.makespan.ps(), ref.result.makespan.ps());
    ASSERT_EQ(r.result.link_bytes.size(), ref.result.link_bytes.size());
    for (size_t l = 0; l < r.result.link_bytes.size(); ++l)
      ASSERT_EQ(r.result.link_bytes[l], ref.result.link_bytes[l]) << l;
    EXPECT_EQ(r.result.network.events, ref.result.network.events);
    EXPECT_EQ(r.result.network.flowlet_moves, 0u);
  }
}
