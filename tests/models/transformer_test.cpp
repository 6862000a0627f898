// The whole reference model: KV-cache decoding equals full recompute, MTP
// wiring (depth 1 predicts t+2 from h_t and Emb(t+1)), op records, routing
// records, determinism.
#include "models/transformer.hpp"
#include "tests/models/test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace codesim::models {
namespace {

using test_support::with_seed;

std::vector<int32_t> tokens_for(int batch, int seq, int vocab, int salt = 0) {
  std::vector<int32_t> t(static_cast<size_t>(batch) * seq);
  for (size_t i = 0; i < t.size(); ++i) t[i] = static_cast<int32_t>((i * 131 + 17 + salt * 7) % vocab);
  return t;
}

// Max |a - b| / max |b| over rows [ra, ra+n) of a and [rb, rb+n) of b.
double row_diff(const Logits& a, int ra, const Logits& b, int rb, int n = 1) {
  double num = 0, den = 0;
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < a.cols; ++c) {
      num = std::max(num, static_cast<double>(std::fabs(a.at(ra + r, c) - b.at(rb + r, c))));
      den = std::max(den, static_cast<double>(std::fabs(b.at(rb + r, c))));
    }
  return num / den;
}

void check_decode_equals_recompute(const ModelSpec& spec, MlaPath path) {
  Transformer m(spec, with_seed(9, path));
  const int B = 2, prompt = 6, steps = 5, S = prompt + steps;
  const auto all = tokens_for(B, S, spec.vocab_size);
  const Logits full = m.forward(all, B);
  KvCache cache = m.make_cache(B);
  std::vector<int32_t> p;
  for (int b = 0; b < B; ++b)
    p.insert(p.end(), all.begin() + b * S, all.begin() + b * S + prompt);
  const Logits pre = m.forward(p, cache);
  double worst = 0;
  for (int b = 0; b < B; ++b) worst = std::max(worst, row_diff(pre, b * prompt, full, b * S, prompt));
  for (int s = prompt; s < S; ++s) {
    const std::vector<int32_t> step = {all[static_cast<size_t>(s)], all[static_cast<size_t>(S + s)]};
    const Logits d = m.forward(step, cache);
    for (int b = 0; b < B; ++b) worst = std::max(worst, row_diff(d, b, full, b * S + s));
  }
  EXPECT_EQ(cache.len(), S);
  std::printf("%s (%s): decode vs recompute, max |diff| / max |logit| = %.3g\n", spec.name.c_str(),
              path == MlaPath::kNaive ? "naive" : "absorbed", worst);
  // float32: the two orders of evaluation differ by a few ulps per layer.
  EXPECT_LT(worst, 1e-5);
}

TEST(Transformer, KvCacheDecodingEqualsRecompute) {
  check_decode_equals_recompute(tiny_deepseek_spec(), MlaPath::kAbsorbed);
  check_decode_equals_recompute(tiny_deepseek_spec(), MlaPath::kNaive);
  check_decode_equals_recompute(tiny_gqa_spec(), MlaPath::kAbsorbed);
}

TEST(Transformer, DeterministicFromSeed) {
  const ModelSpec spec = tiny_gqa_spec();
  const auto t = tokens_for(1, 8, spec.vocab_size);
  Transformer a(spec, with_seed(4)), b(spec, with_seed(4)), c(spec, with_seed(5));
  EXPECT_EQ(a.forward(t, 1).data, b.forward(t, 1).data);
  EXPECT_NE(a.forward(t, 1).data, c.forward(t, 1).data);
  EXPECT_THROW(a.forward(std::vector<int32_t>{spec.vocab_size}, 1), std::out_of_range);
}

