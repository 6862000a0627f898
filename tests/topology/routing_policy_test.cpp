// Routing policies on a two-layer fat tree (FT2) and multi-plane fabrics.
#include <gtest/gtest.h>

#include <cstdio>

#include "net_test_util.hpp"
#include "sim/collectives.hpp"

using namespace codesim;
using namespace codesim::nettest;
using topology::FabricKind;
using topology::RoutingPolicy;

namespace {

// Each GPU sends to the GPU half a cluster away: every flow crosses the
// spine layer, one flow per NIC in each direction (a permutation).
sim::CommPattern half_shift_permutation(int n, Bytes size) {
  sim::CommPattern p;
  p.name = "permutation";
  p.ranks = n;
  for (int i = 0; i < n; ++i) p.add(sim::Transfer{i, (i + n / 2) % n, size});
  p.algorithm_bytes = size;
  return p;
}

}  // namespace

TEST(RoutingPolicy, Ft2HasOneEqualCostPathPerUplink) {
  // 32 nodes = 256 NICs: 8 leaves of 32 down / 32 up ports, 4 spines
  // (8 x 32 / 64), so every leaf has 8 parallel cables to each spine.
  const auto f = make_fabric(FabricKind::kFt2, 32);
  topology::Router r(f, {RoutingPolicy::kEcmp});
  // 32 uplinks (8 cables to each of 4 spines), then 8 parallel cables down
  // to the destination leaf: 32 x 8 distinct link paths.
  EXPECT_EQ(r.count_equal_cost_paths(0, 255), 256);
  EXPECT_EQ(r.count_equal_cost_paths(0, 1), 1);     // same node: NVLink
}

// The order the issue asks for, measured on FT2 with 256 GPUs:
//   permutation: ECMP hashes 128 flows per direction onto 32 uplinks per
//   leaf, so some uplinks carry 2-4 flows and those flows run at 1/2-1/4 of
//   the NIC rate; adaptive routing (least assigned flows) and spraying put
//   one flow per uplink, so every flow runs at the NIC's 50 GB/s.
//   all-to-all: many flows per uplink average the hash out; ECMP is still
//   the slowest, AR and spraying reach the NIC bound.
// Tolerances: AR and spray within 1% of the NIC bound (the only extra time
// is the 4 us of latency on a ms-scale transfer); ECMP must be at least 25%
// slower on the permutation (a collision halves a flow's rate; with 32 bins
// and 32 balls some bin gets >= 2 with probability ~1) and slower on the
// all-to-all.
TEST(RoutingPolicy, EcmpIsWorseThanAdaptiveAndSprayingOnFt2) {
  const auto f = make_fabric(FabricKind::kFt2, 32);
  const int n = 256;
  const Bytes s = MiB(64);
  const double bound = s.as_double() / 50e9;
  double perm[3], a2a[3];
  const RoutingPolicy pols[3] = {RoutingPolicy::kEcmp, RoutingPolicy::kAdaptive, RoutingPolicy::kSpray};
  for (int k = 0; k < 3; ++k) {
    perm[k] = run_pattern(f, half_shift_permutation(n, s), {pols[k]}).seconds;
    a2a[k] = run_pattern(f, sim::all_to_all(sim::iota_group(64), MiB(1)), {pols[k]}).seconds;
  }
  std::printf("permutation 256 GPUs, 64 MiB: ECMP %.3f ms, AR %.3f ms, spray %.3f ms (NIC bound %.3f ms)\n",
              perm[0] * 1e3, perm[1] * 1e3, perm[2] * 1e3, bound * 1e3);
  std::printf("all-to-all 64 GPUs, 1 MiB/pair: ECMP %.4f ms, AR %.4f ms, spray %.4f ms\n", a2a[0] * 1e3,
              a2a[1] * 1e3, a2a[2] * 1e3);
  EXPECT_GT(perm[0], 1.25 * perm[1]);
  EXPECT_GT(perm[0], 1.25 * perm[2]);
  EXPECT_NEAR(perm[1], bound, bound * 0.01);
  EXPECT_NEAR(perm[2], bound, bound * 0.01);
  const double a2a_bound = 56 * MiB(1).as_double() / 50e9;
  EXPECT_GE(a2a[0], a2a[1]);
  EXPECT_GE(a2a[0], a2a[2]);
  EXPECT_NEAR(a2a[1], a2a_bound, a2a_bound * 0.01);
  EXPECT_NEAR(a2a[2], a2a_bound, a2a_bound * 0.01);
}

