// FP8 backward GEMMs of a linear layer (models/fp8.hpp backward_dgrad and
// backward_wgrad), tiled as DeepSeek-V3's TR sec. 3.3 describes: E4M3, the
// output gradient in 1 x 128 tiles for dgrad, 128 tokens x 1 channel tiles
// for both operands of wgrad (whose depth is the tokens), 128 x 128 weight
// blocks, FP32 promotion every N_C = 128 products.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "models/fp8.hpp"

namespace codesim::models {
namespace {

std::vector<float> gaussian(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> g;
  std::vector<float> v(n);
  for (float& x : v) x = g(gen);
  return v;
}

// ||c - ref|| / ||ref|| over the elements, optionally only rows [r0, r1) of
// a row-major matrix with `cols` columns.
double normwise(const std::vector<float>& c, const std::vector<double>& ref, int cols, int r0 = 0,
                int r1 = -1) {
  const int rows = static_cast<int>(ref.size()) / cols;
  if (r1 < 0) r1 = rows;
  double e = 0, n = 0;
  for (int r = r0; r < r1; ++r)
    for (int j = 0; j < cols; ++j) {
      const size_t i = static_cast<size_t>(r) * static_cast<size_t>(cols) + static_cast<size_t>(j);
      e += (c[i] - ref[i]) * (c[i] - ref[i]);
      n += ref[i] * ref[i];
    }
  return std::sqrt(e / n);
}

std::vector<float> transpose(const std::vector<float>& a, int rows, int cols) {
  std::vector<float> t(a.size());
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c)
      t[static_cast<size_t>(c) * rows + static_cast<size_t>(r)] = a[static_cast<size_t>(r) * cols + static_cast<size_t>(c)];
  return t;
}

// Quantization error of E4M3 (3 fraction bits): a value's spacing is 2^-3
// of its binade, the rounding error uniform over +-half of it, so for values
// spread over the binade the relative RMS error is 2^-3 / sqrt(12) x E[1/x]
// (x in [1, 2), log-uniform: 1 / (2 ln 2) = 0.72) = 2.6%. A dot product of
// two such operands with independent errors carries sqrt(2) x 2.6% = 3.7%
// relative error in every term; summed with random signs the normwise error
// of the result is the same 3.7%. Band: +-0.4 points, about 10% (Gaussian
// values are not exactly log-uniform within a binade, and a tile's largest
// value maps to 448 exactly).
TEST(Fp8Backward, DgradErrorIsTheQuantizationError) {
  const int m = 64, k = 64, n = 1024;  // depth n
  const auto dy = gaussian(static_cast<size_t>(m) * n, 1);
  const auto w = gaussian(static_cast<size_t>(k) * n, 2);
  const auto ref = fp8::gemm_exact(dy, transpose(w, k, n), m, k, n);
  const auto dx = fp8::backward_dgrad(dy, w, m, k, n);
  const double e = normwise(dx, ref, k);
  std::printf("dgrad m=%d k=%d depth n=%d: normwise error vs FP32 %.3f%%\n", m, k, n, 100 * e);
  EXPECT_NEAR(e, 0.037, 0.004);
}

// Wgrad's depth is the tokens of the micro-batch (4096 in DeepSeek-V3's
// training): without promotion the whole depth accumulates in the tensor
// core's 13-fraction-bit register. Accumulation error alone (against the
// exact product of the quantized operands), zero-mean inputs: the register's
// truncation error grows like sqrt(depth) relative to the result
// (tests/models/fp8_test.cpp derives 0.234% at 4096 and 0.041% with
// promotion every 128); the ratio is sqrt(4096 / 128) = 5.7. Bands: +-25%
// around both, as in fp8_test.cpp (the alignment to a group's largest
// product and the sum's own truncation are not in the derivation).
TEST(Fp8Backward, WgradNeedsPromotionOverTheTokenDepth) {
  const int m = 4096, k = 16, n = 16;
  const auto x = gaussian(static_cast<size_t>(m) * k, 3);
  const auto dy = gaussian(static_cast<size_t>(m) * n, 4);
  // Exact product of the quantized operands, tiled as backward_wgrad tiles them.
  const auto qx = fp8::quantize(transpose(x, m, k), k, m, 1, 128, fp8::Format::kE4M3);
  const auto qdy = fp8::quantize(dy, m, n, 128, 1, fp8::Format::kE4M3);
  const auto exact_q = fp8::gemm_exact(qx.dequantized(), qdy.dequantized(), k, n, m);
  const auto off = fp8::backward_wgrad(x, dy, m, k, n, {13, 32, 0});
  const auto on = fp8::backward_wgrad(x, dy, m, k, n, {13, 32, 128});
  const double e_off = normwise(off, exact_q, n), e_on = normwise(on, exact_q, n);
  std::printf("wgrad depth %d tokens: accumulation error no promotion %.3f%%, N_C=128 %.3f%%\n", m,
              100 * e_off, 100 * e_on);
  EXPECT_NEAR(e_off, 0.00234, 0.25 * 0.00234);
  EXPECT_NEAR(e_on, 0.00041, 0.25 * 0.00041);
}

// Why 128 x 1 tiles along the tokens: one channel of X holds values R
// times the others (an outlier channel). Its tiles get their own scales, so
// every other channel keeps E4M3's relative precision (the dgrad test's
// 3.7%) whatever R is. With one scale per tensor the others are scaled to
// about 448 / (3.3 R) (3.3: the largest of 1,024 Gaussian draws), and once
// that falls below E4M3's smallest normal 2^-6 = 0.0156 they are subnormal,
// with absolute spacing 2^-9: a relative rounding error of about
// (2^-9 / sqrt(12)) / (448 / 3.3 R) = 0.4% x R / 1e3, i.e. ~4% extra at
// R = 1e4 and ~40% at R = 1e5. Measured on the rows of dW that belong to the
// normal channels. The tiled error does not depend on R at all (the other
// channels' tiles and scales are untouched): equal to the last bit. Per-tensor
// at R = 1e5: 40% +- 8 points (the estimate's E[1/x] over a Gaussian and the
// subnormal boundary are rough).
TEST(Fp8Backward, FineGrainedTilesIsolateAnOutlierChannel) {
  const int m = 1024, k = 16, n = 16;
  const auto dy = gaussian(static_cast<size_t>(m) * n, 6);
  std::vector<double> tiled_err;
  double tensor_at_1e5 = 0;
  for (float ratio : {1e3f, 1e4f, 1e5f}) {
    auto x = gaussian(static_cast<size_t>(m) * k, 5);
    for (int r = 0; r < m; ++r) x[static_cast<size_t>(r) * k] *= ratio;  // channel 0
    const auto ref = fp8::gemm_exact(transpose(x, m, k), dy, k, n, m);
    const auto tiled = fp8::backward_wgrad(x, dy, m, k, n);
    const auto tensor = fp8::backward_wgrad(x, dy, m, k, n, {}, true);
    const double e_tiled = normwise(tiled, ref, n, 1, k), e_tensor = normwise(tensor, ref, n, 1, k);
    std::printf("wgrad, outlier channel %.0ex, error on the other channels: 128x1 tiles %.2f%%, per-tensor "
                "scale %.2f%%\n",
                static_cast<double>(ratio), 100 * e_tiled, 100 * e_tensor);
    tiled_err.push_back(e_tiled);
    tensor_at_1e5 = e_tensor;
  }
  EXPECT_NEAR(tiled_err[0], 0.037, 0.004);  // the dgrad test's E4M3 rounding
  for (double e : tiled_err) EXPECT_DOUBLE_EQ(e, tiled_err[0]);
  EXPECT_NEAR(tensor_at_1e5, 0.40, 0.08);
}

TEST(Fp8Backward, BadShapesThrow) {
  const std::vector<float> a(10), b(12);
  EXPECT_THROW(fp8::backward_dgrad(a, b, 2, 3, 4), std::invalid_argument);
  EXPECT_THROW(fp8::backward_wgrad(a, b, 2, 3, 4), std::invalid_argument);
}

}  // namespace
}  // namespace codesim::models
