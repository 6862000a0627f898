// Validation against DeepSeek's published production fleet (day-6 of the
// open-source week; targets T22-T24 of shared/reference/deepseek-v3-published.md).
// The scenario (scenarios/paper/v3-serve-day6.yaml) gives only the traffic
// and the deployment units; the throughputs, node counts and cost below are
// computed and compared with the published figures here, nowhere else.
//
// Tolerance 15% (the issue's): the published figures are 24-hour averages
// of a fleet whose size follows the load (peak 278 vs average 226.75
// nodes), and request lengths are not published (the scenario derives them).
// The per-node figures (T23) are such averages too, the day's tokens over
// the nodes in use (T24 divides by them): the tests compare the load per
// node of the pools as the scenario counts them (search.units: following,
// whole units over a varying load, half a unit idle per pool on average).
// Decode is timed on the per-op kernel model (the one training uses, fitted
// to H800 kernels only) with DeepSeek's 5-stage overlap; prefill's
// compute-bound rates still use one whole-system efficiency measured on
// training (workloads/calibration.yaml, serving.system_efficiency).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "serving_test_util.hpp"
#include "workloads/serving_estimate.hpp"
#include "workloads/serving_size.hpp"

namespace codesim::workloads {
namespace {

using testing::load_section;
constexpr const char* kDay6 = "scenarios/paper/v3-serve-day6.yaml";

TEST(ServingDay6, PrefillThroughputPerNode) {
  ServingSpec s;
  ASSERT_TRUE(load_section(kDay6, "serving", s));
  const ServingEstimate e = estimate_serving(s, s.search.units);
  // T23: ~73.7k input tokens/s per prefill node, including cache hits, the
  // fleet's average; a node's capacity is at least that.
  EXPECT_NEAR(e.input_tokens_per_s_per_prefill_node, 73.7e3, 0.15 * 73.7e3);
  EXPECT_GE(e.prefill.input_tokens_per_s_per_node, e.input_tokens_per_s_per_prefill_node);
}

// T23 in decode: ~14.8k output tokens/s per decode node at 20-22 tokens/s
// per user, the fleet's average; the node's capacity at the 20 tokens/s
// SLO (an overhead-free kernel model) is above it, its batch fits the KV
// cache (HBM - weights - reserve at 4,989 tokens each). T24's decode split:
// 1.944M output tokens/s / 14.8k = 131.4 nodes.
TEST(ServingDay6, DecodeThroughputPerNodeAsPublished) {
  ServingSpec s;
  ASSERT_TRUE(load_section(kDay6, "serving", s));
  const ServingEstimate e = estimate_serving(s, s.search.units);
  const DecodeEstimate& d = e.decode;
  ASSERT_TRUE(d.feasible) << d.limited_by;
  std::printf("decode: %.0f output tokens/s per node in use (%.2fx the published 14.8k), capacity %.0f at %.1f "
              "requests/GPU, TPOT %.1f ms; %.1f decode nodes\n",
              e.output_tokens_per_s_per_decode_node, e.output_tokens_per_s_per_decode_node / 14.8e3,
              d.tokens_per_s_per_node, d.batch_per_gpu, d.tpot / Milliseconds(1), e.decode_nodes);
  EXPECT_NEAR(e.output_tokens_per_s_per_decode_node, 14.8e3, 0.15 * 14.8e3);
  EXPECT_GT(d.tokens_per_s_per_node, e.output_tokens_per_s_per_decode_node);
  EXPECT_GE(d.tokens_per_s_per_user, 20.0 - 1e-6);
  EXPECT_LE(d.batch_per_gpu, d.kv_capacity);
  EXPECT_NEAR(e.decode_nodes, 131.4, 0.15 * 131.4);
}

// How units are counted: a fleet of whole units following a varying load
// holds half a unit more per pool than the load needs, on average; an
// elastic one exactly what it needs; a steady one the next whole unit.
TEST(ServingDay6, UnitCountsBracketTheLoad) {
  ServingSpec s;
  ASSERT_TRUE(load_section(kDay6, "serving", s));
  const ServingEstimate f = estimate_serving(s, UnitCount::kFractional);
  const ServingEstimate g = estimate_serving(s, UnitCount::kFollowing);
  const ServingEstimate w = estimate_serving(s, UnitCount::kWhole);
  EXPECT_NEAR(g.decode_units, f.decode_units + 0.5, 1e-9);
  EXPECT_NEAR(g.prefill_units, f.prefill_units + 0.5, 1e-9);
  EXPECT_DOUBLE_EQ(w.decode_units, std::ceil(f.decode_units));
  EXPECT_DOUBLE_EQ(w.prefill_units, std::ceil(f.prefill_units));
  EXPECT_NEAR(f.output_tokens_per_s_per_decode_node, f.decode.tokens_per_s_per_node, 1e-6);
  EXPECT_LT(g.output_tokens_per_s_per_decode_node, f.output_tokens_per_s_per_decode_node);
}

TEST(ServingDay6, FleetSizeAndCost) {
  ServingSpec s;
  ASSERT_TRUE(load_section(kDay6, "serving", s));
  // The published fleet's units: prefill EP32 x 4 nodes, decode EP144 x 18 nodes,
  // time-averaged as the scenario's search counts them (following).
  const ServingEstimate e = estimate_serving(s, s.search.units);
  // T24 [D]: ~95.5 prefill + ~131.4 decode nodes = ~226.9.
  EXPECT_NEAR(e.prefill_nodes, 95.5, 0.15 * 95.5);
  // T22: 226.75 nodes on average, $87,072 per day at $2/GPU-h.
  EXPECT_NEAR(e.total_nodes, 226.75, 0.15 * 226.75);
  EXPECT_NEAR(e.cost_per_day_usd, 87072, 0.15 * 87072);
  // Cost is exact arithmetic on the node count: nodes x 8 x 24 h x $2.
  EXPECT_NEAR(e.cost_per_day_usd, e.total_nodes * 8 * 24 * 2.0, 1e-6);
}

TEST(ServingDay6, SizeSearchFindsAFleetOfThePublishedSize) {
  ServingSpec s;
  ASSERT_TRUE(load_section(kDay6, "serving", s));
  const SizeResult r = size_deployment(s);
  ASSERT_FALSE(r.ranked.empty());
  const ServingEstimate& best = r.ranked.front().estimate;
  // T22: 226.75 nodes, $87,072/day (15%: see the file comment). The search
  // may pick other EP sizes than DeepSeek's; it must not be dearer than theirs.
  EXPECT_NEAR(best.total_nodes, 226.75, 0.15 * 226.75);
  EXPECT_NEAR(best.cost_per_day_usd, 87072, 0.15 * 87072);
  EXPECT_LE(best.cost_per_day_usd, estimate_serving(s, s.search.units).cost_per_day_usd + 1e-6);
  for (size_t i = 1; i < r.ranked.size(); ++i)
    EXPECT_LE(r.ranked[i - 1].estimate.cost_per_day_usd, r.ranked[i].estimate.cost_per_day_usd);
}

}  // namespace
}  // namespace codesim::workloads
