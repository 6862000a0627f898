// Serving's EP all-to-all replayed on a unit's fabric (hardware.node +
// hardware.fabric, workloads/serving_step.hpp) against the closed form it
// replaces, and the direction fabric changes must move it.
#include <gtest/gtest.h>

#include <cstdio>
#include <stdexcept>

#include "serving_test_util.hpp"
#include "workloads/serving.hpp"
#include "workloads/serving_step.hpp"

namespace codesim::workloads {
namespace {

using testing::load_section;

using testing::day6;

// The catalog preset fills the hardware with the H800 numbers the scenario
// used to spell out (shared/reference Sec. 4; ISCA'25 Tab. 5).
TEST(ServingFabric, CatalogNodeFillsTheHardware) {
  const ServingSpec s = day6();
  EXPECT_EQ(s.hardware.gpus_per_node, 8);
  EXPECT_EQ(s.hardware.hbm_capacity, GB(80));
  EXPECT_NEAR(s.hardware.hbm_bandwidth.bytes_per_second(), 3.35e12, 1e6);
  EXPECT_NEAR(s.hardware.fp8_peak.per_second(), 1979e12, 1e9);
  EXPECT_NEAR(s.hardware.scale_out_bandwidth.bytes_per_second(), 50e9, 1);
  EXPECT_NEAR(s.hardware.scale_up_bandwidth.bytes_per_second(), 160e9, 1);
  EXPECT_EQ(s.hardware.network_latency, Nanoseconds(3700));
}

// hardware.scale_out_bandwidth is what the fabric's NIC ports carry when the
// all-to-all is replayed on it (it was the preset's NIC whatever the
// scenario said). Physics: EP64 is NIC-bound (56 of 64 copies off the
// node), so at 25 GB/s the RDMA part of the call takes twice as long: the
// call minus its fixed cost doubles, to the 2% band of flow sharing.
TEST(ServingFabric, ScaleOutBandwidthSetsTheReplayedNics) {
  ServingSpec s = day6();
  const double fixed_us = (s.hardware.network_latency + s.calibration.a2a_overhead) / Microseconds(1);
  const DeepEpLatency full = deepep_low_latency(s, 64, 128);
  s.hardware.scale_out_bandwidth = GBps(25);
  const DeepEpLatency half = deepep_low_latency(s, 64, 128);
  const double a = full.dispatch / Microseconds(1) - fixed_us, b = half.dispatch / Microseconds(1) - fixed_us;
  std::printf("EP64 dispatch: %.1f us at 50 GB/s, %.1f us at 25 GB/s (fixed %.1f us)\n", a + fixed_us,
              b + fixed_us, fixed_us);
  EXPECT_NEAR(b / a, 2.0, 0.04);
}

// DeepEP's low-latency benchmark (T18; its numbers are in `codesim
// validate`), timed as the day-6 decode pool times one call: 128 tokens x 8
// copies per GPU, each straight to its expert's GPU.
//  * EP64: the 56 remote of every 64 copies cross the NIC at 50 GB/s x
//    decode_a2a_efficiency 0.78 = 39 GB/s: 128 x 8 x 7,392 B x 56/64 /
//    39 GB/s = 169.8 us, plus the RDMA path's fixed cost (3.7 us latency +
//    a2a_overhead 5 us); 2% band for flow sharing. The NVLink path (7 of
//    64 copies at 160 GB/s + 35 us = 45 us) ends earlier, so its fixed cost
//    does not show.
//  * EP8: NVLink only, 7/8 of the copies at 160 GB/s = 41.4 us, plus
//    a2a_nvlink_overhead (35 us); the slope of two replays drops the path
//    latency, so this is exact to rounding.
TEST(ServingFabric, DeepEpLowLatencyCallIsBytesPlusEachPathsFixedCost) {
  ServingSpec s = day6();
  const double copies = 128.0 * 8, fp8 = 7168 * (1 + 4.0 / 128);
  const double rdma_fixed_us = (s.hardware.network_latency + s.calibration.a2a_overhead) / Microseconds(1);
  const double nvlink_fixed_us = s.calibration.a2a_nvlink_overhead / Microseconds(1);
  const double nic = s.hardware.scale_out_bandwidth.bytes_per_second() * s.calibration.decode_a2a_efficiency;
  const double nvlink = s.hardware.scale_up_bandwidth.bytes_per_second();
  const DeepEpLatency ep64 = deepep_low_latency(s, 64, 128);
  const double nic_us = copies * fp8 * 56 / 64 / nic * 1e6 + rdma_fixed_us;
  std::printf("EP64: dispatch %.1f us (NIC bound + fixed %.1f), combine %.1f us\n", ep64.dispatch / Microseconds(1),
              nic_us, ep64.combine / Microseconds(1));
  EXPECT_NEAR(ep64.dispatch / Microseconds(1), nic_us, 0.02 * nic_us);
  const double combine_us = copies * 14336 * 56 / 64 / nic * 1e6 + rdma_fixed_us;
  EXPECT_NEAR(ep64.combine / Microseconds(1), combine_us, 0.02 * combine_us);
  const DeepEpLatency ep8 = deepep_low_latency(s, 8, 128);
  const double nvl_us = copies * fp8 * 7 / 8 / nvlink * 1e6 + nvlink_fixed_us;
  std::printf("EP8: dispatch %.1f us (NVLink bound + fixed %.1f)\n", ep8.dispatch / Microseconds(1), nvl_us);
  EXPECT_NEAR(ep8.dispatch / Microseconds(1), nvl_us, 0.001 * nvl_us);
  // Each path's fixed cost moves only the calls that path ends.
  s.calibration.a2a_nvlink_overhead = Duration::zero();
  EXPECT_NEAR((ep8.dispatch - deepep_low_latency(s, 8, 128).dispatch) / Microseconds(1), nvlink_fixed_us, 1e-3);
  EXPECT_EQ(deepep_low_latency(s, 64, 128).dispatch, ep64.dispatch);
  EXPECT_THROW(deepep_low_latency(s, 4, 128), std::invalid_argument);
  s.hardware.fabric.reset();
  EXPECT_THROW(deepep_low_latency(s, 8, 128), std::invalid_argument);
}

// A decode unit on one node sends every copy over NVLink: each call pays
// the NVLink path's fixed cost, 2 calls (dispatch, combine) per micro-batch
// per MoE layer, and none of the RDMA path's.
TEST(ServingFabric, OneNodeDecodePaysTheNvlinkPathsFixedCost) {
  ServingSpec s = day6();
  s.decode.nodes = 1;
  s.decode.ep = 8;
  s.decode.redundant_experts = 0;
  const StepModel with(s, s.decode, false);
  ServingSpec z = s;
  z.calibration.a2a_nvlink_overhead = Duration::zero();
  const StepModel without(z, z.decode, false);
  const StepCost a = with.decode(8, 1024, 0), b = without.decode(8, 1024, 0);
  const double moe_layers = s.model.n_layers - s.model.moe->n_dense_layers, calls = 2.0 * s.decode.micro_batches;
  EXPECT_NEAR((a.comm - b.comm) / Microseconds(1),
              moe_layers * calls * (s.calibration.a2a_nvlink_overhead / Microseconds(1)), 1e-3);
}

// On the rail-aligned, non-blocking MPFT nothing contends beyond the NICs,
// so the replay must reproduce the closed form (to rounding, 1e-4).
TEST(ServingFabric, ReplayMatchesClosedFormOnMpft) {
  ServingSpec flow = day6();
  ServingSpec closed = flow;
  closed.hardware.fabric.reset();
  for (bool prefill : {false, true}) {
    const PoolPlan& plan = prefill ? flow.prefill : flow.decode;
    const StepModel a(flow, plan, prefill), b(closed, plan, prefill);
    EXPECT_NE(a.comm_timing().find("flow engine"), std::string::npos) << a.comm_timing();
    EXPECT_EQ(b.comm_timing(), "closed form");
    const StepCost ca = prefill ? a.prefill(16384, 3909, 0) : a.decode(64, 4989, 1);
    const StepCost cb = prefill ? b.prefill(16384, 3909, 0) : b.decode(64, 4989, 1);
    std::printf("%s: comm flow %.4f ms, closed form %.4f ms\n", prefill ? "prefill" : "decode",
                ca.comm / Milliseconds(1), cb.comm / Milliseconds(1));
    EXPECT_NEAR(ca.comm / cb.comm, 1.0, 1e-4);
  }
}

// Physics: a 2:1 oversubscribed single-plane fat tree under static ECMP
// makes the decode unit's all-to-all (18 nodes, so it crosses leaves of 4
// nodes) strictly slower than the MPFT it replaces.
TEST(ServingFabric, OversubscribedEcmpFatTreeIsSlower) {
  ServingSpec mpft = day6();
  ServingSpec ft2 = mpft;
  ft2.hardware.fabric->kind = topology::FabricKind::kFt2;
  ft2.hardware.fabric->planes = 1;
  ft2.hardware.fabric->oversubscription = 2;
  ft2.hardware.fabric->radix = 64;
  ft2.hardware.routing = topology::RoutingPolicy::kEcmp;
  const StepModel a(mpft, mpft.decode, false), b(ft2, ft2.decode, false);
  const StepCost ca = a.decode(64, 4989, 1), cb = b.decode(64, 4989, 1);
  std::printf("decode comm: mpft %.4f ms, ft2 2:1 ecmp %.4f ms (%s)\n", ca.comm / Milliseconds(1),
              cb.comm / Milliseconds(1), b.comm_timing().c_str());
  EXPECT_NE(b.comm_timing().find("flow engine"), std::string::npos) << b.comm_timing();
  EXPECT_GT(cb.comm, ca.comm);
}

// GB200 NVL72: the preset makes a serving node the whole 72-GPU NVLink
// domain (18 four-GPU trays), so an EP72 unit's all-to-all never reaches a
// NIC. Its replay on the fabric built from the trays (GPU -> NVSwitch ->
// GPU) must then equal the closed form's NVLink-only time (1e-2: the same
// bytes over the same 720 GB/s bottleneck).
TEST(ServingFabric, Nvl72NodeIsTheNvlinkDomain) {
  ServingSpec s = day6();
  s.hardware.node = "gb200_nvl72";
  s.hardware.node_spec = {};
  seed_serving_hardware(s.hardware);
  s.hardware.fabric->kind = topology::FabricKind::kNvl72;
  s.hardware.fabric->planes = 1;
  EXPECT_EQ(s.hardware.gpus_per_node, 72);
  EXPECT_NEAR(s.hardware.scale_up_bandwidth.bytes_per_second(), 720e9, 1);
  EXPECT_EQ(serving_cluster(s.hardware, 2).nodes, 36);  // trays of the fabric
  for (PoolPlan* p : {&s.prefill, &s.decode}) {
    p->nodes = 1;
    p->ep = 72;
    p->redundant_experts = 32;  // 288 slots, 4 per GPU
  }
  ServingSpec closed = s;
  closed.hardware.fabric.reset();
  const StepModel a(s, s.decode, false), b(closed, closed.decode, false);
  EXPECT_NE(a.comm_timing().find("flow engine"), std::string::npos) << a.comm_timing();
  const StepCost ca = a.decode(64, 4989, 1), cb = b.decode(64, 4989, 1);
  std::printf("NVL72 decode EP72 comm: flow %.4f ms, closed form %.4f ms\n", ca.comm / Milliseconds(1),
              cb.comm / Milliseconds(1));
  EXPECT_NEAR(ca.comm / cb.comm, 1.0, 1e-2);
}

}  // namespace
}  // namespace codesim::workloads
