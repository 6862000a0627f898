// Validation against DeepSeek's published production fleet (day-6 of the
// open-source week; targets T22-T24 of shared/reference/deepseek-v3-published.md).
// The scenario (scenarios/paper/v3-serve-day6.yaml) gives only the traffic
// and the deployment units; the throughputs, node counts and cost below are
// computed and compared with the published figures here, nowhere else.
//
// Tolerance 15% (the issue's): the published figures are 24-hour averages
// of a fleet whose size follows the load (peak 278 vs average 226.75
// nodes), request lengths are not published (the scenario derives them), and
// the model's compute-bound rates use one whole-system efficiency measured on
// training (workloads/calibration.yaml, serving.system_efficiency).
#include <gtest/gtest.h>

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
  const PrefillEstimate p = estimate_prefill(s, s.prefill);
  // T23: ~73.7k input tokens/s per prefill node, including cache hits.
  EXPECT_NEAR(p.input_tokens_per_s_per_node, 73.7e3, 0.15 * 73.7e3);
}

TEST(ServingDay6, DecodeThroughputPerNodeAtUserSpeed) {
  ServingSpec s;
  ASSERT_TRUE(load_section(kDay6, "serving", s));
  const DecodeEstimate d = estimate_decode(s, s.decode);
  ASSERT_TRUE(d.feasible) << d.limited_by;
  // T23: ~14.8k output tokens/s per decode node at 20-22 tokens/s per user.
  EXPECT_NEAR(d.tokens_per_s_per_node, 14.8e3, 0.15 * 14.8e3);
  EXPECT_GE(d.tokens_per_s_per_user, 20.0 - 1e-6);
  // Little's law on the published figures: 14.8k / 8 GPUs / 21 tok/s = 88
  // concurrent requests per GPU; the model's batch must be of that order and
  // inside the KV cache (HBM - weights - reserve at 4,989 tokens each).
  EXPECT_NEAR(d.batch_per_gpu, 88, 0.15 * 88);
  EXPECT_LE(d.batch_per_gpu, d.kv_capacity);
}

TEST(ServingDay6, FleetSizeAndCost) {
  ServingSpec s;
  ASSERT_TRUE(load_section(kDay6, "serving", s));
  // The published fleet's units: prefill EP32 x 4 nodes, decode EP144 x 18 nodes,
  // time-averaged (fractional) units as the scenario's search asks.
  const ServingEstimate e = estimate_serving(s, false);
  // T24 [D]: ~95.5 prefill + ~131.4 decode nodes = ~226.9.
  EXPECT_NEAR(e.prefill_nodes, 95.5, 0.15 * 95.5);
  EXPECT_NEAR(e.decode_nodes, 131.4, 0.15 * 131.4);
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
  EXPECT_LE(best.cost_per_day_usd, estimate_serving(s, false).cost_per_day_usd + 1e-6);
  for (size_t i = 1; i < r.ranked.size(); ++i)
    EXPECT_LE(r.ranked[i - 1].estimate.cost_per_day_usd, r.ranked[i].estimate.cost_per_day_usd);
}

}  // namespace
}  // namespace codesim::workloads