TEST(Transformer, MtpDepth1PredictsTokenTPlus2FromHtAndEmbTPlus1) {
  const ModelSpec spec = tiny_deepseek_spec();
  ASSERT_EQ(spec.mtp_depth, 1);
  Transformer m(spec, with_seed(2));
  const int S = 12;
  auto t = tokens_for(1, S, spec.vocab_size);
  const auto out = m.forward_with_mtp(t, 1);
  ASSERT_EQ(out.mtp.size(), 1u);
  EXPECT_EQ(out.main.rows, S);
  EXPECT_EQ(out.mtp[0].rows, S - 1);  // positions 0..S-2 (t+1 must exist)
  EXPECT_EQ(out.mtp[0].cols, spec.vocab_size);
  // Main logits agree with the plain forward.
  EXPECT_EQ(out.main.data, m.forward(t, 1).data);

  // Row i of the MTP output depends on tokens 0..i+1 only: h_i sees 0..i
  // (causal), Emb(t_{i+1}) adds token i+1; the module's own attention is
  // causal over its positions.
  // "Unaffected" allows float32 noise (1e-5): a changed token can change
  // other tokens' routing and so the row count of an expert GEMM, which
  // changes Eigen's blocking and the rounding, not the math.
  const int i = 5;
  auto changed_next = t;
  changed_next[static_cast<size_t>(i + 1)] = (t[static_cast<size_t>(i + 1)] + 1) % spec.vocab_size;
  const auto o1 = m.forward_with_mtp(changed_next, 1);
  EXPECT_GT(row_diff(o1.mtp[0], i, out.mtp[0], i), 1e-3);  // Emb(t+1) feeds row i
  EXPECT_LT(row_diff(o1.mtp[0], i - 1, out.mtp[0], i - 1), 1e-5);  // row i-1 unaffected
  // ...whereas the main model's row i does not see token i+1.
  EXPECT_LT(row_diff(o1.main, i, out.main, i), 1e-5);
  auto changed_t2 = t;
  changed_t2[static_cast<size_t>(i + 2)] = (t[static_cast<size_t>(i + 2)] + 1) % spec.vocab_size;
  const auto o2 = m.forward_with_mtp(changed_t2, 1);
  EXPECT_LT(row_diff(o2.mtp[0], i, out.mtp[0], i), 1e-5);  // the target t+2 is not an input
  auto changed_t0 = t;
  changed_t0[0] = (t[0] + 1) % spec.vocab_size;
  const auto o3 = m.forward_with_mtp(changed_t0, 1);
  EXPECT_GT(row_diff(o3.mtp[0], i, out.mtp[0], i), 1e-3);  // through h_i
}

TEST(Transformer, OpRecordsAndRouting) {
  const ModelSpec spec = tiny_deepseek_spec();
  Transformer m(spec, with_seed(1, MlaPath::kAbsorbed, PrecisionPolicy::deepseek_v3_fp8()));
  OpLog log;
  const int B = 2, S = 16;
  m.forward(tokens_for(B, S, spec.vocab_size), B, &log);
  // One routing record per MoE layer, B*S tokens x top-k.
  ASSERT_EQ(log.routing.size(), static_cast<size_t>(spec.n_layers - spec.moe->n_dense_layers));
  EXPECT_EQ(log.routing[0].layer, spec.moe->n_dense_layers);
  EXPECT_EQ(log.routing[0].n_tokens, B * S);
  EXPECT_EQ(log.routing[0].experts.size(), static_cast<size_t>(B * S * spec.moe->n_activated_experts));
  // GEMM records: 2*M*N*K; wq_a is [B*S x dim] x [dim x q_lora]; FP8 inputs,
  // BF16 output.
  const OpRecord* wq_a = nullptr;
  const OpRecord* core = nullptr;
  double total = 0;
  for (const OpRecord& r : log.ops) {
    total += r.flops.count();
    if (r.layer == 0 && r.name == "attn.wq_a") wq_a = &r;
    if (r.layer == 0 && r.name == "attn.core") core = &r;
  }
  ASSERT_TRUE(wq_a && core);
  EXPECT_EQ(wq_a->shape, (std::vector<int64_t>{B * S, spec.mla->q_lora_rank, spec.dim}));
  EXPECT_DOUBLE_EQ(wq_a->flops.count(), 2.0 * B * S * spec.mla->q_lora_rank * spec.dim);
  EXPECT_EQ(wq_a->precision, Precision::kFp8E4M3);
  EXPECT_EQ(wq_a->bytes_read.count(),
            static_cast<uint64_t>(B * S * spec.dim + spec.dim * spec.mla->q_lora_rank));
  EXPECT_EQ(wq_a->bytes_written.count(), static_cast<uint64_t>(B * S * spec.mla->q_lora_rank * 2));
  // Absorbed attention core: causal pairs S(S+1)/2 per sequence and head,
  // 2 * (d_qk + d_v) FLOPs each with d_qk = kv_lora + rope, d_v = kv_lora.
  const int kvr = spec.mla->kv_lora_rank, rope = spec.mla->qk_rope_head_dim;
  EXPECT_DOUBLE_EQ(core->flops.count(), 2.0 * B * spec.n_heads * (S * (S + 1) / 2) * (2 * kvr + rope));
  // Every op of the 4 layers + embedding + head is reported: the first op
  // is the embedding, the last the head GEMM.
  EXPECT_EQ(log.ops.front().kind, OpKind::kEmbedding);
  EXPECT_EQ(log.ops.back().name, "head");
  EXPECT_EQ(log.ops.back().layer, kHeadLayer);
  EXPECT_GT(total, 0);
}

