// Routed-load imbalance in the serving step (workloads/serving_step.hpp):
// the EPLB placement of each pool's expert slots (models/eplb.hpp) under the
// calibration's expert popularity, times the per-step spread of a finite
// batch. The closed form for the spread is held against the Monte Carlo
// sampler of models/eplb.hpp.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "models/eplb.hpp"
#include "serving_test_util.hpp"
#include "workloads/serving.hpp"
#include "workloads/serving_step.hpp"

namespace codesim::workloads {
namespace {

using testing::load_section;

using testing::day6;

// Every expert equally popular. Prefill, 288 slots on 32 GPUs in 4 nodes
// (hierarchical): per node 64 experts in 72 slots, 8 of them replicated
// (half load each); 56 full + 16 half slots pack as 7 + 2 per GPU = 8 each,
// exactly balanced. Decode, 288 slots on 144 GPUs, 2 per GPU: 32 experts
// replicated give 224 full and 64 half slots; a GPU holds two, so at best
// 64 GPUs carry 1.5 and 80 carry 2 against a mean of 256/144: the busiest
// GPU is 2 / (256/144) = 1.125 x the mean. EP144 forces the 32 extra slots
// (whole experts per GPU), and splitting a replicated expert evenly over
// its replicas cannot balance equal loads.
TEST(ServingEplb, UniformPopularityPlacement) {
  const ServingSpec s = day6();
  const StepModel prefill(s, s.prefill, true);
  EXPECT_EQ(prefill.expert_slots_per_gpu(), 9);
  EXPECT_NEAR(prefill.static_expert_imbalance(), 1.0, 1e-12);
  const StepModel decode(s, s.decode, false);
  EXPECT_EQ(decode.expert_slots_per_gpu(), 2);
  EXPECT_NEAR(decode.static_expert_imbalance(), 1.125, 1e-12);
  // The per-step spread shrinks as 1/sqrt(rows): more rows, closer to static.
  EXPECT_GT(decode.expert_imbalance(100), decode.expert_imbalance(1000));
  EXPECT_GT(decode.expert_imbalance(1000), decode.expert_imbalance(100000));
  EXPECT_GE(decode.expert_imbalance(1e7), 1.125);
  EXPECT_LT(decode.expert_imbalance(1e7), 1.125 + 0.002);
}

// The step model's E[max] of independent Gaussian (Poisson-variance) GPU
// loads against the sampler (tokens drawn top-8 without replacement, each
// row to a uniformly chosen replica). Day-6 decode: 90 requests x 1.85
// positions / 2 micro-batches per GPU, 144 GPUs. The loads of one step are
// not independent (their total is fixed) and a token's 8 experts are
// distinct (multinomial, less variable than Poisson): both make the sample's
// maximum a little lower (measured: 0.1-2% of the excess). Band: 5% of the
// excess over 1.
TEST(ServingEplb, ClosedFormMatchesSampler) {
  for (double sigma : {0.0, 0.5}) {
    ServingSpec s = day6();
    s.calibration.expert_popularity_sigma = sigma;
    const StepModel m(s, s.decode, false);
    const int experts = s.model.moe->n_routed_experts, k = s.model.moe->n_activated_experts;
    const std::vector<double> pop = models::lognormal_popularity(
        experts, sigma, static_cast<uint64_t>(s.calibration.expert_popularity_seed));
    const models::EplbPlacement p = models::eplb_rebalance(
        pop, m.expert_slots_per_gpu() * s.decode.ep, s.model.moe->n_expert_groups, 1, s.decode.ep);
    EXPECT_NEAR(p.imbalance(), m.static_expert_imbalance(), 1e-9);
    const int64_t tokens = std::llround(90 * 1.85 / 2 * s.decode.ep);
    const models::StepImbalance sampled = models::sample_step_imbalance(p, pop, tokens, k, 200, 11);
    const double rows = static_cast<double>(tokens) * k / s.decode.ep;
    const double closed = m.expert_imbalance(rows);
    std::printf("sigma %.1f: static %.4f, step imbalance closed form %.4f, sampled mean %.4f (p99 %.4f)\n",
                sigma, m.static_expert_imbalance(), closed, sampled.mean_step_imbalance,
                sampled.p99_step_imbalance);
    EXPECT_NEAR(closed - 1, sampled.mean_step_imbalance - 1, 0.05 * (sampled.mean_step_imbalance - 1));
  }
}

// With skewed popularity, EPLB's redundant replicas must lower the busiest
// GPU's load, and a step at the same batch must get faster for it.
TEST(ServingEplb, RedundantExpertsCutSkew) {
  ServingSpec s = day6();
  s.calibration.expert_popularity_sigma = 1.0;
  PoolPlan none = s.decode;
  none.redundant_experts = 0;  // 256 experts on 128 GPUs: 2 each
  none.ep = 128;
  none.nodes = 16;
  PoolPlan red = none;
  red.redundant_experts = 128;  // 3 slots each
  const StepModel a(s, none, false), b(s, red, false);
  std::printf("sigma 1: static imbalance %.3f without and %.3f with 128 redundant experts\n",
              a.static_expert_imbalance(), b.static_expert_imbalance());
  EXPECT_GT(a.static_expert_imbalance(), 1.3);
  EXPECT_LT(b.static_expert_imbalance(), a.static_expert_imbalance() - 0.2);
  EXPECT_LT(b.decode(64, 2048, 1).experts, a.decode(64, 2048, 1).experts);
}

// EP sizes that do not divide the expert slots get whole slots per GPU
// (rounded up, the extra ones as replicas), never fractional experts.
// EP48: 6 slots per GPU, 288 slots, 32 experts replicated: 224 full and 64
// half slots against a mean of 256/48 = 5.33 per GPU. Reaching the mean
// needs two half slots on every GPU (96), there are 64, so some GPU carries
// 5.5 at best: 5.5 / 5.33 = 1.03125.
TEST(ServingEplb, SlotsRoundUpToWholeExpertsPerGpu) {
  const ServingSpec s = day6();
  PoolPlan p = s.decode;
  p.ep = 48;
  p.nodes = 6;
  p.redundant_experts = 0;
  const StepModel m(s, p, false);
  EXPECT_EQ(m.expert_slots_per_gpu(), 6);  // ceil(256 / 48)
  EXPECT_NEAR(m.static_expert_imbalance(), 5.5 / (256.0 / 48), 1e-12);
}

}  // namespace
}  // namespace codesim::workloads
