// File: models/layers.hpp
//
// Building blocks of the reference implementation, on Eigen, CPU, float32
// (linear layers optionally in emulated FP8 through models::linear):
// RMSNorm, RoPE (optionally YaRN-scaled), the SwiGLU FFN and grouped-query
// attention with a KV cache. Activations are row-major [tokens x features]
// matrices; a linear layer's weight is stored [in x out] so that y = x * W.
//
// Internal to models/: this header pulls in <Eigen/Core>. Code outside
// models/ uses the Eigen-free façade models/transformer.hpp.
//
// Numerics follow DeepSeek-V3's inference/model.py (RMSNorm eps 1e-6, RoPE on
// interleaved pairs (x[2i], x[2i+1]), YaRN frequency ramp and mscale); the
// code is written from the semantics, not copied.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "models/op_observer.hpp"
#include "models/reference_options.hpp"

namespace codesim::models {

using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vec = Eigen::VectorXf;

// Deterministic weight generator (SplitMix64). Portable: the same seed gives
// the same weights with any compiler or standard library (std::*_distribution
// is implementation-defined, so it is not used). One stream per component:
// WeightRng(seed, stream_id).
class WeightRng {
 public:
  WeightRng(uint64_t seed, uint64_t stream);
  uint64_t next_u64();
  // Uniform in [-1, 1).
  float symmetric();
  // A [rows x cols] matrix, uniform with variance gain^2 / fan_in where
  // fan_in = rows (the input dim of a weight stored [in x out]).
  Mat linear(int rows, int cols, float gain = 1.0f);
  // A vector uniform in [lo, hi).
  Vec uniform(int n, float lo, float hi);

 private:
  uint64_t state_;
};

// y = x W for a linear layer, x [M x K], W [K x N], in the arithmetic of
// `n` (models/reference_options.hpp). kFp32 is the plain Eigen product;
// kFp8E4M3 quantizes x (1x128 tiles) and W (128x128 blocks) to E4M3 and runs
// the emulated tensor-core GEMM (fp8::gemm) with promotion every
// n.promotion_interval. The single place where linear layers compute.
Mat linear(const Mat& x, const Mat& w, const LinearNumerics& n);

// The context a layer runs in: where to record ops (an optional observer,
// the layer index, a name prefix such as "attn.", the precision policy; a
// null observer costs nothing) and how its linear layers compute.
struct OpSink {
  OpObserver* observer = nullptr;
  int layer = 0;
  std::string prefix;
  PrecisionPolicy policy;
  LinearNumerics numerics;

