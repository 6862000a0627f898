#include "models/counts.hpp"

#include <algorithm>

namespace codesim::models {
namespace {

int64_t attention_params(const ModelSpec& s) {
  const int64_t d = s.dim, h = s.n_heads;
  if (s.attention == AttentionKind::kMla) {
    const MlaSpec& m = *s.mla;
    const int64_t qk = m.qk_nope_head_dim + m.qk_rope_head_dim;
    const int64_t q = m.q_lora_rank > 0
                          ? d * m.q_lora_rank + m.q_lora_rank + int64_t{m.q_lora_rank} * h * qk
                          : d * h * qk;
    const int64_t kv = d * (m.kv_lora_rank + m.qk_rope_head_dim) + m.kv_lora_rank +
                       int64_t{m.kv_lora_rank} * h * (m.qk_nope_head_dim + m.v_head_dim);
    const int64_t o = h * m.v_head_dim * d;
    return q + kv + o;
  }
  const GqaSpec& g = *s.gqa;
  const int64_t q = d * h * g.head_dim, kv = 2 * d * g.n_kv_heads * g.head_dim;
  const int64_t bias = g.qkv_bias ? h * g.head_dim + 2 * int64_t{g.n_kv_heads} * g.head_dim : 0;
  return q + kv + bias + h * g.head_dim * d;
}

}  // namespace

int64_t attention_qk_dim(const ModelSpec& s) {
  return s.attention == AttentionKind::kMla ? s.mla->qk_nope_head_dim + s.mla->qk_rope_head_dim
                                            : s.gqa->head_dim;
}
int64_t attention_v_dim(const ModelSpec& s) {
  return s.attention == AttentionKind::kMla ? s.mla->v_head_dim : s.gqa->head_dim;
}

ParamCounts count_params(const ModelSpec& s) {
  ParamCounts p;
  const int64_t d = s.dim;
  p.embedding = int64_t{s.vocab_size} * d;
  p.output_head = s.tie_embeddings ? 0 : p.embedding;
  p.attention = attention_params(s);
  p.dense_ffn = 3 * d * s.inter_dim;
  p.layer_norms = 2 * d;
  p.final_norm = d;
  p.dense_layer = p.attention + p.dense_ffn + p.layer_norms;
  int n_dense = s.n_layers, n_moe = 0;
  if (s.moe) {
    const MoeSpec& m = *s.moe;
    p.expert = 3 * d * m.moe_inter_dim;
    const int64_t bias = m.score_func == ScoreFunc::kSigmoid ? m.n_routed_experts : 0;
    p.moe_gate = d * m.n_routed_experts + bias;
    const int64_t block = p.attention + p.layer_norms + p.moe_gate;
    p.moe_layer = block + p.expert * (m.n_routed_experts + m.n_shared_experts);
    p.moe_layer_activated = block + p.expert * (m.n_activated_experts + m.n_shared_experts);
    n_dense = m.n_dense_layers;
    n_moe = s.n_layers - m.n_dense_layers;
  }
  const int64_t shared = p.embedding + p.output_head + p.final_norm;
  p.total = shared + n_dense * p.dense_layer + n_moe * p.moe_layer;
  p.activated = shared + n_dense * p.dense_layer + n_moe * p.moe_layer_activated;
  p.activated_non_embedding = p.activated - p.embedding;
  // One MTP module: enorm + hnorm + eh_proj [2d -> d] + a block + final norm.
  const int64_t mtp_extra = 2 * d + 2 * d * d + d;
  p.mtp_module = mtp_extra + (s.moe ? p.moe_layer : p.dense_layer);
  p.mtp_module_activated = mtp_extra + (s.moe ? p.moe_layer_activated : p.dense_layer);
  p.total_with_mtp = p.total + s.mtp_depth * p.mtp_module;
  p.activated_with_mtp = p.activated + s.mtp_depth * p.mtp_module_activated;
  return p;
}

TrainFlops train_flops_per_token(const ModelSpec& s, int64_t seq_len, bool include_mtp) {
  const ParamCounts p = count_params(s);
  double n = static_cast<double>(p.activated_non_embedding);
  int64_t layers = s.n_layers;
  if (include_mtp) {
    // Each MTP module runs its block and eh_proj and the shared head again.
    n += static_cast<double>(s.mtp_depth) *
         static_cast<double>(p.mtp_module_activated + p.output_head +
                             (s.tie_embeddings ? p.embedding : 0));
    layers += s.mtp_depth;
  }
  const double per_pair = 3.0 * static_cast<double>(layers) * 2.0 *
                          static_cast<double>(s.n_heads) *
                          static_cast<double>(attention_qk_dim(s) + attention_v_dim(s));
  TrainFlops f;
  f.dense = Flops::from_count(6.0 * n);
  f.attention_noncausal = Flops::from_count(per_pair * static_cast<double>(seq_len));
  f.attention_causal = Flops::from_count(per_pair * static_cast<double>(seq_len) / 2.0);
  return f;
}

int64_t kv_cache_values_per_token_per_layer(const ModelSpec& s) {
  if (s.attention == AttentionKind::kMla) return s.mla->kv_lora_rank + s.mla->qk_rope_head_dim;
  return 2 * int64_t{s.gqa->n_kv_heads} * s.gqa->head_dim;
}

Bytes kv_cache_bytes_per_token(const ModelSpec& s, KvPrecision precision) {
  const uint64_t layers = static_cast<uint64_t>(s.n_layers);
  const uint64_t values = static_cast<uint64_t>(kv_cache_values_per_token_per_layer(s));
  switch (precision) {
    case KvPrecision::kBf16:
      return B(layers * values * 2);
    case KvPrecision::kFp32:
      return B(layers * values * 4);
    case KvPrecision::kFp8:
      break;
  }
  auto scales = [](uint64_t n) { return (n + 127) / 128 * 4; };
  if (s.attention == AttentionKind::kMla) {
    const uint64_t c = static_cast<uint64_t>(s.mla->kv_lora_rank);
    const uint64_t r = static_cast<uint64_t>(s.mla->qk_rope_head_dim);
    return B(layers * (c + scales(c) + 2 * r));
  }
  const uint64_t hd = static_cast<uint64_t>(s.gqa->head_dim);
  const uint64_t vectors = 2 * static_cast<uint64_t>(s.gqa->n_kv_heads);
  return B(layers * vectors * (hd + scales(hd)));
}

EpBytes ep_copy_bytes(int64_t hidden) {
  EpBytes e;
  const uint64_t d = static_cast<uint64_t>(std::max<int64_t>(0, hidden));
  e.dispatch_per_copy = B(d + (d + 127) / 128 * 4);
  e.combine_per_copy = B(2 * d);
  return e;
}

EpBytes ep_bytes_per_token(const ModelSpec& s) {
  if (!s.moe) return {};
  EpBytes e = ep_copy_bytes(s.dim);
  e.copies_per_token = s.moe->n_activated_experts;
  e.dispatch_per_token = e.dispatch_per_copy * static_cast<uint64_t>(e.copies_per_token);
  e.combine_per_token = e.combine_per_copy * static_cast<uint64_t>(e.copies_per_token);
  return e;
}

}  // namespace codesim::models
