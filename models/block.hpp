// File: models/block.hpp
//
// One transformer block of the reference implementation (pre-norm):
//   h = x + Attn(RMSNorm(x));  y = h + FFN(RMSNorm(h))
// Attn is MLA or GQA per the spec; FFN is DeepSeekMoE from layer
// n_dense_layers on when the spec has a `moe` section, else a dense SwiGLU.
// Internal to models/ (Eigen).
#pragma once

#include <algorithm>
#include <memory>
#include <optional>
#include <vector>

#include "models/layers.hpp"
#include "models/mla.hpp"
#include "models/model_spec.hpp"
#include "models/moe.hpp"

namespace codesim::models {

// The KV cache of one block for a batch of sequences.
struct LayerCache {
  std::vector<MlaCache> mla;
  std::vector<GqaCache> gqa;
  explicit LayerCache(int batch) : mla(static_cast<size_t>(batch)), gqa(static_cast<size_t>(batch)) {}
  int len() const { return std::max(mla.empty() ? 0 : mla[0].len(), gqa.empty() ? 0 : gqa[0].len()); }
};

class Block {
 public:
  // `moe_ffn`: use the MoE FFN (requires spec.moe).
  Block(const ModelSpec& spec, bool moe_ffn, const Rope& rope, WeightRng& rng);
  // x: [B*S x dim] with B = batch of cache. `sink` carries the layer index.
  Mat forward(const Mat& x, LayerCache& cache, MlaPath path, const NodeLimit& limit,
              const OpSink& sink);
  MoeLayer* moe() { return moe_ ? &*moe_ : nullptr; }
  const MoeLayer* moe() const { return moe_ ? &*moe_ : nullptr; }
  int64_t param_count() const;
  int64_t activated_param_count() const;

 private:
  RmsNorm attn_norm_, ffn_norm_;
  std::optional<MlaAttention> mla_;
  std::optional<GqaAttention> gqa_;
  std::optional<SwigluFfn> dense_;
  std::optional<MoeLayer> moe_;
};

}  // namespace codesim::models
