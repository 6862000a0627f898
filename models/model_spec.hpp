// File: models/model_spec.hpp
//
// The architecture of a transformer model, as read from scenarios/models/*.yaml
// (the same strict loading as scenarios). One struct covers the families codesim
// models: DeepSeek-V2/V3 (MLA attention, DeepSeekMoE with shared and routed
// experts, MTP) and dense GQA models (LLaMA, Qwen). Field names follow
// DeepSeek-V3's inference/configs/config_671B.json where one exists.
//
// Every count codesim derives (parameters, FLOPs, KV bytes, all-to-all bytes)
// comes from these fields; no published figure is typed in anywhere else.
#pragma once

#include <string>

#include "sim/config.hpp"

namespace codesim::models {

enum class AttentionKind { kMla, kGqa };
constexpr auto enum_names(AttentionKind) {
  return std::array{std::pair{AttentionKind::kMla, std::string_view("mla")},
                    std::pair{AttentionKind::kGqa, std::string_view("gqa")}};
}

enum class ScoreFunc { kSoftmax, kSigmoid };
constexpr auto enum_names(ScoreFunc) {
  return std::array{std::pair{ScoreFunc::kSoftmax, std::string_view("softmax")},
                    std::pair{ScoreFunc::kSigmoid, std::string_view("sigmoid")}};
}

// Multi-head latent attention (DeepSeek-V2/V3).
struct MlaSpec {
  int q_lora_rank = 0;  // 0 = no query compression (DeepSeek-V2-Lite)
  int kv_lora_rank = 512;
  int qk_nope_head_dim = 128;
  int qk_rope_head_dim = 64;
  int v_head_dim = 128;
  template <class V>
  void fields(V& v) {
    v.opt("q_lora_rank", q_lora_rank, "query compression rank d_c' (0: none)");
    v.req("kv_lora_rank", kv_lora_rank, "KV compression rank d_c");
    v.req("qk_nope_head_dim", qk_nope_head_dim, "per-head query/key dim without RoPE");
    v.req("qk_rope_head_dim", qk_rope_head_dim, "decoupled RoPE key dim d_h^R");
    v.req("v_head_dim", v_head_dim, "per-head value dim");
  }
  void validate(config::Reader& r) {
    r.check(q_lora_rank >= 0, "q_lora_rank", "must be >= 0 (0: no query compression)");
    r.check(kv_lora_rank >= 1, "kv_lora_rank", "must be >= 1");
    r.check(qk_nope_head_dim >= 1, "qk_nope_head_dim", "must be >= 1");
    r.check(qk_rope_head_dim >= 0, "qk_rope_head_dim", "must be >= 0");
    r.check(v_head_dim >= 1, "v_head_dim", "must be >= 1");
  }
};

// Grouped-query attention (LLaMA, Qwen).
struct GqaSpec {
  int n_kv_heads = 8;
  int head_dim = 128;
  bool qkv_bias = false;  // Qwen-2.5 has biases on q, k, v
  template <class V>
  void fields(V& v) {
    v.req("n_kv_heads", n_kv_heads, "number of key/value heads");
    v.req("head_dim", head_dim, "per-head dim");
    v.opt("qkv_bias", qkv_bias, "q/k/v projections carry a bias");
  }
  void validate(config::Reader& r) {
    r.check(n_kv_heads >= 1, "n_kv_heads", "must be >= 1");
    r.check(head_dim >= 1, "head_dim", "must be >= 1");
  }
};

// DeepSeekMoE: shared plus routed experts, group-limited routing.
struct MoeSpec {
  int n_dense_layers = 0;  // the first layers keep a dense FFN
  int n_routed_experts = 0;
  int n_shared_experts = 0;
  int n_activated_experts = 0;  // top-k routed
  int moe_inter_dim = 0;
  int n_expert_groups = 1;
  int n_limited_groups = 1;
  double route_scale = 1.0;
  ScoreFunc score_func = ScoreFunc::kSigmoid;
  template <class V>
  void fields(V& v) {
    v.req("n_dense_layers", n_dense_layers, "leading layers with a dense FFN");
    v.req("n_routed_experts", n_routed_experts, "routed experts per MoE layer");
    v.req("n_shared_experts", n_shared_experts, "shared experts per MoE layer");
    v.req("n_activated_experts", n_activated_experts, "routed experts per token (top-k)");
    v.req("moe_inter_dim", moe_inter_dim, "intermediate dim of one expert");
    v.opt("n_expert_groups", n_expert_groups, "expert groups for group-limited routing");
    v.opt("n_limited_groups", n_limited_groups, "groups a token may use (top-k groups)");
    v.opt("route_scale", route_scale, "scale on the normalised routing weights");
    v.opt("score_func", score_func, "affinity function");
  }
  void validate(config::Reader& r) {
    r.check(n_dense_layers >= 0, "n_dense_layers", "must be >= 0");
    r.check(n_routed_experts >= 1, "n_routed_experts", "must be >= 1");
    r.check(n_shared_experts >= 0, "n_shared_experts", "must be >= 0");
    r.check(n_activated_experts >= 1, "n_activated_experts", "must be >= 1");
    r.check(moe_inter_dim >= 1, "moe_inter_dim", "must be >= 1");
    r.check(n_limited_groups >= 1, "n_limited_groups", "must be >= 1");
    r.check(route_scale > 0, "route_scale", "must be > 0");
  }
};

struct ModelSpec {
  std::string name;
  std::string source;  // where the numbers come from
  int vocab_size = 0;
  int dim = 0;
  int inter_dim = 0;  // dense FFN intermediate dim
  int n_layers = 0;
  int n_heads = 0;
  AttentionKind attention = AttentionKind::kGqa;
  std::optional<MlaSpec> mla;
  std::optional<GqaSpec> gqa;
  std::optional<MoeSpec> moe;
  int mtp_depth = 0;  // multi-token prediction modules
  bool tie_embeddings = false;

