#include "models/mla.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace codesim::models {

int64_t MlaCache::floats_per_token() const {
  return static_cast<int64_t>(k.cols() + v.cols() + kv.cols() + pe.cols());
}

MlaAttention::MlaAttention(int dim, int n_heads, const MlaSpec& spec, const Rope& rope,
                           WeightRng& rng)
    : n_heads_(n_heads),
      s_(spec),
      rope_(&rope),
      q_norm_(std::max(spec.q_lora_rank, 1)),
      kv_norm_(spec.kv_lora_rank) {
  const int qk = spec.qk_nope_head_dim + spec.qk_rope_head_dim;
  if (spec.q_lora_rank > 0) {
    wq_a_ = rng.linear(dim, spec.q_lora_rank);
    wq_b_ = rng.linear(spec.q_lora_rank, n_heads * qk);
  } else {
    wq_ = rng.linear(dim, n_heads * qk);
  }
  wkv_a_ = rng.linear(dim, spec.kv_lora_rank + spec.qk_rope_head_dim);
  wkv_b_ = rng.linear(spec.kv_lora_rank, n_heads * (spec.qk_nope_head_dim + spec.v_head_dim));
  wo_ = rng.linear(n_heads * spec.v_head_dim, dim);
}

int64_t MlaAttention::param_count() const {
  int64_t n = wq_a_.size() + wq_b_.size() + wq_.size() + wkv_a_.size() + wkv_b_.size() +
              wo_.size() + kv_norm_.weight.size();
  if (s_.q_lora_rank > 0) n += q_norm_.weight.size();
  return n;
}

Mat MlaAttention::forward(const Mat& x, std::span<MlaCache> caches, MlaPath path,
                          const OpSink& sink) const {
  const int rows = static_cast<int>(x.rows());
  const int B = static_cast<int>(caches.size());
  const int S = rows / B;
  const int H = n_heads_;
  const int nope = s_.qk_nope_head_dim, rope = s_.qk_rope_head_dim, vd = s_.v_head_dim;
  const int kvr = s_.kv_lora_rank;
  const int qk = nope + rope;
  const int start = caches[0].len();
  const int T = start + S;

  // Queries.
  Mat q;
  if (s_.q_lora_rank > 0) {
    const Mat cq = sink.linear("wq_a", x, wq_a_);
    sink.linear_into(q, "wq_b", q_norm_.forward(cq, sink, "q_norm"), wq_b_);
  } else {
    sink.linear_into(q, "wq", x, wq_);
  }
  rope_->apply(q, nope, qk, H, start, S);

  // Compressed KV and the decoupled RoPE key.
  const Mat kv_full = sink.linear("wkv_a", x, wkv_a_);
  const Mat c = kv_norm_.forward(kv_full.leftCols(kvr), sink, "kv_norm");
  Mat kpe = kv_full.rightCols(rope);
  rope_->apply(kpe, 0, rope, 1, start, S);
  sink.elementwise(OpKind::kRope, "rope", rows, static_cast<int64_t>(H + 1) * rope, 3.0);

  const float scale =
      static_cast<float>(rope_->softmax_mscale() / std::sqrt(static_cast<double>(qk)));
  const int64_t pairs = static_cast<int64_t>(S) * start + static_cast<int64_t>(S) * (S + 1) / 2;
  Mat out(rows, H * vd);

  if (path == MlaPath::kNaive) {
    const Mat kvb = sink.linear("wkv_b", c, wkv_b_);  // [rows x H*(nope+v)]
    for (int b = 0; b < B; ++b) {
      MlaCache& cache = caches[static_cast<size_t>(b)];
      cache.k.conservativeResize(T, H * qk);
      cache.v.conservativeResize(T, H * vd);
      for (int h = 0; h < H; ++h) {
        cache.k.block(start, h * qk, S, nope) = kvb.block(b * S, h * (nope + vd), S, nope);
        cache.k.block(start, h * qk + nope, S, rope) = kpe.middleRows(b * S, S);
        cache.v.block(start, h * vd, S, vd) = kvb.block(b * S, h * (nope + vd) + nope, S, vd);
      }
      for (int h = 0; h < H; ++h)
        for (int r0 = 0; r0 < S; r0 += kAttentionRowChunk) {
          const int n = std::min(kAttentionRowChunk, S - r0), vis = start + r0 + n;
          Mat sc = (q.block(b * S + r0, h * qk, n, qk) * cache.k.block(0, h * qk, vis, qk).transpose()) * scale;
          causal_softmax_rows(sc, start + r0);
          out.block(b * S + r0, h * vd, n, vd) = sc * cache.v.block(0, h * vd, vis, vd);
        }
    }
    sink.attention("core", B, H, S, T, qk, vd, pairs, static_cast<int64_t>(T) * H * (qk + vd));
  } else {
    // Absorb W_UK into the queries of all sequences at once: [rows x kvr] per head.
    std::vector<Mat> q_abs(static_cast<size_t>(H));
    for (int h = 0; h < H; ++h)
      q_abs[static_cast<size_t>(h)] =
          q.middleCols(h * qk, nope) * wkv_b_.middleCols(h * (nope + vd), nope).transpose();
    sink.batched_gemm("absorb_q", H, rows, kvr, nope, sink.policy.attention);
    Mat lat(rows, static_cast<Eigen::Index>(H) * kvr);
    for (int b = 0; b < B; ++b) {
      MlaCache& cache = caches[static_cast<size_t>(b)];
      cache.kv.conservativeResize(T, kvr);
      cache.pe.conservativeResize(T, rope);
      cache.kv.bottomRows(S) = c.middleRows(b * S, S);
      cache.pe.bottomRows(S) = kpe.middleRows(b * S, S);
      for (int h = 0; h < H; ++h)
        for (int r0 = 0; r0 < S; r0 += kAttentionRowChunk) {
          const int n = std::min(kAttentionRowChunk, S - r0), vis = start + r0 + n;
          Mat sc = (q_abs[static_cast<size_t>(h)].middleRows(b * S + r0, n) * cache.kv.topRows(vis).transpose() +
                    q.block(b * S + r0, h * qk + nope, n, rope) * cache.pe.topRows(vis).transpose()) * scale;
          causal_softmax_rows(sc, start + r0);
          lat.block(b * S + r0, static_cast<Eigen::Index>(h) * kvr, n, kvr) = sc * cache.kv.topRows(vis);
        }
    }
    sink.attention("core", B, H, S, T, kvr + rope, kvr, pairs, static_cast<int64_t>(T) * (kvr + rope));
    // Absorb W_UV into the output: per head [rows x kvr] x [kvr x v].
    for (int h = 0; h < H; ++h)
      out.middleCols(h * vd, vd) = lat.middleCols(static_cast<Eigen::Index>(h) * kvr, kvr) *
                                   wkv_b_.middleCols(h * (nope + vd) + nope, vd);
    sink.batched_gemm("absorb_o", H, rows, vd, kvr, sink.policy.attention);
  }
  return sink.linear("wo", out, wo_);
}

}  // namespace codesim::models
