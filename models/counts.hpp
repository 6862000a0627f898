// File: models/counts.hpp
//
// Exact analytic counts derived from a ModelSpec: parameters, training FLOPs
// per token, KV-cache bytes per token and EP all-to-all bytes per token.
// Nothing here is typed in from a paper; tests/models/counts_test.cpp
// compares the results with the published figures (targets T1-T6, T31 of
// shared/reference/deepseek-v3-published.md).
//
// Parameter accounting (DeepSeek-V3 inference/model.py layout):
//  * MLA layer: wq_a [dim, q_lora] + q_norm + wq_b [q_lora, heads*(nope+rope)]
//    (or wq [dim, heads*(nope+rope)] when q_lora_rank = 0) + wkv_a
//    [dim, kv_lora+rope] + kv_norm + wkv_b [kv_lora, heads*(nope+v)] + wo
//    [heads*v, dim].
//  * GQA layer: wq [dim, heads*hd] + wk, wv [dim, kv_heads*hd] (+ biases) +
//    wo [heads*hd, dim].
//  * FFN (SwiGLU): 3 * dim * inter. MoE layer: (routed + shared) experts of
//    3 * dim * moe_inter, plus the gate [dim, routed] and, for sigmoid
//    routing, its per-expert bias (DeepSeek-V3's e_score_correction_bias).
//  * Two RMSNorms per layer, a final norm, the embedding table and the output
//    head (one matrix when tie_embeddings).
//  * MTP module k (DeepSeek-V3 TR Sec. 2.2): enorm + hnorm + eh_proj
//    [2*dim, dim] + one transformer block (MoE when the model is MoE) + a
//    final norm; the embedding and output head are shared with the main model.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <utility>

#include "models/model_spec.hpp"
#include "sim/units.hpp"

namespace codesim::models {

struct ParamCounts {
  // Pieces.
  int64_t embedding = 0;         // vocab x dim
  int64_t output_head = 0;       // vocab x dim; 0 when tied
  int64_t attention = 0;         // one layer's attention incl. its norms
  int64_t dense_ffn = 0;         // one dense SwiGLU FFN
  int64_t expert = 0;            // one routed or shared expert
  int64_t moe_gate = 0;          // gate weights (+ bias) of one MoE layer
  int64_t layer_norms = 0;       // the two RMSNorms of one block
  int64_t dense_layer = 0;       // a whole block with a dense FFN
  int64_t moe_layer = 0;         // a whole block with the MoE FFN (all experts)
  int64_t moe_layer_activated = 0;  // same, top-k routed + shared experts only
  int64_t final_norm = 0;
  int64_t mtp_module = 0;        // one MTP module's own parameters (unique)
  int64_t mtp_module_activated = 0;
  // Totals of the main model (no MTP): embedding + blocks + final norm + head.
  int64_t total = 0;
  int64_t activated = 0;  // per token: everything but the unused routed experts
  // activated minus the input embedding table (a lookup, no FLOPs); the
  // output head stays in (it is a GEMM). This is the N of "6N" (T4, T31).
  int64_t activated_non_embedding = 0;
  // With the MTP modules (unique parameters; embedding and head shared).
  int64_t total_with_mtp = 0;
  int64_t activated_with_mtp = 0;
};
ParamCounts count_params(const ModelSpec& spec);

// Training FLOPs per token, forward + backward (= 3x forward), by the ISCA'25
// Table 2 convention (shared/reference Sec. 1.3):
//   dense     = 6 * activated_non_embedding parameters
//   attention = 3 * layers * 2 * heads * (qk_dim + v_dim) * seq_len
//               (non-causal), or * seq_len / 2 (causal, FlashAttention).
// qk_dim = nope + rope and v_dim = v_head_dim for MLA (naive path, as trained);
// qk_dim = v_dim = head_dim for GQA. MTP is left out unless include_mtp, in
// which case its block, eh_proj and the shared head are added (the paper's
// 250 GFLOP/token appears not to count them).
struct TrainFlops {
  Flops dense;                // 6N
  Flops attention_causal;     // seq/2 convention
  Flops attention_noncausal;  // seq convention
  Flops causal() const { return dense + attention_causal; }
  Flops noncausal() const { return dense + attention_noncausal; }
};
TrainFlops train_flops_per_token(const ModelSpec& spec, int64_t seq_len, bool include_mtp = false);

// Query-key and value dims per head that the attention core uses in training.
int64_t attention_qk_dim(const ModelSpec& spec);
int64_t attention_v_dim(const ModelSpec& spec);

// KV-cache precision.
//  kBf16: every cached value 2 B (ISCA'25 Table 1 convention).
//  kFp8:  cached values E4M3 with one FP32 scale per 128 values (1x128 tiles);
//         for MLA the 64-d RoPE key stays BF16, giving 512 + 4*4 + 64*2 = 656 B
//         per layer for V3 (the FlashMLA FP8 layout, reference Sec. 1.2 [U]);
//         for GQA each head's K and V vector of head_dim values gets
//         ceil(head_dim/128) scales.
//  kFp32: 4 B per value.
enum class KvPrecision { kBf16, kFp8, kFp32 };
constexpr auto enum_names(KvPrecision) {
  return std::array{std::pair{KvPrecision::kBf16, std::string_view("bf16")},
                    std::pair{KvPrecision::kFp8, std::string_view("fp8")},
                    std::pair{KvPrecision::kFp32, std::string_view("fp32")}};
}
// Values cached per token per layer: kv_lora + rope (MLA, absorbed cache) or
// 2 * kv_heads * head_dim (GQA).
int64_t kv_cache_values_per_token_per_layer(const ModelSpec& spec);
Bytes kv_cache_bytes_per_token(const ModelSpec& spec, KvPrecision precision);

// EP all-to-all payload per token (MoE models; zeros for dense ones).
//  dispatch: FP8 E4M3 hidden vector + one FP32 scale per 128 values
//            (dim + ceil(dim/128)*4 B: 7168 + 224 = 7392 B for V3);
//  combine:  BF16 hidden vector (2 * dim B).
// Per token the activations go to n_activated_experts routed experts; DeepEP
// sends one copy per destination GPU (and one per destination node over the
// scale-out network), so the *_per_token values are the upper bound without
// de-duplication; the trace's byte matrices give the placement-aware bytes.
// Routing metadata (top-k indices and weights, a few dozen bytes) is not counted.
struct EpBytes {
  Bytes dispatch_per_copy;
  Bytes combine_per_copy;
  int copies_per_token = 0;  // n_activated_experts
  Bytes dispatch_per_token;  // copies_per_token * dispatch_per_copy
  Bytes combine_per_token;
};
EpBytes ep_bytes_per_token(const ModelSpec& spec);
// One copy of a `hidden`-channel token, as above: .dispatch_per_copy and
// .combine_per_copy set, copies 0 (for the DeepEP benchmarks, whose hidden
// size is the test's, not a model's).
EpBytes ep_copy_bytes(int64_t hidden);

}  // namespace codesim::models
