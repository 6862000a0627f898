// The request-level simulation: deterministic for a seed, consistent with the
// steady-state estimate it is sized from, and stable (no queue build-up) at
// the day-6 load. Short windows keep the test well under a second.
#include <gtest/gtest.h>

#include "serving_test_util.hpp"
#include "workloads/serving_estimate.hpp"
#include "workloads/serving_sim.hpp"

namespace codesim::workloads {
namespace {

using testing::load_section;

ServingSpec short_day6() {
  ServingSpec s;
  EXPECT_TRUE(load_section("scenarios/paper/v3-serve-day6.yaml", "serving", s));
  s.simulate.warmup = Seconds(int64_t{20});
  s.simulate.duration = Seconds(int64_t{20});
  return s;
}

TEST(ServingSim, DeterministicForASeed) {
  ServingSpec s = short_day6();
  const ServingEstimate e = estimate_serving(s, UnitCount::kWhole);
  const SimResult a = simulate_serving(s, e), b = simulate_serving(s, e);
  EXPECT_EQ(a.events, b.events);
  EXPECT_EQ(a.completed, b.completed);
  EXPECT_EQ(a.ttft.p99, b.ttft.p99);
  EXPECT_EQ(a.tpot.p50, b.tpot.p50);
  s.simulate.seed = 2;
  const SimResult c = simulate_serving(s, e);
  EXPECT_NE(a.events, c.events);
}

TEST(ServingSim, AgreesWithTheSteadyStateEstimate) {
  ServingSpec s = short_day6();
  const ServingEstimate e = estimate_serving(s, UnitCount::kWhole);
  const SimResult r = simulate_serving(s, e);
  // Arrivals: Poisson at traffic.arrival_rate() (~1,800/s): within 3 sigma.
  const double expected = s.traffic.arrival_rate() * 20;
  EXPECT_NEAR(static_cast<double>(r.arrived), expected, 3 * std::sqrt(expected));
  // TPOT within the 20 tok/s target (50 ms) at p50 and p99: the decode batch
  // cap comes from the estimate, and fewer requests than the cap only speed it up.
  EXPECT_GT(r.tpot.count, 0);
  EXPECT_LE(r.tpot.p50, 0.050);
  EXPECT_LE(r.tpot.p99, 0.050 * 1.05);
  // TTFT is at least one prefill forward of a small batch and the pool keeps up.
  EXPECT_GT(r.ttft.p50, 0.0);
  EXPECT_LE(r.ttft.p50, r.ttft.p90);
  EXPECT_LE(r.ttft.p90, r.ttft.p99);
  EXPECT_LT(r.prefill_queue_at_end, 2000u);
  // Served input tokens per prefill node match the offered load spread over
  // the (whole) units: input rate / prefill nodes, within 10% (Poisson noise
  // and the requests in flight at the window's edges).
  const double offered = e.input_tokens_per_s / r.prefill_nodes;
  EXPECT_NEAR(r.input_tokens_per_s_per_prefill_node, offered, 0.10 * offered);
}

// The estimate's mean TTFT against the simulated mean, at moderate load where
// both should hold: T0 / (1 - rho (1 - T0/S)) per forward, a wait of
// T / (k + 1) for the first of k units. Measured (600 s windows, rho 0.3-0.8):
// 1.09-1.20x the simulated mean for 4 and 26 units. One unit is not tested:
// there the estimate is 0.64-0.87x, as its wait is the residual of forwards
// whose lengths vary with cv-1 prompts (E[T^2] / 2E[T], not T / 2). The band
// is what a closed-form mean over Poisson arrivals can ask; the old
// half-a-forward wait was 1.6x at 26 units and fails it.
TEST(ServingSim, MeanTtftNearTheEstimateAtModerateLoad) {
  for (const int units : {4, 26}) {
    ServingSpec s = short_day6();
    const double f = 0.6 * units / 26.0;
    s.traffic.input_tokens_per_day *= f;
    s.traffic.output_tokens_per_day *= f;
    s.prefill.units = units;
    s.simulate.warmup = Seconds(int64_t{30});
    s.simulate.duration = Seconds(static_cast<int64_t>(units < 8 ? 300 : 60));
    const ServingEstimate e = estimate_serving(s, UnitCount::kWhole);
    const SimResult r = simulate_serving(s, e);
    ASSERT_GT(r.ttft.count, 100) << units;
    EXPECT_GT(e.ttft.seconds(), 0.7 * r.ttft.mean) << units << " units";
    EXPECT_LT(e.ttft.seconds(), 1.3 * r.ttft.mean) << units << " units";
  }
}

// A TTFT target above the fixed forward T0 (27 ms at day-6's EP32 prefill)
// is met by enough units, since the wait and the forward both shrink as
// units are added; one at or below T0 by none.
TEST(ServingEstimate, TtftTargetSetsTheFewestUnits) {
  ServingSpec s = short_day6();
  const ServingEstimate base = estimate_serving(s, UnitCount::kWhole);
  const double t0 = base.prefill.fixed_forward.seconds();
  s.slo.ttft = Milliseconds(40);
  ASSERT_GT(s.slo.ttft->seconds(), t0);
  const ServingEstimate e = estimate_serving(s, UnitCount::kWhole);
  EXPECT_TRUE(e.meets_slo) << e.why_not;
  EXPECT_LE(e.ttft, *s.slo.ttft);
  EXPECT_GT(e.prefill_units, base.prefill_units);
  // One unit fewer misses it: the fewest.
  ServingSpec fewer = s;
  fewer.prefill.units = static_cast<int>(e.prefill_units) - 1;
  EXPECT_GT(estimate_serving(fewer, UnitCount::kWhole).ttft, *s.slo.ttft);
  s.slo.ttft = Duration::from_ps(static_cast<int64_t>(0.9 * t0 * 1e12));
  const ServingEstimate no = estimate_serving(s, UnitCount::kWhole);
  EXPECT_FALSE(no.meets_slo);
  EXPECT_NE(no.why_not.find("no number of units meets it"), std::string::npos) << no.why_not;
}

}  // namespace
}  // namespace codesim::workloads
