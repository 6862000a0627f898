// Flowlet re-balancing under adaptive routing (NetworkParams::flowlet_gap):
// a flow placed well when it started can be moved when loads change later.
#include <gtest/gtest.h>

#include <vector>

#include "sim/flow_network.hpp"

using namespace codesim;
using namespace codesim::sim;

namespace {

// Two parallel 1 GB/s links, A = 0 and B = 1, no latency. Every flow may
// take either; an adaptive selector picks the one with fewer assigned flows
// (A on a tie), as topology::Router's kAdaptive does on equal-cost paths.
struct TwoPaths {
  LinkTable lt;
  TwoPaths() {
    lt.add(GBps(1), Duration::zero());
    lt.add(GBps(1), Duration::zero());
  }
};

FunctionPathSelector least_loaded(bool adaptive) {
  return FunctionPathSelector(
      [](const FlowRequest&, const LinkState& s, RouteBuilder& out) {
        const LinkId l = s.assigned_flows(1) < s.assigned_flows(0) ? 1 : 0;
        out.add_path(std::span<const LinkId>(&l, 1));
      },
      true, adaptive);
}

struct FlowletRun {
  std::vector<FlowDone> done;  // by flow id
  NetworkStats stats;
};

// X (1000 MB), Y (100 MB), Z (1000 MB) start at t = 0 in that order.
// X takes A (tie), Y takes B (A has 1), Z takes A (tie 1-1). Y leaves B idle
// at 0.1 s, but X and Z keep sharing A: the per-flow choice was right at
// t = 0 and is wrong from 0.1 s on.
FlowletRun three_flows(Duration gap, bool adaptive) {
  TwoPaths net_links;
  auto sel = least_loaded(adaptive);
  Scheduler s;
  NetworkParams p;
  p.flowlet_gap = gap;
  FlowNetwork net(s, net_links.lt, sel, p);
  FlowletRun r;
  r.done.resize(3);
  net.on_done([&](std::span<const FlowDone> d) {
    for (const FlowDone& x : d) r.done[x.id] = x;
  });
  net.start_flow(0, 9, MB(1000));
  net.start_flow(1, 9, MB(100));
  net.start_flow(2, 9, MB(1000));
  s.run();
  r.stats = net.stats();
  return r;
}

}  // namespace

// Per-flow adaptive routing: X and Z share A at 0.5 GB/s each for their
// whole life: 1000 MB / 0.5 GB/s = 2.0 s. Y: 100 MB / 1 GB/s = 0.1 s.
TEST(EngineFlowlet, PerFlowAdaptiveKeepsTheStartChoice) {
  const FlowletRun r = three_flows(Duration::zero(), true);
  EXPECT_EQ(r.done[1].end.ps(), Milliseconds(100).ps());
  EXPECT_EQ(r.done[0].end.ps(), Seconds(2).ps());
  EXPECT_EQ(r.done[2].end.ps(), Seconds(2).ps());
  EXPECT_EQ(r.stats.flowlet_moves, 0u);
}

// Flowlets every 0.2 s. At t = 0.2 s X and Z have sent 0.5 GB/s x 0.2 s =
// 100 MB each. X's boundary comes first (lower id): without X, A carries 1
// flow and B none, so X moves to B. Z's boundary: without Z, A carries none
// and B carries X, so Z stays. Each then runs alone at 1 GB/s: 900 MB take
// 0.9 s, so both end at 1.1 s (not 2.0 s). Later boundaries find the other
// link busier and move nothing.
TEST(EngineFlowlet, FlowletAdaptiveMovesToTheLinkThatFreedUp) {
  const FlowletRun r = three_flows(Milliseconds(200), true);
  EXPECT_EQ(r.done[1].end.ps(), Milliseconds(100).ps());
  EXPECT_EQ(r.done[0].end.ps(), Milliseconds(1100).ps());
  EXPECT_EQ(r.done[2].end.ps(), Milliseconds(1100).ps());
  EXPECT_EQ(r.stats.flowlet_moves, 1u);
  EXPECT_TRUE(r.done[0].delivered);
  EXPECT_FALSE(r.done[0].rerouted);  // "rerouted" is kept for faults
  const FlowletRun per_flow = three_flows(Duration::zero(), true);
  EXPECT_LT(r.done[0].end, per_flow.done[0].end);
}

// The option only acts on adaptive selectors, and a gap longer than the run
// changes nothing: both give exactly the per-flow result.
TEST(EngineFlowlet, OffForStaticSelectorsAndLongGaps) {
  const FlowletRun ref = three_flows(Duration::zero(), true);
  for (const FlowletRun& r : {three_flows(Milliseconds(200), false), three_flows(Seconds(10), true)}) {
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(r.done[i].end.ps(), ref.done[i].end.ps()) << i;
      EXPECT_EQ(r.done[i].start.ps(), ref.done[i].start.ps()) << i;
    }
    EXPECT_EQ(r.stats.flowlet_moves, 0u);
  }
}

// No move on a tie. The selector below breaks ties by alternating A, B, A,
// ... X0 takes A (tie), X1 takes B (A has 1), X2 takes B (tie 1-1). At the
// boundaries 0.2 .. 0.8 s, X1 sees A 1 and B 1 without itself and the
// selector answers A on every other tie: the route differs, but the link it
// would join is as busy as the one it leaves, so X1 stays (moving would
// only swap the imbalance). X0 runs alone on A: 1000 MB / 1 GB/s = 1.0 s.
// Per-flow routing: X1 and X2 share B, 1000 MB / 0.5 GB/s = 2.0 s.
// Flowlets: at 1.0 s X0 has ended and A is idle: X1 (500 MB left) moves to
// A, and X1 and X2 each finish 500 MB at 1 GB/s: 1.5 s. One move in all.
TEST(EngineFlowlet, NoMoveOnTies) {
  TwoPaths two;
  int ties = 0;
  FunctionPathSelector sel(
      [&ties](const FlowRequest&, const LinkState& s, RouteBuilder& out) {
        const int64_t a = s.assigned_flows(0), b = s.assigned_flows(1);
        const LinkId l = a == b ? static_cast<LinkId>(ties++ % 2) : (b < a ? 1 : 0);
        out.add_path(std::span<const LinkId>(&l, 1));
      },
      true, true);
  for (const bool flowlets : {false, true}) {
    ties = 0;
    Scheduler s;
    NetworkParams p;
    p.flowlet_gap = flowlets ? Milliseconds(200) : Duration::zero();
    FlowNetwork net(s, two.lt, sel, p);
    std::vector<FlowDone> done(3);
    net.on_done([&](std::span<const FlowDone> d) {
      for (const FlowDone& x : d) done[x.id] = x;
    });
    for (int i = 0; i < 3; ++i) net.start_flow(i, 9, MB(1000));
    s.run();
    const Duration shared_end = flowlets ? Milliseconds(1500) : Seconds(2);
    EXPECT_EQ(done[0].end.ps(), Seconds(1).ps());
    EXPECT_EQ(done[1].end.ps(), shared_end.ps());
    EXPECT_EQ(done[2].end.ps(), shared_end.ps());
    EXPECT_EQ(net.stats().flowlet_moves, flowlets ? 1u : 0u);
    if (flowlets) {
      EXPECT_GE(ties, 2 + 2 * 4);  // X1 and X2 tied at each boundary 0.2 .. 0.8 s
    }
  }
}
