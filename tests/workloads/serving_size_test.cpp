// `codesim size`'s search over MTP depth and KV precision (workloads/
// serving_size.hpp), on the day-6 scenario with its unit alone (no fleet
// replay: the search prices each unit's all-to-all replayed alone anyway).
#include <gtest/gtest.h>

#include <set>

#include "serving_test_util.hpp"
#include "workloads/serving_estimate.hpp"
#include "workloads/serving_size.hpp"

namespace codesim::workloads {
namespace {

using testing::day6;

// A narrow search: two EP sizes per pool, the scenario's MTP depth only.
ServingSpec narrow() {
  ServingSpec s = day6();
  s.search.prefill_ep = {16, 32};
  s.search.decode_ep = {72, 144};
  s.search.mtp_depth.clear();
  return s;
}

TEST(ServingSize, SearchesMtpDepthAndKvPrecision) {
  ServingSpec s = narrow();
  s.search.mtp_depth = {0, 1};
  s.search.kv_precision = {models::KvPrecision::kBf16, models::KvPrecision::kFp8};
  const SizeResult r = size_deployment(s);
  EXPECT_EQ(r.evaluated, 2 * 2 * 2 * 2);
  std::set<std::pair<int, models::KvPrecision>> seen;
  for (const SizeCandidate& c : r.ranked) seen.insert({c.mtp.depth, c.decode.kv_precision});
  EXPECT_EQ(seen.size(), 4u);
  ASSERT_EQ(r.by_mtp_depth.size(), 2u);
  EXPECT_EQ(r.by_mtp_depth[0].value, "0");
  EXPECT_EQ(r.by_mtp_depth[1].value, "1");
  ASSERT_EQ(r.by_kv_precision.size(), 2u);
  EXPECT_EQ(r.by_kv_precision[1].value, "fp8");
  // Each option points at the cheapest candidate that makes that choice.
  for (const SizeOption& o : r.by_mtp_depth) {
    const int depth = std::stoi(o.value);
    EXPECT_EQ(r.ranked[o.rank].mtp.depth, depth);
    for (size_t i = 0; i < o.rank; ++i) EXPECT_NE(r.ranked[i].mtp.depth, depth);
  }
  // The acceptance stays the scenario's.
  for (const SizeCandidate& c : r.ranked) EXPECT_EQ(c.mtp.acceptance, s.mtp.acceptance);
}

TEST(ServingSize, OneDimensionSearchedReportsNoOptions) {
  const SizeResult r = size_deployment(narrow());
  EXPECT_EQ(r.evaluated, 4);
  EXPECT_TRUE(r.by_mtp_depth.empty());
  EXPECT_TRUE(r.by_kv_precision.empty());
}

// The search reuses each pool's estimate across the other pool's choices;
// every ranked candidate must equal a fresh estimate of what it is.
TEST(ServingSize, CandidatesEqualAFreshEstimate) {
  ServingSpec s = narrow();
  s.search.mtp_depth = {0, 1};
  const SizeResult r = size_deployment(s);
  ASSERT_FALSE(r.ranked.empty());
  for (const SizeCandidate& c : r.ranked) {
    const ServingEstimate e = estimate_serving(candidate_spec(s, c), s.search.units);
    EXPECT_DOUBLE_EQ(e.cost_per_day_usd, c.estimate.cost_per_day_usd);
    EXPECT_DOUBLE_EQ(e.decode.tokens_per_s_per_node, c.estimate.decode.tokens_per_s_per_node);
    EXPECT_DOUBLE_EQ(e.prefill.input_tokens_per_s_per_node, c.estimate.prefill.input_tokens_per_s_per_node);
    EXPECT_EQ(e.ttft, c.estimate.ttft);
  }
}

// Where the step is bound by weight reads and kernel floors (a per-user
// speed that allows only a few requests per GPU: 28 tokens/s, near the
// ~32 tokens/s that EP144 reaches without MTP at one request per GPU), a
// second verified position per request is almost free, so MTP must cut the
// decode pool a lot; at the day-6 speed (20 tokens/s per user, ~107
// requests/GPU, attention and all-to-all per position dominate) it buys less.
TEST(ServingSize, MtpPaysMostWhereTheStepIsLatencyBound) {
  auto decode_nodes = [](double user_speed, int depth) {
    ServingSpec s = narrow();
    s.slo.tokens_per_s_per_user = user_speed;
    s.search.mtp_depth = {depth};
    const SizeResult r = size_deployment(s);
    EXPECT_FALSE(r.ranked.empty()) << user_speed << " tokens/s per user, MTP " << depth;
    return r.ranked.empty() ? 0.0 : r.ranked.front().estimate.decode_nodes;
  };
  const double gain_day6 = decode_nodes(20, 0) / decode_nodes(20, 1);
  const double gain_fast = decode_nodes(28, 0) / decode_nodes(28, 1);
  std::printf("decode pool without / with MTP: %.3fx at 20 tokens/s per user, %.3fx at 28\n", gain_day6,
              gain_fast);
  EXPECT_GT(gain_day6, 1.0);
  EXPECT_GT(gain_fast, gain_day6 + 0.2);
}

}  // namespace
}  // namespace codesim::workloads
