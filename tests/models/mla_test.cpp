// MLA: the naive (decompressed K/V cache) and absorbed (latent cache) paths
// compute the same attention; the absorbed cache is kv_lora_rank + qk_rope
// floats per token per layer. Also GQA, RMSNorm and RoPE basics.
#include <gtest/gtest.h>

#include <cmath>

#include "models/layers.hpp"
#include "models/mla.hpp"
#include "models/transformer.hpp"
#include "tests/models/test_support.hpp"

namespace codesim::models {
namespace {

using test_support::with_seed;

Mat random_input(int rows, int cols, uint64_t seed) {
  WeightRng r(seed, 0);
  Mat x(rows, cols);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = r.symmetric();
  return x;
}

double rel_err(const Mat& a, const Mat& b) { return (a - b).norm() / b.norm(); }

TEST(Mla, NaiveAndAbsorbedAgreeOnRandomInputs) {
  const ModelSpec spec = tiny_deepseek_spec();
  const Rope rope(spec.mla->qk_rope_head_dim, 10000.0, std::nullopt);
  WeightRng rng(11, 1);
  const MlaAttention mla(spec.dim, spec.n_heads, *spec.mla, rope, rng);
  const int B = 2, S = 24;
  const Mat x = random_input(B * S, spec.dim, 5);
  std::vector<MlaCache> naive(B), absorbed(B);
  const Mat yn = mla.forward(x, naive, MlaPath::kNaive, {});
  const Mat ya = mla.forward(x, absorbed, MlaPath::kAbsorbed, {});
  const double prefill = rel_err(ya, yn);
  // Then decode 4 steps one token at a time through both caches.
  double decode = 0;
  for (int step = 0; step < 4; ++step) {
    const Mat xt = random_input(B, spec.dim, 100 + step);
    decode = std::max(decode, rel_err(mla.forward(xt, absorbed, MlaPath::kAbsorbed, {}),
                                      mla.forward(xt, naive, MlaPath::kNaive, {})));
  }
  std::printf("MLA naive vs absorbed, relative error (Frobenius): prefill %.3g, decode %.3g\n",
              prefill, decode);
  // float32 has a 2^-24 = 6e-8 unit roundoff; both paths sum over at most a
  // few hundred terms per dot product, so their difference is ~1e-7-1e-6.
  EXPECT_LT(prefill, 1e-5);
  EXPECT_LT(decode, 1e-5);

  // Cache contents: absorbed holds c_kv (kv_lora_rank) + k_pe (qk_rope) per
  // token; naive holds H*(nope+rope) + H*v.
  EXPECT_EQ(absorbed[0].floats_per_token(), spec.mla->kv_lora_rank + spec.mla->qk_rope_head_dim);
  EXPECT_EQ(absorbed[0].len(), S + 4);
  EXPECT_EQ(naive[0].floats_per_token(),
            spec.n_heads * (spec.mla->qk_nope_head_dim + spec.mla->qk_rope_head_dim + spec.mla->v_head_dim));
}

TEST(Mla, WithoutQueryCompressionAndWithYarn) {
  // DeepSeek-V2-Lite style (q_lora_rank 0) and a YaRN-extended RoPE.
  ModelSpec spec = tiny_deepseek_spec();
  spec.mla->q_lora_rank = 0;
  const Rope rope(spec.mla->qk_rope_head_dim, 10000.0, YarnParams{64, 4.0, 32, 1, 1.0, 256});
  EXPECT_GT(rope.softmax_mscale(), 1.0);
  WeightRng rng(12, 1);
  const MlaAttention mla(spec.dim, spec.n_heads, *spec.mla, rope, rng);
  const Mat x = random_input(40, spec.dim, 6);
  std::vector<MlaCache> naive(1), absorbed(1);
  EXPECT_LT(rel_err(mla.forward(x, absorbed, MlaPath::kAbsorbed, {}),
                    mla.forward(x, naive, MlaPath::kNaive, {})), 1e-5);
}

TEST(Mla, WholeModelCacheHoldsLatentOnly) {
  // Through the façade: after a prefill the absorbed KV cache stores exactly
  // kv_lora_rank + qk_rope floats per token per layer (V3: 512 + 64 = 576).
  const ModelSpec spec = tiny_deepseek_spec();
  Transformer m(spec, with_seed(3));
  KvCache cache = m.make_cache(1);
  std::vector<int32_t> tokens(10);
  for (int i = 0; i < 10; ++i) tokens[static_cast<size_t>(i)] = i * 37 % spec.vocab_size;
  m.forward(tokens, cache);
  EXPECT_EQ(cache.len(), 10);
  EXPECT_EQ(cache.floats_per_token_per_layer(), spec.mla->kv_lora_rank + spec.mla->qk_rope_head_dim);

  Transformer naive(spec, with_seed(3, MlaPath::kNaive));
  KvCache nc = naive.make_cache(1);
  const Logits ln = naive.forward(tokens, nc);
  const Logits la = m.forward(tokens, 1);
  double num = 0, den = 0;
  for (size_t i = 0; i < la.data.size(); ++i) {
    num += (la.data[i] - ln.data[i]) * (la.data[i] - ln.data[i]);
    den += ln.data[i] * ln.data[i];
  }
  std::printf("Whole tiny model, naive vs absorbed logits: relative error %.3g\n", std::sqrt(num / den));
  EXPECT_LT(std::sqrt(num / den), 1e-5);
}

TEST(Layers, RmsNormAndRope) {
  RmsNorm n(4);
  Mat x(1, 4);
  x << 1, -1, 1, -1;
  const Mat y = n.forward(x * 3.0f, {}, "n");
  EXPECT_NEAR(y(0, 0), 1.0f, 1e-5);  // rms of (3,-3,3,-3) is 3
  // RoPE is a rotation: norms are preserved and position 0 is the identity;
  // q.k after RoPE depends only on the position difference.
  const Rope rope(8, 10000.0, std::nullopt);
  Mat q = random_input(1, 8, 1), k = random_input(1, 8, 2);
  Mat q0 = q, k0 = k;
  rope.apply(q0, 0, 8, 1, 0, 1);
  EXPECT_LT((q0 - q).norm(), 1e-7);
  Mat qa = q, ka = k, qb = q, kb = k;
  rope.apply(qa, 0, 8, 1, 7, 1);
  rope.apply(ka, 0, 8, 1, 3, 1);
  rope.apply(qb, 0, 8, 1, 104, 1);
  rope.apply(kb, 0, 8, 1, 100, 1);
  EXPECT_NEAR(qa.norm(), q.norm(), 1e-5);
  EXPECT_NEAR(qa.row(0).dot(ka.row(0)), qb.row(0).dot(kb.row(0)), 1e-4);

  // YaRN (original context 64, factor 4, beta_fast 32, beta_slow 1, dim 16,
  // theta 1e4): the correction range is dims [0, 3] (d(r) = 16 ln(64 /
  // (2 pi r)) / (2 ln 1e4): d(32) = -0.99 -> 0, d(1) = 2.02 -> 3). Dim 0
  // keeps its frequency, dims >= 3 are interpolated by 1/4, in between a
  // linear ramp; mscale = 0.1 ln 4 + 1.
  const Rope plain(16, 10000.0, std::nullopt);
  const Rope yarn(16, 10000.0, YarnParams{64, 4.0, 32, 1, 1.0, 256});
  EXPECT_FLOAT_EQ(yarn.freqs()[0], plain.freqs()[0]);
  EXPECT_FLOAT_EQ(yarn.freqs()[1], plain.freqs()[1] * (2.0f / 3 + 1.0f / 3 / 4));
  for (int i = 3; i < 8; ++i) EXPECT_FLOAT_EQ(yarn.freqs()[i], plain.freqs()[i] / 4);
  const double m = 0.1 * std::log(4.0) + 1.0;
  EXPECT_NEAR(yarn.softmax_mscale(), m * m, 1e-12);
}

TEST(Layers, GqaPrefillEqualsIncremental) {
  const Rope rope(16, 10000.0, std::nullopt);
  WeightRng rng(4, 1);
  const GqaAttention attn(64, 8, 2, 16, true, rope, rng);
  const Mat x = random_input(12, 64, 9);
  std::vector<GqaCache> full(1), inc(1);
  const Mat yf = attn.forward(x, full, {});
  Mat yi(12, 64);
  for (int t = 0; t < 12; ++t) yi.row(t) = attn.forward(x.middleRows(t, 1), inc, {});
  EXPECT_LT(rel_err(yi, yf), 1e-5);
  EXPECT_EQ(full[0].k.cols() + full[0].v.cols(), 2 * 2 * 16);
  // Longer than one attention row chunk (kAttentionRowChunk = 128), split at
  // an odd place: prefill 200 == prefill 130 + prefill 70.
  const Mat xl = random_input(200, 64, 10);
  std::vector<GqaCache> one(1), two(1);
  const Mat y1 = attn.forward(xl, one, {});
  Mat y2(200, 64);
  y2.topRows(130) = attn.forward(xl.topRows(130), two, {});
  y2.bottomRows(70) = attn.forward(xl.bottomRows(70), two, {});
  EXPECT_LT(rel_err(y2, y1), 1e-5);
}

}  // namespace
}  // namespace codesim::models
