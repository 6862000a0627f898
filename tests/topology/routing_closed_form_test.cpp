// Closed-form network cases on generated H800 clusters (catalog values:
// NVLink 200 GB/s per direction, CX7 400 Gb/s = 50 GB/s, Quantum-2 IB with
// ISCA'25 Table 5 latencies 2.8 us same leaf / 3.7 us cross leaf, NVLink
// 3.33 us; T21 in deepseek-v3-published.md).
#include <gtest/gtest.h>

#include "net_test_util.hpp"
#include "sim/collectives.hpp"

using namespace codesim;
using namespace codesim::nettest;
using topology::FabricKind;
using topology::RoutingPolicy;

// All-to-all among the 8 GPUs of one node: every GPU sends 7 x S through
// its own NVLink port (200 GB/s per direction) and receives 7 x S, so
// t = NVLink latency + 7 S / 200 GB/s. The flow model reproduces it exactly
// (up to ps rounding): tolerance 1e-9 relative.
TEST(RoutingClosedForm, AllToAllInOneNodeIsNvlinkBound) {
  const auto f = make_fabric(FabricKind::kFt2, 1);
  const Bytes s = MiB(64);
  auto r = run_pattern(f, sim::all_to_all(sim::iota_group(8), s), {RoutingPolicy::kDmodk});
  EXPECT_NEAR(latency_s(f, 0, 1), 3.33e-6, 1e-12);  // ISCA Tab. 5 NVLink
  const double want = 3.33e-6 + 7 * s.as_double() / 200e9;
  EXPECT_NEAR(r.seconds, want, want * 1e-9);
  EXPECT_EQ(r.result.undelivered_flows, 0u);
}

// All-to-all among 64 GPUs on 8 nodes (FT2, 2 leaves): each GPU sends 56 S
// over its NIC (50 GB/s; PCIe 64 GB/s and the 32 leaf uplinks are not
// binding) and 7 S over NVLink (done much earlier), so
// t = alpha + 56 S / 50 GB/s. In the flow model a flow moves bytes after its
// latency, so a NIC's link is busy without a gap from its first
// (same-leaf, lowest-latency) flow on: alpha = same-leaf latency. Exact under
// d-mod-k and spraying (balanced uplinks): 1e-9 relative.
TEST(RoutingClosedForm, AllToAll64GpusIsNicBound) {
  const auto f = make_fabric(FabricKind::kFt2, 8);
  const Bytes s = MiB(4);
  const double want = latency_s(f, 0, 8) + 56 * s.as_double() / 50e9;
  for (auto pol : {RoutingPolicy::kDmodk, RoutingPolicy::kSpray}) {
    auto r = run_pattern(f, sim::all_to_all(sim::iota_group(64), s), {pol});
    EXPECT_NEAR(r.seconds, want, want * 1e-9) << config::enum_to_string(pol);
  }
}

// Ring all-reduce over 8 GPUs on 8 different nodes of one leaf (GPU 0 of
// each node): 2(N-1) steps, each S/N bytes over one NIC at 50 GB/s plus the
// latency alpha of the slowest hop of the ring (nodes 3 -> 4 cross the
// leaves): t = 2(N-1) (alpha + S / (N x 50 GB/s)).
TEST(RoutingClosedForm, RingAllReduceMatchesTheTextbookFormula) {
  const auto f = make_fabric(FabricKind::kFt2, 8);
  std::vector<int> group;
  for (int n = 0; n < 8; ++n) group.push_back(8 * n);
  const Bytes s = MiB(256);
  auto r = run_pattern(f, sim::ring_allreduce(group, s), {RoutingPolicy::kEcmp});
  const int n = 8;
  const double alpha = latency_s(f, 24, 32);  // node 3 -> node 4: cross leaf
  const double want = 2.0 * (n - 1) * (alpha + s.as_double() / n / 50e9);
  EXPECT_NEAR(r.seconds, want, want * 1e-9);
  // Bus bandwidth = algbw x 2(N-1)/N approaches the NIC rate as S grows.
  const double busbw = r.algbw_GBps * 2.0 * (n - 1) / n;
  EXPECT_NEAR(busbw, 50.0, 50.0 * 0.01);
}

