// File: models/mla.hpp
//
// Multi-head latent attention (DeepSeek-V2/V3), with low-rank query and KV
// compression and a decoupled RoPE key shared by all heads:
//
//   c_q  = RMSNorm(x W_DQ)                     [S x q_lora_rank]   (or q = x W_Q when q_lora_rank = 0)
//   q    = c_q W_UQ  -> per head [q_nope | q_pe]  (nope, rope dims)
//   [c_kv | k_pe] = x W_DKV_KR                 [S x (kv_lora_rank + rope)]
//   c_kv = RMSNorm(c_kv); k_pe, q_pe get RoPE
//   W_UKV = [W_UK_h | W_UV_h] per head          [kv_lora_rank x H*(nope + v)]
//
// Two paths that compute the same function:
//  * kNaive: k_nope = c_kv W_UK, v = c_kv W_UV are materialised and cached
//    (H*(nope+rope) + H*v floats per token);
//  * kAbsorbed: W_UK is folded into the query (q_nope W_UK_h^T, dimension
//    kv_lora_rank) and W_UV into the output, so the cache holds only c_kv and
//    k_pe: kv_lora_rank + rope floats per token per layer.
// Softmax scale: 1/sqrt(nope + rope), times YaRN's mscale^2 when enabled.
#pragma once

#include <algorithm>

#include "models/layers.hpp"
#include "models/model_spec.hpp"

namespace codesim::models {

// MlaPath is declared in models/reference_options.hpp.

// Per-layer, per-sequence MLA cache. Which matrices fill depends on the path.
struct MlaCache {
  Mat k, v;      // naive: [len x H*(nope+rope)], [len x H*v]
  Mat kv, pe;    // absorbed: [len x kv_lora_rank], [len x rope]
  int len() const { return static_cast<int>(std::max(k.rows(), kv.rows())); }
  // Floats held per cached token (the quantity the absorbed path minimises).
  int64_t floats_per_token() const;
};

class MlaAttention {
 public:
  MlaAttention(int dim, int n_heads, const MlaSpec& spec, const Rope& rope, WeightRng& rng);
  // x: [B*S x dim], B = caches.size() sequences of S new tokens each, at
  // positions caches[b].len().. (all caches equally long). Appends S
  // positions to each cache (in the layout of `path`); returns [B*S x dim].
  // A cache must always be used with the same path.
  Mat forward(const Mat& x, std::span<MlaCache> caches, MlaPath path, const OpSink& sink) const;
  int64_t param_count() const;

 private:
  int n_heads_;
  MlaSpec s_;
  const Rope* rope_;
  Mat wq_a_, wq_b_, wq_;  // wq_ only when q_lora_rank == 0
  RmsNorm q_norm_;
  Mat wkv_a_;
  RmsNorm kv_norm_;
  Mat wkv_b_;  // [kv_lora_rank x H*(nope+v)], head h at columns h*(nope+v)
  Mat wo_;
};

}  // namespace codesim::models
