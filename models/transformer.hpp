// File: models/transformer.hpp
//
// The reference implementation of a whole model (Eigen, CPU, float32; the
// linear layers optionally in emulated FP8, ReferenceOptions::gemm), built
// from a ModelSpec with deterministic seeded random weights. It is what
// codesim's traces are computed from: every operator it runs is reported to an
// OpObserver (kind, shapes, FLOPs, bytes, precision; models/op_observer.hpp)
// together with each MoE layer's routing (token -> experts).
//
//   ReferenceOptions opt;  opt.seed = 7;
//   Transformer m(spec, opt);
//   OpLog log;
//   Logits out = m.forward(tokens, /*batch=*/2, &log);      // prefill, fresh cache
//   auto cache = m.make_cache(2);
//   m.forward(prompt, 2, *cache);                             // fill the cache
//   Logits next = m.forward(one_token_each, 2, *cache);       // decode one step
//
// Tokens are row-major [batch x seq_len] ids in [0, vocab_size). Logits are
// [batch*seq_len x vocab_size], one row per input position (row b*S + s
// predicts token s+1 of sequence b). Decoding with a cache gives the same
// logits as recomputing the whole sequence (up to float32 rounding).
//
// Weights are random (not trained): outputs have no linguistic meaning, but
// shapes, op counts, and routing statistics of random inputs are exact.
// The façade is Eigen-free; the implementation hides behind a pimpl.
// Use full-size specs only for counting (models/counts.hpp): a forward pass
// allocates every weight.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "models/model_spec.hpp"
#include "models/op_observer.hpp"
#include "models/reference_options.hpp"

namespace codesim::models {

// A dense row-major float matrix (logits).
struct Logits {
  int rows = 0;
  int cols = 0;
  std::vector<float> data;
  float at(int r, int c) const { return data[static_cast<size_t>(r) * static_cast<size_t>(cols) + static_cast<size_t>(c)]; }
};

// The KV cache of a batch of sequences, all of equal length.
class KvCache {
 public:
  ~KvCache();
  KvCache(KvCache&&) noexcept;
  KvCache& operator=(KvCache&&) noexcept;
  int batch() const;
  int len() const;  // cached positions per sequence
  // Floats cached per token per layer (MLA absorbed: kv_lora_rank + qk_rope;
  // naive: n_heads*(qk_nope + qk_rope + v); GQA: 2*n_kv_heads*head_dim).
  int64_t floats_per_token_per_layer() const;

 private:
  friend class Transformer;
  struct Impl;
  explicit KvCache(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class Transformer {
 public:
  Transformer(const ModelSpec& spec, ReferenceOptions options = {});
  ~Transformer();
  Transformer(Transformer&&) noexcept;
  Transformer& operator=(Transformer&&) noexcept;

  KvCache make_cache(int batch) const;
  // Runs tokens [batch x S] after the positions already in `cache` and
  // appends them to it. tokens.size() must be a multiple of cache.batch().
  Logits forward(std::span<const int32_t> tokens, KvCache& cache, OpObserver* observer = nullptr);
  // Same with a fresh cache (positions 0..S-1).
  Logits forward(std::span<const int32_t> tokens, int batch, OpObserver* observer = nullptr);

  // Training-style pass: main logits plus, for each MTP module k = 1..D,
  // logits [batch*(S-k) x vocab] where row b*(S-k) + i predicts token i+k+1.
  struct MtpOutput {
    Logits main;
    std::vector<Logits> mtp;
  };
  MtpOutput forward_with_mtp(std::span<const int32_t> tokens, int batch,
                             OpObserver* observer = nullptr);

  // Auxiliary-loss-free balancing step on every MoE layer of the main model
  // (not the MTP blocks): b_e += gamma * sign(mean_load - load_e) over the
  // tokens routed since the previous call.
  void update_expert_bias(float gamma);
  // Tokens routed to each expert since the last bias update, per MoE layer
  // of the main model (empty for dense layers).
  std::vector<std::vector<int64_t>> expert_load() const;

  const ModelSpec& spec() const;
  const ReferenceOptions& options() const;
  // Parameters held (embedding, head and MTP modules included; the head is
  // counted once when tied). Activated = with top_k routed experts per MoE layer.
  int64_t param_count() const;
  int64_t activated_param_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Tiny configs of the real shapes for tests and benchmarks.
// DeepSeek-style: 4 layers (1 dense), dim 256, 8 heads, MLA (q_lora 96,
// kv_lora 64, nope 32, rope 16, v 32), 16 routed experts in 4 groups (top-2
// groups, top-4), 1 shared, moe_inter 64, vocab 512, MTP depth 1.
ModelSpec tiny_deepseek_spec();
// LLaMA/Qwen-style GQA: 2 layers, dim 128, 8 heads, 2 KV heads, head_dim 16,
// qkv bias, inter 256, vocab 512.
ModelSpec tiny_gqa_spec();

}  // namespace codesim::models
