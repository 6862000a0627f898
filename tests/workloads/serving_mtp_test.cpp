// MTP speculative decoding (T27): ISCA'25 Sec. 2.3.3 "acceptance rate of 80%
// to 90% ... increases the generation TPS by 1.8x" (TR 5.4.3: 85-90%, 1.8x).
// Neither source gives the batch or context; the speed-up can only approach
// 1 + a where the step is bound by weight reads and latency (small batch,
// short context), so that is where it is checked. The MTP module's own pass
// (its block, the BF16 output head again -- vocabulary-parallel over the
// node, head_tp 8 -- and one more all-to-all) is counted, which is why the
// model stays below 1 + a: at a = 0.8 the ceiling is exactly 1.8, so the
// band holds only if the draft pass and the doubled verification cost less
// than 6% of a step.
#include <gtest/gtest.h>

#include "serving_test_util.hpp"
#include "workloads/serving_step.hpp"

namespace codesim::workloads {
namespace {

using testing::load_section;

TEST(ServingMtp, AcceptedTokensPerStep) {
  EXPECT_DOUBLE_EQ(StepModel::accepted_per_step(0, 0.9), 1.0);
  EXPECT_DOUBLE_EQ(StepModel::accepted_per_step(1, 0.85), 1.85);
  EXPECT_DOUBLE_EQ(StepModel::accepted_per_step(2, 0.5), 1.75);  // 1 + 0.5 + 0.25
}

double speedup(const StepModel& m, double batch, double context, double acceptance) {
  const double t0 = m.decode(batch, context, 0).total.seconds();
  const double t1 = m.decode(batch, context, 1).total.seconds();
  return StepModel::accepted_per_step(1, acceptance) * t0 / t1;
}

TEST(ServingMtp, SpeedupNearPublishedAtSmallBatch) {
  ServingSpec s;
  ASSERT_TRUE(load_section("scenarios/paper/v3-serve-day6.yaml", "serving", s));
  const StepModel m(s, s.decode, false);
  // 4 requests per GPU, 1K context, T27's acceptance range 0.8-0.9
  // (ISCA'25 2.3.3; the TR says 0.85-0.9). Tolerance: 1.8 +- 0.1.
  double previous = 0;
  for (double a : {0.80, 0.85, 0.90}) {
    const double x = speedup(m, 4, 1024, a);
    std::printf("MTP depth 1, acceptance %.2f: %.3fx decode tokens/s (4 requests/GPU, 1K context)\n", a, x);
    EXPECT_NEAR(x, 1.8, 0.1) << "acceptance " << a;
    // 1 + a tokens per step is the ceiling; the draft pass and the doubled
    // verification must cost something, and more acceptance must pay.
    EXPECT_LT(x, 1 + a) << "acceptance " << a;
    EXPECT_GT(x, previous) << "acceptance " << a;
    previous = x;
  }
  // The verification doubles the attention work, so at the day-6 operating
  // point (about 90 requests/GPU, 4,989 tokens, compute-bound) MTP buys
  // little per step; the model must show that the gain shrinks with batch
  // and context.
  const double day6 = speedup(m, 90, 4989, 0.85);
  std::printf("MTP at the day-6 operating point (90 requests/GPU, 4,989 tokens, a = 0.85): %.3fx\n", day6);
  EXPECT_LT(day6, speedup(m, 16, 4989, 0.85));
  EXPECT_LT(speedup(m, 16, 4989, 0.85), speedup(m, 16, 1024, 0.85));
}

}  // namespace
}  // namespace codesim::workloads
