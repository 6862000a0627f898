// Collectives replayed on the flow engine (workloads/fabric_comm.hpp):
// DualPipe's mirror ranks in the DP rings, and the range contract of the EP
// flow builders.
#include <gtest/gtest.h>

#include <cstdio>
#include <stdexcept>

#include "topology/generators.hpp"
#include "workloads/fabric_comm.hpp"
#include "workloads/training.hpp"

namespace codesim::workloads {
namespace {

// `nodes` H800 nodes on an 8-plane MPFT; NICs at 40 GB/s, NVLink at 160 GB/s.
FabricComm h800_mpft(int nodes) {
  topology::ClusterSpec c;
  c.node = "h800";
  topology::seed_node_preset(c);
  c.nodes = nodes;
  c.fabric.kind = topology::FabricKind::kMpft;
  c.fabric.planes = 8;
  c.fabric.switch_model = "quantum2";
  topology::seed_switch_preset(c.fabric);
  FabricComm fc;
  fc.fabric = std::make_shared<const topology::Fabric>(topology::build_fabric(c, "test"));
  fc.routing.policy = topology::RoutingPolicy::kAdaptive;
  fc.nic_effective_per_port = GBps(40);
  fc.nvlink_achievable = GBps(160);
  return fc;
}

// 4 pipeline ranks of 2 nodes each.
FabricComm small_fabric() { return h800_mpft(8); }

CommLayout small_layout() {
  CommLayout l;
  l.gpus = 64;
  l.gpus_per_node = 8;
  l.pp = 4;
  l.ep = 8;
  l.ep_nodes = 1;
  return l;
}

// Physics: each rank's dense gradients D go round a ring over its n DP GPUs
// in NCCL's channels (one per GPU of a node, D/8 each, each leaving the node
// from a different GPU: the node's 8 NICs share the ring's inter-node
// (n-1)/n x D), its expert gradients E round the replicas of each expert
// slot (one GPU per node, over the NIC, (N-1)/N x E over N nodes). The NIC
// carries both: ((n-1)/n x D/8 + (N-1)/N x E) at 40 GB/s, longer here than
// NVLink's 7/8 x (n-1)/n x D at 160 GB/s. With DualPipe's mirror (rank r and
// 3 - r hold the same stages) the rings span both ranks: n 16 -> 32 GPUs,
// N 2 -> 4 nodes; r and 3 - r end together. Band 1%: per-step ring
// latencies (microseconds against ~10 ms).
TEST(FabricCommDp, MirrorRanksShareOneRing) {
  const FabricComm fc = small_fabric();
  const CommLayout l = small_layout();
  const Bytes dense = GB(1), expert = MB(500);
  const std::vector<Bytes> d(4, dense), e(4, expert);
  CommReplay alone, paired;
  const std::vector<Duration> t1 = replay_dp(fc, l, 16, 2, d, e, alone);
  const std::vector<Duration> t2 = replay_dp(fc, l, 16, 2, d, e, paired, {3, 2, 1, 0});
  ASSERT_EQ(t1.size(), 4u);
  ASSERT_EQ(t2.size(), 4u);
  EXPECT_EQ(alone.undelivered, 0u);
  EXPECT_EQ(paired.undelivered, 0u);
  const double d8 = dense.as_double() / 8, ex = expert.as_double();
  const double bound1 = (15.0 / 16 * d8 + 1.0 / 2 * ex) / 40e9, bound2 = (31.0 / 32 * d8 + 3.0 / 4 * ex) / 40e9;
  std::printf("DP rings: alone %.3f ms (NIC bound %.3f), mirrored %.3f ms (%.3f); flows %llu vs %llu\n",
              t1[0] / Milliseconds(1), bound1 * 1e3, t2[0] / Milliseconds(1), bound2 * 1e3,
              static_cast<unsigned long long>(alone.flows), static_cast<unsigned long long>(paired.flows));
  for (int r = 0; r < 4; ++r) {
    EXPECT_NEAR(t1[r].seconds(), bound1, 0.01 * bound1) << "rank " << r;
    EXPECT_NEAR(t2[r].seconds(), bound2, 0.01 * bound2) << "rank " << r;
  }
  EXPECT_EQ(t2[0], t2[3]);
  EXPECT_EQ(t2[1], t2[2]);
  // One ring set per pair: the mirrored replay starts the same number of
  // flows as the unpaired one (the rings are twice as long, half as many).
  EXPECT_EQ(paired.flows, alone.flows);
}

// A DP group of few nodes with several members per node (TP4 x DP4 on two
// 8-GPU nodes: each TP index's ring has 2 GPUs on each node). NCCL runs the
// flat ring of 4 in 2 channels, one leaving each node from each member, so
// each GPU's NIC carries (n-1)/n x D/m = 3/4 x D/2 (a hierarchical
// algorithm would carry (N-1)/N x D/m = 1/2 x D/2, and the earlier replay
// did): the replay is at that bound to 1% (hop latencies, microseconds
// against ~9 ms). (training_test's TrainingTp.FewNodeDpRingsAgree holds the
// analytic model's own plan against it.)
TEST(FabricCommDp, FewNodeRingChannelsReachTheNicBound) {
  const FabricComm fc = h800_mpft(2);
  CommLayout l;
  l.gpus = 16;
  l.gpus_per_node = 8;
  l.pp = 1;
  l.ep = 1;
  const Bytes dense = GB(1);
  CommReplay total;
  const std::vector<Duration> t = replay_dp(fc, l, 4, 1, std::vector<Bytes>{dense}, std::vector<Bytes>{B(0)}, total);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(total.undelivered, 0u);
  const double bound = 3.0 / 4 * dense.as_double() / 2 / 40e9;
  std::printf("TP4 x DP4 ring on 2 nodes: replay %.3f ms, NIC bound %.3f ms\n", t[0] / Milliseconds(1),
              bound * 1e3);
  EXPECT_NEAR(t[0].seconds(), bound, 0.01 * bound);
}

// The EP builders take whole nodes and whole EP groups inside the fabric.
TEST(FabricCommEp, RangeMustHoldWholeGroupsOnNodeBoundaries) {
  const CommLayout l = small_layout();
  RoutingFanout f;
  f.remote_nodes = 0;
  f.gpus = 8;
  sim::CommPattern p;
  EXPECT_NO_THROW(add_ep_direct_flows(p, l, 8, 16, 128, KB(7), 8));
  EXPECT_THROW(add_ep_direct_flows(p, l, 4, 8, 128, KB(7), 8), std::invalid_argument);   // mid-node
  EXPECT_THROW(add_ep_direct_flows(p, l, 8, 12, 128, KB(7), 8), std::invalid_argument);  // part of a group
  EXPECT_THROW(add_ep_flows(p, l, 56, 16, 128, KB(7), f, false), std::invalid_argument); // past the end
}

}  // namespace
// DeepEP's internode benchmark (T17; its numbers are in `codesim
// validate`). Routing: with every node allowed (EP32: 4 nodes, top-4
// groups) the top-8 of 256 iid scores are 8 experts drawn without
// replacement, so a token reaches 4 (1 - C(192,8)/C(256,8)) = 3.604 nodes
// (1% band: 4,096 sampled tokens). Physics: at EP32 and EP64 the NIC is the
// bottleneck (remote copies x bytes at 40 GB/s, 2% band for the flow
// engine's sharing and latency); at EP16 NVLink forwarding is, so the time
// exceeds the NIC bound. The bandwidth is DeepEP's count over that time.
TEST(FabricCommEp, DeepEpInternodeBenchmark) {
  double c192 = 1;
  for (int i = 0; i < 8; ++i) c192 *= (192.0 - i) / (256.0 - i);
  const double fp8 = 7168 * (1 + 4.0 / 128), tokens = 4096;
  for (int ep : {16, 32, 64}) {
    const int nodes = ep / 8;
    const DeepEpBenchmark b = deepep_internode_benchmark(h800_mpft(nodes), ep, 8, 4096, 7168, 256, 8, std::min(nodes, 4));
    const double nic_bound_s = tokens * b.nodes_per_token * (1.0 - 1.0 / nodes) * fp8 / 40e9;
    std::printf("EP%d: %.3f nodes, %.3f GPUs per token; dispatch %.3f ms (NIC bound %.3f ms), %.1f GB/s; "
                "combine %.3f ms, %.1f GB/s\n",
                ep, b.nodes_per_token, b.gpus_per_token, b.dispatch / Milliseconds(1), nic_bound_s * 1e3,
                b.dispatch_GBps, b.combine / Milliseconds(1), b.combine_GBps);
    if (ep == 32) {
      EXPECT_NEAR(b.nodes_per_token, 4 * (1 - c192), 0.01 * 3.604);
    }
    EXPECT_NEAR(b.dispatch_GBps, tokens * b.nodes_per_token * fp8 / b.dispatch.seconds() / 1e9, 1e-6);
    if (ep == 16) {
      EXPECT_GT(b.dispatch.seconds(), 1.2 * nic_bound_s);  // NVLink-bound
    } else {
      EXPECT_NEAR(b.dispatch.seconds(), nic_bound_s, 0.02 * nic_bound_s);
    }
    // The BF16 combine carries 14,336 / 7,392 the bytes the same way back.
    EXPECT_NEAR(b.combine.seconds() / b.dispatch.seconds(), 14336.0 / 7392, 0.02 * 1.94);
  }
  EXPECT_THROW(deepep_internode_benchmark(h800_mpft(2), 8, 8, 4096, 7168, 256, 8, 1), std::invalid_argument);
}

}  // namespace codesim::workloads