// Reduce-scatter and all-gather are each half of the ring all-reduce.
TEST(RoutingClosedForm, ReduceScatterAndAllGatherAreHalfARing) {
  const auto f = make_fabric(FabricKind::kFt2, 1);
  const Bytes s = MiB(64);
  const auto g = sim::iota_group(8);
  // Ring inside one node: each step S/8 over NVLink (200 GB/s, 3.33 us).
  const double step = 3.33e-6 + s.as_double() / 8 / 200e9;
  auto rs = run_pattern(f, sim::ring_reduce_scatter(g, s), {RoutingPolicy::kEcmp});
  auto ag = run_pattern(f, sim::ring_all_gather(g, s), {RoutingPolicy::kEcmp});
  EXPECT_NEAR(rs.seconds, 7 * step, 7 * step * 1e-9);
  EXPECT_NEAR(ag.seconds, 7 * step, 7 * step * 1e-9);
}

// EP dispatch with node-limited routing (DeepSeek-V3 TR 3.2.2): a source
// sends once per destination node over IB (to the GPU with its local
// index), which forwards over NVLink. One source, all 8 GPUs of one remote
// node as destinations, B bytes each: the IB transfer carries 8B at
// 50 GB/s, then 7 NVLink forwards of B share the relay's 200 GB/s port.
TEST(RoutingClosedForm, EpDispatchSendsOncePerNodeThenForwards) {
  const auto f = make_fabric(FabricKind::kFt2, 2);
  const int n = 16;
  const Bytes b = MiB(8);
  std::vector<Bytes> m(n * n);
  for (int j = 8; j < 16; ++j) m[static_cast<size_t>(0 * n + j)] = b;
  auto p = sim::ep_dispatch(sim::iota_group(n), m, sim::NodeLayout{8});
  ASSERT_EQ(p.transfers.size(), 8u);  // 1 over IB + 7 NVLink forwards
  EXPECT_EQ(p.transfers[0].dst, 8);   // GPU 0 of node 1: same local index
  auto r = run_pattern(f, std::move(p), {RoutingPolicy::kDmodk});
  const double want = latency_s(f, 0, 8) + 8 * b.as_double() / 50e9 + 3.33e-6 + 7 * b.as_double() / 200e9;
  EXPECT_NEAR(r.seconds, want, want * 1e-9);
}

// Combine mirrors dispatch: NVLink gathers to the relay, then one IB send.
TEST(RoutingClosedForm, EpCombineGathersThenSendsOnce) {
  const auto f = make_fabric(FabricKind::kFt2, 2);
  const int n = 16;
  const Bytes b = MiB(8);
  std::vector<Bytes> m(n * n);
  for (int i = 8; i < 16; ++i) m[static_cast<size_t>(i * n + 0)] = b;  // node 1 returns to GPU 0
  auto p = sim::ep_combine(sim::iota_group(n), m, sim::NodeLayout{8});
  ASSERT_EQ(p.transfers.size(), 8u);
  auto r = run_pattern(f, std::move(p), {RoutingPolicy::kDmodk});
  // 7 NVLink sends of B into the relay's port (200 GB/s), then 8B over IB.
  const double want = 3.33e-6 + 7 * b.as_double() / 200e9 + latency_s(f, 8, 0) + 8 * b.as_double() / 50e9;
  EXPECT_NEAR(r.seconds, want, want * 1e-9);
}

// ISCA'25 Table 5 (T21): 64 B CPU-side end-to-end latency, IB 2.8 us on one
// leaf and 3.7 us across a spine, NVLink 3.33 us; tolerance +-10% (T21's).
// The route latency is the sum of the generator's per-link latencies, so
// this checks the catalog's split of the published figures.
TEST(RoutingClosedForm, RouteLatenciesMatchIscaTable5) {
  const auto f = make_fabric(FabricKind::kFt2, 8);
  EXPECT_NEAR(latency_s(f, 0, 8), 2.8e-6, 0.28e-6);   // nodes 0 and 1: same leaf
  EXPECT_NEAR(latency_s(f, 0, 63), 3.7e-6, 0.37e-6);  // nodes 0 and 7: leaf-spine-leaf
  EXPECT_NEAR(latency_s(f, 0, 1), 3.33e-6, 0.333e-6);
}