  OpSink sub(const std::string& more) const {
    return {observer, layer, prefix + more, policy, numerics};
  }
  // Same numerics, records nothing (work recorded in aggregate elsewhere).
  OpSink silent() const { return {nullptr, layer, prefix, policy, numerics}; }
  // Precision recorded for linear-layer GEMMs: fp8_e4m3 when they run in
  // emulated FP8, else the policy's (modelled hardware) linear precision.
  Precision linear_precision() const;
  // y = x * W through models::linear, recorded as GEMM `name` {M, N, K} in
  // linear_precision().
  Mat linear(const std::string& name, const Mat& x, const Mat& w) const;
  // The same into an existing matrix. In float32 this is `dst = x * W`,
  // which Eigen evaluates with a different summation order in the last bits
  // than constructing a new matrix when rows are not a multiple of the SIMD
  // packet; call sites keep the form they had so float32 results stay
  // bit-identical to the code before FP8 emulation existed.
  void linear_into(Mat& dst, const std::string& name, const Mat& x, const Mat& w) const;
  // y[M x N] = x[M x K] * W[K x N]; inputs in linear_precision() (or `p` if given).
  void gemm(const std::string& name, int64_t m, int64_t n, int64_t k,
            std::optional<Precision> p = std::nullopt) const;
  // `batches` independent GEMMs with distinct weights (per-head products):
  // shape {m, n, k, batches}.
  void batched_gemm(const std::string& name, int64_t batches, int64_t m, int64_t n, int64_t k,
                    Precision p) const;
  void grouped_gemm(const std::string& name, int64_t rows, int64_t n, int64_t k,
                    int64_t experts_used) const;
  void elementwise(OpKind kind, const std::string& name, int64_t rows, int64_t cols,
                   double flops_per_element, int inputs = 1) const;
  // `batch` sequences, each with q_len new queries over kv_len keys;
  // `pairs` evaluated (query, key) pairs per sequence and head;
  // kv_elements_read: cache elements read per sequence.
  void attention(const std::string& name, int64_t batch, int64_t heads, int64_t q_len,
                 int64_t kv_len, int64_t d_qk, int64_t d_v, int64_t pairs,
                 int64_t kv_elements_read) const;
  void emit(OpRecord r) const;
};

// Root-mean-square norm over the last dim: y = x / sqrt(mean(x^2) + eps) * w.
class RmsNorm {
 public:
  explicit RmsNorm(int dim, float eps = 1e-6f);
  Mat forward(const Mat& x, const OpSink& sink, const std::string& name) const;
  Vec weight;
  float eps;
};

// Rotary position embedding on `dim` features, rotating interleaved pairs
// (x[2i], x[2i+1]) by angle pos * freq[i], freq[i] = theta^(-2i/dim)
// (YaRN-corrected when enabled).
class Rope {
 public:
  Rope(int dim, double theta, std::optional<YarnParams> yarn);
  int dim() const { return dim_; }
  // Rotates, in place, columns [col0 + h*stride, col0 + h*stride + dim) for
  // h in [0, heads) of each row r. Rows hold sequences of seq_len tokens
  // back to back; row r is at position start_pos + r % seq_len.
  void apply(Mat& x, int col0, int stride, int heads, int start_pos, int seq_len) const;
  // Attention-logit multiplier from YaRN (mscale^2 in DeepSeek's softmax
  // scale); 1 without YaRN.
  double softmax_mscale() const { return mscale2_; }
  const Vec& freqs() const { return freqs_; }

 private:
  int dim_;
  Vec freqs_;  // dim/2
  double mscale2_ = 1.0;
};

// SwiGLU FFN: y = (silu(x W1) * (x W3)) W2.
class SwigluFfn {
 public:
  SwigluFfn(int dim, int inter, WeightRng& rng);
  Mat forward(const Mat& x, const OpSink& sink) const;
  int64_t param_count() const;
  Mat w1, w3, w2;
};

// Attention processes queries in chunks of this many rows, each against only
// the keys it can see (start + chunk end), so causal prefill does about half
// the work of a full S x S score matrix.
inline constexpr int kAttentionRowChunk = 128;

// Masked softmax over each row of `s` in place: row r may see columns
// [0, first_masked(r)); the rest get probability 0.
void causal_softmax_rows(Mat& s, int start_pos);

// GQA KV cache for one layer and one sequence: rows are positions.
struct GqaCache {
  Mat k, v;  // [len x n_kv_heads*head_dim]
  int len() const { return static_cast<int>(k.rows()); }
};

// Grouped-query attention (LLaMA / Qwen): H query heads share Hkv key/value
// heads; RoPE on the full head dim; optional q/k/v biases (Qwen-2.5).
class GqaAttention {
 public:
  GqaAttention(int dim, int n_heads, int n_kv_heads, int head_dim, bool qkv_bias,
               const Rope& rope, WeightRng& rng);
  // x: [B*S x dim], B = caches.size() sequences of S new tokens each, at
  // positions caches[b].len().. (all caches have the same length). Appends S
  // positions to each cache; causal attention over cache + new.
  Mat forward(const Mat& x, std::span<GqaCache> caches, const OpSink& sink) const;
  int64_t param_count() const;

 private:
  int n_heads_, n_kv_heads_, head_dim_;
  const Rope* rope_;
  Mat wq_, wk_, wv_, wo_;
  Eigen::RowVectorXf bq_, bk_, bv_;
  bool bias_;
};

}  // namespace codesim::models
