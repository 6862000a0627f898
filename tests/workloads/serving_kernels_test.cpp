// The decode step on the per-op kernel model (workloads/serving_step.hpp):
// the decode op list of one micro-batch, timed op by op by the compute
// model training uses (workloads/compute_model.hpp).
#include <gtest/gtest.h>

#include <cstdio>

#include "models/op_list.hpp"
#include "serving_test_util.hpp"
#include "workloads/compute_model.hpp"
#include "workloads/serving_step.hpp"

namespace codesim::workloads {
namespace {

using testing::day6;

// The day-6 decode pool is timed per op (compute: auto); prefill keeps the
// group roofline unless asked (compute: kernels), attention TP > 1 always
// does; each says so.
TEST(ServingKernels, DecodeIsTimedPerOpAndSaysSo) {
  const ServingSpec s = day6();
  const StepModel decode(s, s.decode, false), prefill(s, s.prefill, true);
  EXPECT_TRUE(decode.kernel_compute());
  EXPECT_NE(decode.compute_timing().find("per-op kernel model"), std::string::npos) << decode.compute_timing();
  EXPECT_FALSE(prefill.kernel_compute());
  EXPECT_NE(prefill.compute_timing().find("system_efficiency"), std::string::npos) << prefill.compute_timing();
  ServingSpec tp = s;
  tp.decode.attention_tp = 2;
  const StepModel roofline(tp, tp.decode, false);
  EXPECT_FALSE(roofline.kernel_compute());
  EXPECT_NE(roofline.compute_timing().find("attention TP > 1"), std::string::npos);
  ServingSpec k = s;
  k.prefill.compute = ComputeTiming::kKernels;
  k.decode.compute = ComputeTiming::kRoofline;
  EXPECT_TRUE(StepModel(k, k.prefill, true).kernel_compute());
  EXPECT_FALSE(StepModel(k, k.decode, false).kernel_compute());
}

// Prefill on the per-op kernel model: the day-6 forward (16,384 new tokens
// per GPU, 3,909-token prompts of which 56.3% cached) against the roofline
// with system_efficiency 0.41. The kernels are the ones the training step
// is built from, at the same shapes (4,096-token sequences), with no
// whole-system factor, so they must be faster; but the roofline's
// compute-bound rates are 0.41 of similar kernel rates and prefill is
// compute-bound, so they cannot be faster than 1 / 0.41 (less the 20 SMs
// the EP kernels hold). Cached tokens cost attention and the up-projection
// of their latents, not GEMMs over them.
TEST(ServingKernels, PrefillOnKernelsIsFasterThanTheRooflineAndPaysForTheCache) {
  ServingSpec s = day6();
  const StepModel roof(s, s.prefill, true);
  s.prefill.compute = ComputeTiming::kKernels;
  const StepModel kern(s, s.prefill, true);
  const double n = 3909 * (1 - 0.563), c = 3909 * 0.563;
  const StepCost r = roof.prefill(16384, n, c), k = kern.prefill(16384, n, c), fresh = kern.prefill(16384, n, 0);
  std::printf("prefill forward: roofline %.0f ms, kernels %.0f ms (attention %.0f, dense %.0f, experts %.0f); "
              "no cache %.0f ms\n",
              r.total / Milliseconds(1), k.total / Milliseconds(1), k.attention / Milliseconds(1),
              k.dense / Milliseconds(1), k.experts / Milliseconds(1), fresh.total / Milliseconds(1));
  EXPECT_LT(k.total / r.total, 1.0);
  const double sms = s.hardware.sms;
  EXPECT_GT(k.total / r.total, s.calibration.system_efficiency * sms / (sms - s.calibration.prefill_a2a_sms));
  EXPECT_GT(k.attention, fresh.attention);
  EXPECT_GT(k.dense, fresh.dense);  // the cached latents' up-projection
  EXPECT_NEAR(k.experts / fresh.experts, 1.0, 1e-9);
}

// Absorbed MLA decode attention with 128 heads is compute-bound: its time
// grows with the keys (context) and with the query positions (MTP's second
// verified token doubles it), less its fixed launch floor.
TEST(ServingKernels, DecodeAttentionScalesWithContextAndQueries) {
  const ServingSpec s = day6();
  const StepModel m(s, s.decode, false);
  const ComputeCalibration cal = default_calibration();
  const double layers = s.model.n_layers, mb = s.decode.micro_batches;
  const double floor_ms = mb * layers * cal.launch_overhead / Milliseconds(1);  // one attention kernel per layer
  const double a4k = m.decode(64, 4096, 0).attention / Milliseconds(1) - floor_ms;
  const double a8k = m.decode(64, 8192, 0).attention / Milliseconds(1) - floor_ms;
  const double mtp = m.decode(64, 4096, 1).attention / Milliseconds(1) - floor_ms;
  std::printf("attention beyond floors: %.2f ms at 4K, %.2f at 8K, %.2f at 4K with MTP 1\n", a4k, a8k, mtp);
  // kv/(kv + kv_half) makes longer contexts slightly more efficient.
  EXPECT_NEAR(a8k / a4k, 2.0, 0.05);
  EXPECT_NEAR(mtp / a4k, 2.0, 0.01);
  // No faster than calibration.yaml's attention_decode asymptote (FlashMLA's
  // 580 TFLOPS, [FM]): 2 x heads x (kv_lora + rope + kv_lora) FLOPs per key
  // and query token, 4,096 keys, 64 x layers tokens.
  const auto& mla = *s.model.mla;
  const double flops =
      2.0 * s.model.n_heads * (2 * mla.kv_lora_rank + mla.qk_rope_head_dim) * 4096 * 64 * layers;
  const double peak = s.hardware.bf16_peak.per_second() * cal.attention_decode.peak_fraction;
  EXPECT_GE(a4k, flops / peak * 1e3);
}

// At one request per GPU the step is kernel floors and weight reads: every
// kernel of both micro-batches pays the launch floor, and every GPU reads
// the attention projections of all 61 layers (DP attention) per micro-batch.
TEST(ServingKernels, SmallBatchDecodeIsBoundByFloorsAndWeights) {
  const ServingSpec s = day6();
  const StepModel m(s, s.decode, false);
  const StepCost c = m.decode(1, 1024, 0);
  const ComputeCalibration cal = default_calibration();
  models::OpListOptions o;
  o.workload = models::Workload::kDecode;
  o.batch = 1;
  size_t kernels = 0;
  for (const auto& l : models::build_op_list(s.model, o))
    for (const auto& op : l.ops)
      if (op.kind != models::OpType::kDispatch && op.kind != models::OpType::kCombine) ++kernels;
  const double floors_ms =
      s.decode.micro_batches * static_cast<double>(kernels) * cal.launch_overhead / Milliseconds(1);
  const double attn_weights_ms = s.decode.micro_batches * s.model.n_layers *
                                 static_cast<double>(models::count_params(s.model).attention) /
                                 (s.hardware.hbm_bandwidth.bytes_per_second() * cal.memory_fraction) * 1e3;  // FP8, 1 B

  std::printf("1 request/GPU: compute %.2f ms, %zu kernels per micro-batch (floors %.2f ms), attention weights "
              "%.2f ms\n",
              c.compute / Milliseconds(1), kernels, floors_ms, attn_weights_ms);
  EXPECT_GT(c.compute / Milliseconds(1), floors_ms + attn_weights_ms);
  EXPECT_LT(c.compute / Milliseconds(1), 2.0 * (floors_ms + attn_weights_ms));
}

// The table is interpolated between grid points; a batch between two of
// them lands between their step times, and the step grows with the batch.
TEST(ServingKernels, DecodeStepGrowsWithTheBatch) {
  const ServingSpec s = day6();
  const StepModel m(s, s.decode, false);
  double prev = 0;
  for (double r : {1.0, 3.0, 10.0, 33.0, 100.0, 333.0}) {
    const double t = m.decode(r, 4989, 1).total.seconds();
    EXPECT_GT(t, prev) << r;
    prev = t;
  }
}

// The decode overlap as DeepSeek's 5-stage pipeline (PoolPlan::overlap
// stages): the step is compute plus the exposed parts of each call, the
// dispatch beyond the shared expert and the other micro-batch's attn_0, the
// combine beyond the other's attn_1, twice per MoE layer, plus the last
// layer's, and never less than the ideal overlap's max(compute, comm).
TEST(ServingKernels, DecodeStagePipelineAddsUpAndIsNoBetterThanIdeal) {
  ServingSpec s = day6();
  const StepModel staged(s, s.decode, false);
  const StepCost c = staged.decode(107, 4989, 1);
  ASSERT_TRUE(c.stages.has_value());
  const StageOverlap& g = *c.stages;
  EXPECT_TRUE(g.decode);
  auto over = [](Duration a, Duration w) { return std::max(Duration::zero(), a - w); };
  const Duration per_layer = (over(g.dispatch, g.shared + g.pre) + over(g.combine, g.core + g.post)) * int64_t{2};
  EXPECT_NEAR(g.per_layer / Microseconds(1), per_layer / Microseconds(1), 1e-3);
  const int64_t moe_layers = s.model.n_layers - s.model.moe->n_dense_layers;
  EXPECT_NEAR(c.exposed_comm / Microseconds(1), (g.per_layer * moe_layers + g.tail) / Microseconds(1), 1e-3);
  EXPECT_NEAR(c.total / Microseconds(1), (c.compute + c.exposed_comm + c.mtp) / Microseconds(1), 1e-3);
  // One micro-batch's calls and stages: both calls of every MoE layer add
  // up to the step's all-to-all, its stages to no more than its compute.
  EXPECT_NEAR((g.dispatch + g.combine) * (2 * moe_layers) / c.comm, 1.0, 0.02);
  EXPECT_LT((g.pre + g.core + g.post + g.shared + g.mlp) * (2 * moe_layers), c.compute);
  s.decode.overlap = OverlapModel::kIdeal;
  const StepModel ideal(s, s.decode, false);
  const StepCost i = ideal.decode(107, 4989, 1);
  EXPECT_FALSE(i.stages.has_value());
  EXPECT_NEAR(i.compute / c.compute, 1.0, 1e-9);
  EXPECT_GE(c.total, i.total);
  std::printf("decode step at 107 requests/GPU: stages %.2f ms (exposed %.2f), ideal %.2f ms (exposed %.2f); "
              "dispatch %.1f us behind %.1f us, combine %.1f us behind %.1f us\n",
              c.total / Milliseconds(1), c.exposed_comm / Milliseconds(1), i.total / Milliseconds(1),
              i.exposed_comm / Milliseconds(1), g.dispatch / Microseconds(1), (g.shared + g.pre) / Microseconds(1),
              g.combine / Microseconds(1), (g.core + g.post) / Microseconds(1));
}

// A slower all-to-all never shortens the staged step, and with a free one
// (no fixed costs, a network a thousand times faster, closed form) the
// pipeline hides everything but a sliver.
TEST(ServingKernels, DecodeStagePipelineFollowsTheNetwork) {
  ServingSpec s = day6();
  double prev = 0;
  for (double extra_us : {0.0, 20.0, 100.0, 400.0}) {
    ServingSpec t = s;
    t.calibration.a2a_overhead = t.calibration.a2a_overhead + Microseconds(extra_us);
    const StepCost c = StepModel(t, t.decode, false).decode(107, 4989, 1);
    EXPECT_GE(c.exposed_comm.seconds(), prev) << extra_us;
    prev = c.exposed_comm.seconds();
  }
  s.hardware.fabric.reset();
  s.hardware.network_latency = Duration::zero();
  s.calibration.a2a_overhead = Duration::zero();
  s.calibration.a2a_nvlink_overhead = Duration::zero();
  s.hardware.scale_out_bandwidth = s.hardware.scale_out_bandwidth * 1000.0;
  s.hardware.scale_up_bandwidth = s.hardware.scale_up_bandwidth * 1000.0;
  const StepCost c = StepModel(s, s.decode, false).decode(107, 4989, 1);
  ASSERT_TRUE(c.stages.has_value());
  EXPECT_EQ(c.stages->per_layer, Duration::zero());
  EXPECT_LT(c.exposed_comm, Microseconds(5));
}

// Prefill on the kernels gets the 2-stage pipeline: the day-6 forward's
// calls hide behind the other micro-batch's attention and experts (both
// milliseconds), all but the last layer's combine.
TEST(ServingKernels, PrefillStagePipelineHidesTheNormalKernels) {
  ServingSpec s = day6();
  s.prefill.compute = ComputeTiming::kKernels;
  const StepCost c = StepModel(s, s.prefill, true).prefill(16384, 3909 * (1 - 0.563), 3909 * 0.563);
  ASSERT_TRUE(c.stages.has_value());
  const StageOverlap& g = *c.stages;
  EXPECT_FALSE(g.decode);
  EXPECT_EQ(g.per_layer, Duration::zero());
  EXPECT_NEAR(c.exposed_comm / Microseconds(1), g.combine / Microseconds(1), 1e-3);
  EXPECT_LT(g.combine, g.pre + g.core + g.post);
  EXPECT_LT(g.combine, g.shared + g.mlp);
  // On the roofline (prefill's default) there are no stage times: ideal.
  EXPECT_FALSE(StepModel(day6(), day6().prefill, true).prefill(16384, 1708, 2201).stages.has_value());
}

}  // namespace
}  // namespace codesim::workloads
