// Analytic counts against published figures. Targets and sources are in
// shared/reference/deepseek-v3-published.md (T-numbers); the model files are
// scenarios/models/*.yaml. Every expected value below is either a published
// figure or hand arithmetic written out in the comment next to it.
#include "models/counts.hpp"

#include <gtest/gtest.h>

#include <string>

#include "models/model_io.hpp"
#include "models/op_list.hpp"
#include "tests/models/test_support.hpp"

namespace codesim::models {
namespace {

using test_support::load;

double rel(double got, double want) { return std::abs(got - want) / want; }

// T1: MLA KV cache per token, BF16: 61 x (512 + 64) x 2 B = 70,272 B (ISCA Tab. 1).
TEST(KvCache, DeepSeekV3Bf16IsExact) {
  const ModelSpec v3 = load("deepseek-v3.yaml");
  EXPECT_EQ(kv_cache_values_per_token_per_layer(v3), 512 + 64);
  EXPECT_EQ(kv_cache_bytes_per_token(v3, KvPrecision::kBf16).count(), 70'272u);
}

// T2: GQA, 2 (K,V) x 8 heads x 128 x layers x 2 B (ISCA Tab. 1).
TEST(KvCache, GqaModelsBf16AreExact) {
  EXPECT_EQ(kv_cache_bytes_per_token(load("qwen-2.5-72b.yaml"), KvPrecision::kBf16).count(),
            327'680u);  // 2*8*128*80*2
  EXPECT_EQ(kv_cache_bytes_per_token(load("llama-3.1-405b.yaml"), KvPrecision::kBf16).count(),
            516'096u);  // 2*8*128*126*2
}

// T3: ratios to V3, 4.66x and 7.34x (the paper prints 7.28x, an arithmetic slip).
TEST(KvCache, RatiosToV3) {
  const double v3 = kv_cache_bytes_per_token(load("deepseek-v3.yaml"), KvPrecision::kBf16).as_double();
  EXPECT_NEAR(kv_cache_bytes_per_token(load("qwen-2.5-72b.yaml"), KvPrecision::kBf16).as_double() / v3,
              4.66, 0.01);
  EXPECT_NEAR(kv_cache_bytes_per_token(load("llama-3.1-405b.yaml"), KvPrecision::kBf16).as_double() / v3,
              7.34, 0.01);
}

// FP8 layouts documented in counts.hpp: MLA 512 E4M3 + 4 FP32 scales + 64 BF16
// rope = 656 B/layer; GQA (128 + 4) B per head vector; FP32 doubles BF16.
TEST(KvCache, Fp8AndFp32Layouts) {
  EXPECT_EQ(kv_cache_bytes_per_token(load("deepseek-v3.yaml"), KvPrecision::kFp8).count(),
            61u * 656u);
  EXPECT_EQ(kv_cache_bytes_per_token(load("llama-3.1-405b.yaml"), KvPrecision::kFp8).count(),
            126u * 2u * 8u * 132u);
  EXPECT_EQ(kv_cache_bytes_per_token(load("deepseek-v3.yaml"), KvPrecision::kFp32).count(),
            2u * 70'272u);
}

// T31: parameters of config_671B.json, derived in the reference Sec. 3.1:
// MLA 187.1M, dense FFN 396.4M, expert 44.04M, MoE layer 11,320.2M per layer;
// total 671.03B; activated 37.55B with embedding and head, 36.63B without the
// embedding table; MTP 11.61B unique (README_WEIGHTS: 11.5B).
TEST(Params, DeepSeekV3Pieces) {
  const ParamCounts p = count_params(load("deepseek-v3.yaml"));
  // 7168*1536 + 1536 + 1536*128*192 + 7168*576 + 512 + 512*128*256 + 128*128*7168
  EXPECT_EQ(p.attention, 187'107'328);
  EXPECT_EQ(p.dense_ffn, 3LL * 7168 * 18432);
  EXPECT_EQ(p.expert, 3LL * 7168 * 2048);
  EXPECT_EQ(p.moe_gate, 7168LL * 256 + 256);  // gate + e_score_correction_bias
  EXPECT_EQ(p.embedding, 129'280LL * 7168);
  EXPECT_EQ(p.output_head, p.embedding);
}

// Tolerance 0.5% (T31). Published totals are rounded to 3-4 digits, and our
// count differs from the checkpoint only in buffers the config does not list.
TEST(Params, DeepSeekV3TotalAndActivated) {
  const ParamCounts p = count_params(load("deepseek-v3.yaml"));
  EXPECT_LT(rel(static_cast<double>(p.total), 671.0e9), 0.005) << p.total;  // TR: 671B, derived 671.03B
  // The activated count that excludes the input embedding table but keeps the
  // output head (the N of 6N): derived 36.63B; README_WEIGHTS: 36.7B.
  EXPECT_LT(rel(static_cast<double>(p.activated_non_embedding), 36.63e9), 0.005);
  EXPECT_LT(rel(static_cast<double>(p.activated_non_embedding), 36.7e9), 0.005);
  // The paper's "37B activated" is rounded to two digits: both variants round to 37B.
  EXPECT_EQ(std::lround(static_cast<double>(p.activated_non_embedding) / 1e9), 37);
  EXPECT_LT(rel(static_cast<double>(p.activated), 37.55e9), 0.005);  // incl. embedding
  // MTP module unique parameters: derived 11.61B, README_WEIGHTS 11.5B (within 1%).
  EXPECT_LT(rel(static_cast<double>(p.mtp_module), 11.61e9), 0.005);
  EXPECT_LT(rel(static_cast<double>(p.mtp_module), 11.5e9), 0.01);
  EXPECT_EQ(p.total_with_mtp, p.total + p.mtp_module);
}

// DeepSeek-V2: 236B total, 21B activated (arXiv:2405.04434 abstract), 1% (published
// figures have 2-3 significant digits).
TEST(Params, DeepSeekV2TotalAndActivated) {
  const ParamCounts p = count_params(load("deepseek-v2.yaml"));
  EXPECT_LT(rel(static_cast<double>(p.total), 236e9), 0.01) << p.total;
  EXPECT_EQ(std::lround(static_cast<double>(p.activated) / 1e9), 21) << p.activated;
}

// T4/T6: training GFLOP per token at seq 4096, causal attention, within 2%
// (ISCA Tab. 2). V3: 6 x 36.63B + 3*61*2*128*(192+128)*2048 = 219.8 + 30.7 = 250.5.
TEST(TrainFlops, DeepSeekV3Causal) {
  const TrainFlops f = train_flops_per_token(load("deepseek-v3.yaml"), 4096);
  EXPECT_NEAR(f.attention_causal.count(), 3.0 * 61 * 2 * 128 * 320 * 2048, 1.0);
  EXPECT_LT(rel(f.causal().count(), 250e9), 0.02) << f.causal().count();
  EXPECT_LT(rel(f.causal().count(), 250.5e9), 0.002);  // the derivation in Sec. 1.3
  EXPECT_LT(rel(f.noncausal().count(), 281.2e9), 0.002);
}

// T5: non-causal / causal = 432 / 385 TFLOPS (ISCA Tab. 4), within 1%.
TEST(TrainFlops, DeepSeekV3NonCausalRatio) {
  const TrainFlops f = train_flops_per_token(load("deepseek-v3.yaml"), 4096);
  EXPECT_LT(rel(f.noncausal().count() / f.causal().count(), 432.0 / 385.0), 0.01);
}

TEST(TrainFlops, DeepSeekV2AndLlama) {
  const TrainFlops v2 = train_flops_per_token(load("deepseek-v2.yaml"), 4096);
  EXPECT_LT(rel(v2.causal().count(), 155e9), 0.02) << v2.causal().count();
  const TrainFlops llama = train_flops_per_token(load("llama-3.1-405b.yaml"), 4096);
  EXPECT_LT(rel(llama.causal().count(), 2448e9), 0.02) << llama.causal().count();
}

// T6, Qwen-72B row: 394 GFLOP/token does not reproduce from 6N + attention
// with the public config (reference Sec. 5 item 8 expects ~430-445). We pin
// our own value instead of forcing the published one: 6 x 71.46B + 16.1 = 444.9.
TEST(TrainFlops, QwenDoesNotReproduce394) {
  const TrainFlops q = train_flops_per_token(load("qwen-2.5-72b.yaml"), 4096);
  EXPECT_GT(q.causal().count(), 430e9);
  EXPECT_LT(q.causal().count(), 446e9);
}

// MTP: one more block + eh_proj + head when asked for.
TEST(TrainFlops, MtpIsOptional) {
  const ModelSpec v3 = load("deepseek-v3.yaml");
  const ParamCounts p = count_params(v3);
  const TrainFlops a = train_flops_per_token(v3, 4096, false);
  const TrainFlops b = train_flops_per_token(v3, 4096, true);
  EXPECT_NEAR(b.dense.count() - a.dense.count(),
              6.0 * static_cast<double>(p.mtp_module_activated + p.output_head), 1e3);
  EXPECT_NEAR(b.attention_causal.count() / a.attention_causal.count(), 62.0 / 61.0, 1e-12);
}

// EP payloads: dispatch FP8 7168 + 56*4 scales = 7392 B per copy, combine
// BF16 14,336 B; 8 copies per token.
TEST(EpBytes, DeepSeekV3) {
  const EpBytes e = ep_bytes_per_token(load("deepseek-v3.yaml"));
  EXPECT_EQ(e.dispatch_per_copy.count(), 7392u);
  EXPECT_EQ(e.combine_per_copy.count(), 14'336u);
  EXPECT_EQ(e.copies_per_token, 8);
  EXPECT_EQ(e.dispatch_per_token.count(), 8u * 7392u);
  EXPECT_EQ(e.combine_per_token.count(), 8u * 14'336u);
  EXPECT_EQ(ep_bytes_per_token(load("llama-3.1-405b.yaml")).copies_per_token, 0);
}

// The op list and the closed form agree: forward GEMM + attention FLOPs x 3,
// per token, equal 6N + attention up to the norms and the gate bias (which
// are parameters without a GEMM) and the S/2 vs S^2/2 convention (none here).
TEST(OpList, ForwardMatmulsTimesThreeMatchTrainFlops) {
  for (const char* file : {"deepseek-v3.yaml", "deepseek-v2.yaml", "llama-3.1-405b.yaml",
                           "qwen-2.5-72b.yaml"}) {
    const ModelSpec s = load(file);
    OpListOptions o;
    o.seq_len = 4096;
    o.include_mtp = false;
    const auto layers = build_op_list(s, o);
    const double fwd = total_flops(layers, Pass::kForward, true).count() / 4096.0;
    const double closed = train_flops_per_token(s, 4096).causal().count();
    EXPECT_LT(rel(3.0 * fwd, closed), 1e-3) << file << ": " << 3.0 * fwd << " vs " << closed;
    // Backward matmuls: 2x forward for GEMMs, 2.5x for attention.
    const double bwd = (total_flops(layers, Pass::kBackwardInput, true) +
                        total_flops(layers, Pass::kBackwardWeight, true)).count() / 4096.0;
    EXPECT_GT(bwd, 2.0 * fwd);
    EXPECT_LT(bwd, 2.5 * fwd);
  }
}

// Tensor parallelism (Megatron-style, with sequence parallelism): a GPU's
// op list is its 1/tp share. For a GQA model nothing is replicated, so tp
// GPUs together run exactly the FLOPs of the unsplit list; MLA's down-
// projections (wq_a, wkv_a), their norms and the shared RoPE key run on
// all tokens on every TP rank, the only FLOPs TP duplicates. Each block
// enters attention and its FFN with an all-gather and leaves with a
// reduce-scatter (4 per block, +1 embedding, +1 head), mirrored in the
// backward, where the weight gradients all-gather each region's input
// again.
TEST(OpList, TensorParallelSplitsTheWorkExactly) {
  auto count = [](const std::vector<LayerOps>& ls, OpType k, Pass p) {
    int n = 0;
    for (const auto& l : ls)
      for (const auto& op : l.ops) n += op.kind == k && op.pass == p;
    return n;
  };
  {
    const ModelSpec s = load("llama-3.1-405b.yaml");
    OpListOptions o;
    o.seq_len = 8192;
    const auto one = build_op_list(s, o);
    o.tensor_parallel = 8;
    const auto eight = build_op_list(s, o);
    for (Pass p : {Pass::kForward, Pass::kBackwardInput, Pass::kBackwardWeight})
      EXPECT_NEAR(8.0 * total_flops(eight, p, false).count() / total_flops(one, p, false).count(), 1.0, 1e-12);
    EXPECT_EQ(count(one, OpType::kTpComm, Pass::kForward), 0);
    EXPECT_EQ(count(eight, OpType::kTpComm, Pass::kForward), 4 * 126 + 2);
    EXPECT_EQ(count(eight, OpType::kTpComm, Pass::kBackwardInput), 4 * 126 + 2);
    // The weight gradients re-gather each region's input: attention, FFN, head.
    EXPECT_EQ(count(eight, OpType::kTpComm, Pass::kBackwardWeight), 2 * 126 + 1);
    // The attention core of one GPU: 128 / 8 = 16 query heads, 8 / 8 = 1 KV head.
    for (const auto& op : eight[1].ops)
      if (op.name == "attn.core") {
        EXPECT_EQ(std::get<AttentionShape>(op.shape).n_heads, 16);
        EXPECT_EQ(std::get<AttentionShape>(op.shape).n_kv_heads, 1);
      }
    // The all-gather before attention: the whole 8,192 x 16,384 BF16 tensor
    // arrives, the GPU's 1/8 leaves.
    const Op& ag = eight[1].ops[1];
    EXPECT_EQ(ag.name, "attn.tp_gather");
    EXPECT_EQ(ag.bytes_written.count(), uint64_t{8192} * 16384 * 2);
    EXPECT_EQ(ag.bytes_read.count(), uint64_t{8192} * 16384 * 2 / 8);
  }
  {
    const ModelSpec s = load("deepseek-v3.yaml");
    OpListOptions o;
    o.seq_len = 4096;
    o.include_mtp = false;
    const auto one = build_op_list(s, o);
    o.tensor_parallel = 4;
    const auto four = build_op_list(s, o);
    // Duplicated per layer and token: 2 (1536 + 576) x 7168 GEMM FLOPs, the
    // two norms (4 FLOPs per element, 1536 + 512) and RoPE on the shared
    // key (3 FLOPs per element, 64).
    const double dup = 61.0 * 4096 * (2.0 * (1536 + 576) * 7168 + 4.0 * (1536 + 512) + 3.0 * 64);
    EXPECT_NEAR(4.0 * total_flops(four, Pass::kForward, false).count() - 3.0 * dup,
                total_flops(one, Pass::kForward, false).count(), 1e-9 * total_flops(one, Pass::kForward, false).count());
    // The routed experts see the GPU's 1/4 of the tokens: 1024 x 8 rows.
    for (const auto& op : four[4].ops)
      if (op.name == "moe.up") {
        EXPECT_EQ(std::get<GemmShape>(op.shape).m, 1024 * 8);
      }
  }
}

TEST(OpList, LayerStructureOfV3) {
  OpListOptions o;
  o.seq_len = 4096;
  const auto layers = build_op_list(load("deepseek-v3.yaml"), o);
  ASSERT_EQ(layers.size(), 1u + 61u + 1u + 1u);  // embed, blocks, head, mtp.0
  EXPECT_EQ(layers[1].kind, LayerKind::kDense);
  EXPECT_EQ(layers[4].kind, LayerKind::kMoe);
  EXPECT_EQ(layers.back().name, "mtp.0");
  // The routed up-projection of a MoE layer: 4096 tokens x 8 experts rows,
  // N = 2 x 2048, K = 7168, 256 weight groups; 2 x 32768 x 4096 x 7168 FLOPs
  // (reference Sec. 3.9: "1.92 TFLOP").
  const Op* up = nullptr;
  for (const auto& op : layers[4].ops)
    if (op.name == "moe.up") up = &op;
  ASSERT_NE(up, nullptr);
  EXPECT_EQ(std::get<GemmShape>(up->shape), (GemmShape{32768, 4096, 7168, 256}));
  EXPECT_NEAR(up->flops.count(), 1.924e12, 0.001e12);
  // Causal attention forward: 2*128*(4096^2/2)*(192+128) = 687 GFLOP (Sec. 3.9).
  for (const auto& op : layers[4].ops) {
    if (op.name == "attn.core") {
      EXPECT_NEAR(op.flops.count(), 687.2e9, 0.1e9);
    }
  }
}

TEST(OpList, DecodeUsesTheAbsorbedMlaPath) {
  OpListOptions o;
  o.workload = Workload::kDecode;
  o.batch = 128;
  o.seq_len = 4096;
  const auto layers = build_op_list(load("deepseek-v3.yaml"), o);
  ASSERT_EQ(layers.size(), 1u + 61u + 1u);  // no MTP outside training
  bool seen = false;
  for (const auto& op : layers[5].ops)
    if (op.kind == OpType::kAttention) {
      const auto& a = std::get<AttentionShape>(op.shape);
      EXPECT_EQ(a.q_len, 1);
      EXPECT_EQ(a.n_kv_heads, 1);
      EXPECT_EQ(a.qk_dim, 576);
      EXPECT_EQ(a.v_dim, 512);
      // The values are the latent itself: the cache (576 BF16 per token) is
      // read once, with the 128 x 576 BF16 queries per token.
      EXPECT_EQ(op.bytes_read.count(), 128u * 128 * 576 * 2 + 128u * 4096 * 576 * 2);
      seen = true;
    }
  EXPECT_TRUE(seen);
}

// MTP verification: decode_queries positions per sequence, one attention of
// q_len 2 over the context; the draft pass (serving_mtp) appends the MTP
// module over one position per sequence.
TEST(OpList, DecodeVerifiesMtpDraftsAndRunsTheDraftPass) {
  OpListOptions o;
  o.workload = Workload::kDecode;
  o.batch = 16;
  o.seq_len = 2048;
  o.decode_queries = 2;
  o.serving_mtp = true;
  const auto layers = build_op_list(load("deepseek-v3.yaml"), o);
  ASSERT_EQ(layers.size(), 1u + 61u + 1u + 1u);
  EXPECT_EQ(layers.back().kind, LayerKind::kMtp);
  for (const auto& l : {layers[5], layers.back()})
    for (const auto& op : l.ops) {
      const int64_t q = l.kind == LayerKind::kMtp ? 1 : 2;
      if (op.kind == OpType::kAttention) {
        const auto& a = std::get<AttentionShape>(op.shape);
        EXPECT_EQ(a.batch, 16);
        EXPECT_EQ(a.q_len, q);
        EXPECT_EQ(a.kv_len, 2048);
      }
      if (op.name == "attn.wq_a") {
        EXPECT_EQ(std::get<GemmShape>(op.shape).m, 16 * q);
      }
    }
}

TEST(ModelIo, BadFileNamesTheKey) {
  ModelSpec s;
  config::Diagnostics d;
  EXPECT_FALSE(load_model_spec_text("name: x\nvocab_size: 10\ndim: 8\ninter_dim: 8\nn_layers: 1\n"
                                    "n_heads: 1\nattention: mla\nbogus: 3\n",
                                    "bad.yaml", s, d));
  const std::string msg = d.str();
  EXPECT_NE(msg.find("bad.yaml:8"), std::string::npos) << msg;
  EXPECT_NE(msg.find("bogus"), std::string::npos) << msg;
  EXPECT_NE(msg.find("mla"), std::string::npos) << msg;  // missing mla section
}

}  // namespace
}  // namespace codesim::models
