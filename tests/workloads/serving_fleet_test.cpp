// The serving fleet on one fabric (workloads/serving_fleet.hpp): every unit
// of both pools replayed at once, against each unit replayed alone.
#include <gtest/gtest.h>

#include <cstdio>

#include "serving_test_util.hpp"
#include "workloads/serving_estimate.hpp"
#include "workloads/serving_fleet.hpp"
#include "workloads/serving_step.hpp"

namespace codesim::workloads {
namespace {

using testing::day6;

// The day-6 pools, with few units so that the replays stay small.
ServingSpec small_fleet() {
  ServingSpec s = day6();
  s.prefill.units = 3;  // 12 nodes
  s.decode.units = 2;   // 36 nodes
  return s;
}

// Physics: on the non-blocking, rail-aligned MPFT a unit's traffic never
// leaves its own NICs' planes and leaves' spare capacity, so the other units
// cannot slow it: the shared slope equals the unit's own (adaptive routing
// spreads the spine hops; 1e-6 is the replay's rounding).
TEST(ServingFleet, NonBlockingFabricSharesNothing) {
  const ServingSpec s = small_fleet();
  const ServingEstimate e = estimate_serving(s, UnitCount::kWhole);
  const FleetComm f = replay_fleet(s, e);
  ASSERT_TRUE(f.replayed) << f.note;
  EXPECT_EQ(f.prefill_units, 3);
  EXPECT_EQ(f.decode_units, 2);
  EXPECT_EQ(f.nodes, 3 * 4 + 2 * 18);
  std::printf("%s\n", f.note.c_str());
  ASSERT_GT(f.prefill_alone_ps, 0);
  ASSERT_GT(f.decode_alone_ps, 0);
  EXPECT_NEAR(f.prefill_shared_ps / f.prefill_alone_ps, 1.0, 1e-6);
  EXPECT_NEAR(f.decode_shared_ps / f.decode_alone_ps, 1.0, 1e-6);
  EXPECT_LE(f.prefill_shared_ps, f.prefill_slowest_ps * (1 + 1e-12));
}

// Physics: on a 2:1 oversubscribed single-plane fat tree the units that
// straddle two leaves send part of their all-to-all up through uplinks that
// the neighbouring units' traffic also needs; all at once, the slowest
// unit's all-to-all can only be slower than the unit alone (which sees no
// other traffic), and the deployment at the shared rates carries no more.
TEST(ServingFleet, OversubscribedFabricSlowsTheUnits) {
  ServingSpec s = small_fleet();
  s.hardware.fabric->kind = topology::FabricKind::kFt2;
  s.hardware.fabric->planes = 1;
  s.hardware.fabric->oversubscription = 2;
  s.hardware.fabric->radix = 64;
  const ServingEstimate e = estimate_serving(s, UnitCount::kWhole);
  const FleetComm f = replay_fleet(s, e);
  ASSERT_TRUE(f.replayed) << f.note;
  std::printf("%s\n", f.note.c_str());
  EXPECT_GE(f.prefill_shared_ps, f.prefill_alone_ps * (1 - 1e-9));
  EXPECT_GE(f.decode_shared_ps, f.decode_alone_ps * (1 - 1e-9));
  EXPECT_GT(f.prefill_shared_ps + f.decode_shared_ps, (f.prefill_alone_ps + f.decode_alone_ps) * 1.01);

  const ServingSpec shared = with_fleet(s, e, f, true);
  EXPECT_EQ(shared.prefill.units, 3);
  EXPECT_EQ(shared.decode.units, 2);
  const ServingEstimate es = estimate_serving(shared, UnitCount::kWhole);
  EXPECT_NE(es.decode.comm_timing.find("fleet's shared ft2 fabric of 48 nodes"), std::string::npos)
      << es.decode.comm_timing;
  EXPECT_LE(es.prefill.input_tokens_per_s_per_node, e.prefill.input_tokens_per_s_per_node * (1 + 1e-9));
  EXPECT_LE(es.decode.tokens_per_s_per_node, e.decode.tokens_per_s_per_node * (1 + 1e-9));
}

// The day-6 deployment (26 prefill units of 4 nodes, 8 decode units of 18)
// on a 2:1 single-plane fat tree, 248 nodes. Alone, each unit's all-to-all
// meets the SLOs at the day-6 load (the decode all-to-all hides behind
// compute). On one fabric, the decode units' all-to-alls share the leaves'
// uplinks with each other and with the prefill units that straddle a leaf:
// the decode all-to-all can only slow down, the batch that keeps TPOT at
// 50 ms shrinks, and the 144 decode nodes no longer carry 1.94M output
// tokens/s (README's example).
TEST(ServingFleet, Day6PoolsOnOversubscribedFatTreeMissTheLoad) {
  ServingSpec s = day6();
  s.hardware.fabric->kind = topology::FabricKind::kFt2;
  s.hardware.fabric->planes = 1;
  s.hardware.fabric->oversubscription = 2;
  const ServingEstimate alone = estimate_serving(s, UnitCount::kWhole);
  ASSERT_TRUE(alone.meets_slo) << alone.why_not;
  const FleetComm f = replay_fleet(s, alone);
  ASSERT_TRUE(f.replayed) << f.note;
  std::printf("%s\n", f.note.c_str());
  // Every unit of both pools is on the fabric.
  EXPECT_EQ(f.nodes, static_cast<int>(alone.prefill_units) * s.prefill.nodes +
                         static_cast<int>(alone.decode_units) * s.decode.nodes);
  EXPECT_GT(f.decode_shared_ps, f.decode_alone_ps * 1.05);
  EXPECT_GE(f.prefill_slowest_ps, f.prefill_shared_ps);
  const ServingEstimate shared = estimate_serving(with_fleet(s, alone, f, true), UnitCount::kWhole);
  EXPECT_LT(shared.decode.batch_per_gpu, alone.decode.batch_per_gpu);
  EXPECT_FALSE(shared.meets_slo);
  EXPECT_NE(shared.why_not.find("decode pool overloaded"), std::string::npos) << shared.why_not;
}

// The re-sizing loop on the non-blocking MPFT: the shared rates equal the
// units' own, so the day-6 pools come out as sized, after one replay, and
// the slowest units' latency equals the pools' (no warning).
TEST(ServingFleet, EstimateWithFleetSettlesAtOnceOnMpft) {
  const ServingSpec s = day6();
  const ServingEstimate e = estimate_serving(s, UnitCount::kWhole);
  const FleetEstimate fe = estimate_with_fleet(s, e, UnitCount::kWhole);
  ASSERT_TRUE(fe.estimate.has_value()) << fe.fleet.note;
  EXPECT_EQ(fe.replays, 1);
  EXPECT_TRUE(fe.settled);
  EXPECT_TRUE(fe.stopped.empty());
  EXPECT_DOUBLE_EQ(fe.estimate->total_nodes, e.total_nodes);
  EXPECT_NEAR(fe.estimate->decode.tpot / e.decode.tpot, 1.0, 1e-6);
  const FleetTail t = fleet_tail(fe.spec, *fe.estimate, fe.fleet);
  EXPECT_NEAR(t.decode_tpot / fe.estimate->decode.tpot, 1.0, 1e-6);
  EXPECT_NEAR(t.ttft / fe.estimate->ttft, 1.0, 1e-6);
  EXPECT_TRUE(t.warning.empty()) << t.warning;
}

// A unit placed at an offset of a larger fabric has the flows of the unit
// alone, shifted: one unit on a non-blocking fabric of its own size plus
// idle nodes takes the time of the unit alone.
TEST(ServingFleet, OneUnitAtAnOffsetIsTheUnitAlone) {
  const ServingSpec s = day6();
  const StepModel decode(s, s.decode, false);
  ASSERT_GT(decode.flow_ps_per_token(), 0);
  const topology::ClusterSpec cluster = serving_cluster(s.hardware, 2 * s.decode.nodes);
  const FabricComm fc = serving_fabric_comm(s.hardware, cluster, "test");
  CommLayout layout;
  layout.gpus = fc.fabric->num_gpus();
  layout.gpus_per_node = s.hardware.gpus_per_node;
  Duration t[2];
  for (int i = 0; i < 2; ++i) {
    std::vector<sim::CommPattern> ps(1);
    decode.add_unit_flows(ps[0], layout, s.decode.nodes * s.hardware.gpus_per_node,
                          StepModel::kCommProbeTokens * (i + 1));
    CommReplay r;
    t[i] = replay_concurrent(fc, std::move(ps), r)[0];
    EXPECT_EQ(r.undelivered, 0u);
  }
  const double slope = static_cast<double>((t[1] - t[0]).ps()) / StepModel::kCommProbeTokens;
  EXPECT_NEAR(slope / decode.flow_ps_per_token(), 1.0, 1e-6);
}

// Without a fabric there is nothing to replay: the note says so and the
// spec is returned unchanged.
TEST(ServingFleet, NoFabricNoReplay) {
  ServingSpec s = small_fleet();
  s.hardware.fabric.reset();
  const ServingEstimate e = estimate_serving(s, UnitCount::kWhole);
  const FleetComm f = replay_fleet(s, e);
  EXPECT_FALSE(f.replayed);
  EXPECT_NE(f.note.find("no hardware.fabric"), std::string::npos) << f.note;
  const ServingSpec out = with_fleet(s, e, f, true);
  EXPECT_LT(out.decode.shared_comm_ps_per_token, 0);
}

}  // namespace
}  // namespace codesim::workloads
