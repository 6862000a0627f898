// Serving's EP all-to-all replayed on a unit's fabric (hardware.node +
// hardware.fabric, workloads/serving_step.hpp) against the closed form it
// replaces, and the direction fabric changes must move it.
#include <gtest/gtest.h>

#include <cstdio>

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

}  // namespace
}  // namespace codesim::workloads