  template <class V>
  void fields(V& v) {
    v.req("name", name, "model name");
    v.opt("source", source, "where the numbers come from");
    v.req("vocab_size", vocab_size, "vocabulary size");
    v.req("dim", dim, "hidden size");
    v.req("inter_dim", inter_dim, "dense FFN intermediate size");
    v.req("n_layers", n_layers, "transformer layers");
    v.req("n_heads", n_heads, "attention (query) heads");
    v.req("attention", attention, "attention kind");
    v.opt("mla", mla, "MLA dims (attention: mla)");
    v.opt("gqa", gqa, "GQA dims (attention: gqa)");
    v.opt("moe", moe, "DeepSeekMoE (absent: dense)");
    v.opt("mtp_depth", mtp_depth, "multi-token prediction depth D");
    v.opt("tie_embeddings", tie_embeddings, "output head shares the embedding");
  }
  void validate(config::Reader& r) {
    r.check(attention != AttentionKind::kMla || mla.has_value(), "mla",
            "attention is 'mla' but the 'mla' section is missing");
    r.check(attention != AttentionKind::kGqa || gqa.has_value(), "gqa",
            "attention is 'gqa' but the 'gqa' section is missing");
    r.check(dim > 0, "dim", "must be > 0");
    r.check(vocab_size > 0, "vocab_size", "must be > 0");
    r.check(n_layers > 0, "n_layers", "must be > 0");
    r.check(n_heads > 0, "n_heads", "must be > 0");
    r.check(mtp_depth >= 0, "mtp_depth", "must be >= 0");
    // Dense FFN layers: all of them without MoE, else the first n_dense_layers.
    r.check(inter_dim > 0 || (moe && moe->n_dense_layers == 0), "inter_dim",
            "must be > 0 (the model has dense FFN layers)");
    if (gqa && gqa->n_kv_heads > 0)
      r.check(n_heads % gqa->n_kv_heads == 0, "gqa.n_kv_heads",
              "must divide the " + std::to_string(n_heads) + " query heads, got " + std::to_string(gqa->n_kv_heads));
    if (moe) {
      r.check(moe->n_dense_layers <= n_layers, "moe.n_dense_layers",
              "the model has " + std::to_string(n_layers) + " layers, so at most " + std::to_string(n_layers) +
                  " of them can be dense, got " + std::to_string(moe->n_dense_layers));
      r.check(moe->n_activated_experts <= moe->n_routed_experts, "moe",
              "n_activated_experts exceeds n_routed_experts");
      r.check(moe->n_expert_groups > 0 && moe->n_routed_experts % moe->n_expert_groups == 0, "moe",
              "n_routed_experts must divide into n_expert_groups");
      r.check(moe->n_limited_groups <= moe->n_expert_groups, "moe",
              "n_limited_groups exceeds n_expert_groups");
    }
  }
};

}  // namespace codesim::models