TEST(Transformer, GemmFlopsAreTwicePerTokenActivatedWeights) {
  // Cross-check of the op records against the parameter count: every weight
  // matrix a token passes through costs 2 FLOPs per element per token, in
  // both MLA paths (absorbed: W_UK and W_UV are applied per head instead of
  // wkv_b, the same number of weights). Activated params minus the
  // embedding, the norm weights and the gate biases are exactly those.
  const ModelSpec spec = tiny_deepseek_spec();
  for (MlaPath path : {MlaPath::kNaive, MlaPath::kAbsorbed}) {
    Transformer m(spec, with_seed(1, path));
    OpLog log;
    const int T = 24;
    m.forward(tokens_for(1, T, spec.vocab_size), 1, &log);
    double gemm = 0;
    for (const OpRecord& r : log.ops)
      if (r.kind == OpKind::kGemm || r.kind == OpKind::kGroupedGemm || r.kind == OpKind::kGate)
        gemm += r.flops.count();
    const int64_t norms = spec.n_layers * (2 * spec.dim + spec.mla->q_lora_rank + spec.mla->kv_lora_rank) + spec.dim;
    const int64_t biases = (spec.n_layers - spec.moe->n_dense_layers) * spec.moe->n_routed_experts;
    const int64_t weights = m.activated_param_count() - int64_t{spec.vocab_size} * spec.dim - norms - biases;
    EXPECT_DOUBLE_EQ(gemm, 2.0 * T * static_cast<double>(weights));
  }
}

TEST(Transformer, NodeLimitedRoutingInsideTheModel) {
  ModelSpec spec = tiny_deepseek_spec();
  spec.moe->n_limited_groups = spec.moe->n_expert_groups;  // node limit only
  ReferenceOptions opt;
  opt.placement = ExpertPlacement::contiguous(16, 8, 2);  // 4 nodes, 4 experts each
  opt.max_nodes = 2;
  Transformer m(spec, opt);
  OpLog log;
  m.forward(tokens_for(1, 64, spec.vocab_size), 1, &log);
  for (const RoutingRecord& r : log.routing)
    for (int t = 0; t < r.n_tokens; ++t) {
      std::vector<int> nodes;
      for (int j = 0; j < r.top_k; ++j) nodes.push_back(opt.placement->node_of(r.experts[static_cast<size_t>(t * r.top_k + j)]));
      std::sort(nodes.begin(), nodes.end());
      EXPECT_LE(std::unique(nodes.begin(), nodes.end()) - nodes.begin(), 2);
    }
}

TEST(Transformer, ParamCountsOfTinyModel) {
  const ModelSpec spec = tiny_deepseek_spec();
  Transformer m(spec);
  // Hand count for the tiny spec (dim 256, MLA q 96 / kv 64 / nope 32 /
  // rope 16 / v 32, 8 heads, 1 dense layer inter 512, 3 MoE layers with 16
  // experts of 64 + 1 shared of 64, vocab 512, untied head, 1 MTP module).
  const int64_t attn = 256 * 96 + 96 + 96 * 8 * 48 + 256 * (64 + 16) + 64 + 64 * 8 * 64 + 8 * 32 * 256;
  const int64_t norms = 2 * 256;
  const int64_t dense = 3 * 256 * 512;
  const int64_t expert = 3 * 256 * 64;
  const int64_t moe = 256 * 16 + 16 + expert + 16 * expert;
  const int64_t moe_active = 256 * 16 + 16 + expert + 4 * expert;
  const int64_t mtp = 2 * 256 + 2 * 256 * 256 + attn + norms + moe + 256;
  const int64_t outer = 2 * 512 * 256 + 256;
  EXPECT_EQ(m.param_count(), outer + 4 * (attn + norms) + dense + 3 * moe + mtp);
  EXPECT_EQ(m.activated_param_count(), outer + 4 * (attn + norms) + dense + 3 * moe_active);
}

}  // namespace
}  // namespace codesim::models