// All-to-all across the spine on a bigger FT2 (256 GPUs, 4 spines): the
// ECMP slowdown shows on the all-to-all too. Completions are merged within
// 100 ns (ECMP spreads them over ~35K instants otherwise; each merged flow
// ends < 100 ns early, negligible against the 1.3 ms run).
TEST(RoutingPolicy, EcmpAllToAllSlowdownOn256Gpus) {
  const auto f = make_fabric(FabricKind::kFt2, 32);
  const Bytes s = KiB(256);
  const auto g = sim::iota_group(256);
  const double bound = 248 * s.as_double() / 50e9;
  double secs[3];
  const RoutingPolicy pols[3] = {RoutingPolicy::kEcmp, RoutingPolicy::kAdaptive, RoutingPolicy::kSpray};
  for (int k = 0; k < 3; ++k) {
    sim::NetworkParams np;
    np.merge_quantum = Nanoseconds(100);
    const auto r = run_pattern(f, sim::all_to_all(g, s), {pols[k]}, np);
    secs[k] = r.seconds;
    std::printf("  %s: %llu events, %llu solves, %llu re-solved flow groups\n",
                std::string(config::enum_to_string(pols[k])).c_str(),
                static_cast<unsigned long long>(r.result.network.events),
                static_cast<unsigned long long>(r.result.network.solves),
                static_cast<unsigned long long>(r.result.network.solved_vars));
  }
  const double ecmp = secs[0], ar = secs[1], spray = secs[2];
  std::printf("all-to-all 256 GPUs, 256 KiB/pair: ECMP %.4f ms, AR %.4f ms, spray %.4f ms, bound %.4f ms\n",
              ecmp * 1e3, ar * 1e3, spray * 1e3, bound * 1e3);
  EXPECT_GT(ecmp, ar);
  EXPECT_GT(ecmp, spray);
  EXPECT_NEAR(ar, bound, bound * 0.02);
  EXPECT_NEAR(spray, bound, bound * 0.01);
}

// MPFT vs MRFT (ISCA'25 Sec. 5.1, Figs. 5-6): NCCL all-to-all algorithm
// bandwidth is "very similar" on 32-128 GPUs and within about +-1.5% on 16
// GPUs (T-notes: deepseek-v3-published.md 1.12). In the model both are
// NIC-bound with the same per-NIC load (MPFT lands cross-plane traffic on
// the receiver node's NIC of the sender's plane and forwards over NVLink,
// which has 4x the NIC rate), so they agree; the 2% tolerance is the
// issue's and the paper's.
TEST(RoutingPolicy, MpftAndMrftAllToAllAgreeWithin2Percent) {
  for (int gpus : {16, 32, 64, 128}) {
    const int nodes = gpus / 8;
    const auto mpft = make_fabric(FabricKind::kMpft, nodes, 8);
    const auto mrft = make_fabric(FabricKind::kMrft, nodes);
    const Bytes s = MiB(4);
    const auto g = sim::iota_group(gpus);
    const auto a = run_pattern(mpft, sim::all_to_all(g, s), {RoutingPolicy::kAdaptive});
    const auto b = run_pattern(mrft, sim::all_to_all(g, s), {RoutingPolicy::kAdaptive});
    std::printf("all-to-all %3d GPUs, 4 MiB/pair: MPFT %.2f GB/s, MRFT %.2f GB/s algbw (diff %+.3f%%)\n", gpus,
                a.algbw_GBps, b.algbw_GBps, 100 * (a.algbw_GBps / b.algbw_GBps - 1));
    EXPECT_NEAR(a.algbw_GBps / b.algbw_GBps, 1.0, 0.02) << gpus << " GPUs";
    EXPECT_EQ(a.result.undelivered_flows, 0u);
  }
}

// In MPFT a flow between GPUs of different planes never leaves the
// sender's plane: it enters the receiver's node through the NIC of the
// sender's plane and is forwarded over NVLink. Check the NVLink forward
// shows up: GPU 0 (plane 0) -> GPU 9 (node 1, plane 1) takes longer than
// GPU 0 -> GPU 8 (node 1, plane 0) by the NVLink hop latency.
TEST(RoutingPolicy, MpftCrossPlaneTrafficIsForwardedOverNvlink) {
  const auto f = make_fabric(FabricKind::kMpft, 2, 8);
  const double same = latency_s(f, 0, 8);
  const double cross = latency_s(f, 0, 9);
  EXPECT_NEAR(cross - same, 3.33e-6, 1e-12);
  // With sender-side PXN, the NVLink hop comes first; same total.
  topology::RoutingOptions pxn{RoutingPolicy::kEcmp};
  pxn.pxn_sender_side = true;
  const auto r = run_pattern(f, sim::send_recv(0, 9, Bytes()), pxn);
  EXPECT_NEAR(r.seconds, cross, 1e-12);
}

// MPFT with fewer planes than NICs per node (2 or 4 planes of 8 NICs):
// a plane holds several NICs of each node, and cross-plane traffic lands
// on the receiver node's NIC on the sender's rail (its own index, in the
// sender's plane) before NVLink forwarding, so every NIC receives one
// NIC's share of the all-to-all. The same hardware as 1 or 8 planes, so
// the same NIC-bound time (before the fix, every cross-plane flow landed on
// the plane's first NIC: 2.5x slower at 2 planes, 1.75x at 4).
TEST(RoutingPolicy, MpftWithSeveralNicsPerPlaneSpreadsTheLandingNics) {
  const int nodes = 8, gpus = nodes * 8;
  const Bytes s = MiB(1);
  const auto g = sim::iota_group(gpus);
  const double eight =
      run_pattern(make_fabric(FabricKind::kMpft, nodes, 8), sim::all_to_all(g, s), {RoutingPolicy::kAdaptive}).seconds;
  for (int planes : {2, 4}) {
    const auto r =
        run_pattern(make_fabric(FabricKind::kMpft, nodes, planes), sim::all_to_all(g, s), {RoutingPolicy::kAdaptive});
    EXPECT_EQ(r.result.undelivered_flows, 0u);
    EXPECT_NEAR(r.seconds / eight, 1.0, 1e-3) << planes << " planes";
  }
}

// d-mod-k on MRFT: the rail-aligned leaves are the hosts of one tree per
// rail, so D is a NIC's index on its rail. (With the global index node x 8 +
// rail, D mod the leaf's 32 uplinks reached 4 of them: 7x the NIC-bound
// time on 32 nodes.) An all-to-all is NIC-bound under d-mod-k as under
// adaptive routing.
TEST(RoutingPolicy, DmodkOnMrftUsesEveryUplink) {
  const auto f = make_fabric(FabricKind::kMrft, 32);
  const auto g = sim::iota_group(256);
  const Bytes s = KiB(256);
  const double dmodk = run_pattern(f, sim::all_to_all(g, s), {RoutingPolicy::kDmodk}).seconds;
  const double ar = run_pattern(f, sim::all_to_all(g, s), {RoutingPolicy::kAdaptive}).seconds;
  EXPECT_NEAR(dmodk / ar, 1.0, 0.01);
}
