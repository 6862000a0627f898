// FP8 emulation: bit-exact rounding of E4M3/E5M2, fine-grained scaling, the
// limited-precision accumulator with and without N_C = 128 promotion, LogFMT.
#include "models/fp8.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>

namespace fp8 = codesim::models::fp8;
using fp8::Format;

TEST(Fp8, E4M3RoundingOnKnownValues) {
  // E4M3fn: 1 sign, 4 exponent (bias 7), 3 fraction bits; max 1.75 * 2^8.
  EXPECT_EQ(fp8::max_finite(Format::kE4M3), 448.0f);
  EXPECT_EQ(fp8::min_subnormal(Format::kE4M3), std::ldexp(1.0f, -9));
  EXPECT_EQ(fp8::round(1.0f, Format::kE4M3), 1.0f);
  // Spacing in [1, 2) is 2^-3: 1.0625 is a tie -> even (1.0); 1.1875 -> 1.25.
  EXPECT_EQ(fp8::round(1.0625f, Format::kE4M3), 1.0f);
  EXPECT_EQ(fp8::round(1.1875f, Format::kE4M3), 1.25f);
  EXPECT_EQ(fp8::round(1.07f, Format::kE4M3), 1.125f);
  EXPECT_EQ(fp8::round(-3.3f, Format::kE4M3), -3.25f);
  // Spacing in [256, 448] is 32: 464 is a tie between 448 (fraction 110,
  // even) and 480 (not finite) -> 448; beyond saturates or becomes NaN.
  EXPECT_EQ(fp8::round(464.0f, Format::kE4M3), 448.0f);
  EXPECT_EQ(fp8::round(1000.0f, Format::kE4M3), 448.0f);
  EXPECT_EQ(fp8::round(-1e9f, Format::kE4M3), -448.0f);
  EXPECT_TRUE(std::isnan(fp8::round(1000.0f, Format::kE4M3, /*saturate=*/false)));
  EXPECT_EQ(fp8::round(460.0f, Format::kE4M3, false), 448.0f);
  // Subnormals: multiples of 2^-9 below 2^-6. 2^-10 is a tie -> 0 (even);
  // 3 * 2^-10 is a tie between 1 and 2 quanta -> 2 * 2^-9.
  EXPECT_EQ(fp8::round(std::ldexp(1.0f, -10), Format::kE4M3), 0.0f);
  EXPECT_EQ(fp8::round(3 * std::ldexp(1.0f, -10), Format::kE4M3), std::ldexp(1.0f, -8));
  EXPECT_EQ(fp8::round(5 * std::ldexp(1.0f, -9), Format::kE4M3), 5 * std::ldexp(1.0f, -9));
  // Codes: 1.0 = 0 0111 000; 448 = 0 1111 110; min subnormal = 0x01.
  EXPECT_EQ(fp8::encode(1.0f, Format::kE4M3), 0x38);
  EXPECT_EQ(fp8::encode(448.0f, Format::kE4M3), 0x7E);
  EXPECT_EQ(fp8::encode(-448.0f, Format::kE4M3), 0xFE);
  EXPECT_EQ(fp8::encode(std::ldexp(1.0f, -9), Format::kE4M3), 0x01);
  EXPECT_EQ(fp8::encode(std::ldexp(1.0f, -6), Format::kE4M3), 0x08);
  EXPECT_TRUE(std::isnan(fp8::decode(0x7F, Format::kE4M3)));
}

TEST(Fp8, E5M2RoundingOnKnownValues) {
  // E5M2: bias 15, 2 fraction bits, max 1.75 * 2^15, infinity.
  EXPECT_EQ(fp8::max_finite(Format::kE5M2), 57344.0f);
  EXPECT_EQ(fp8::min_subnormal(Format::kE5M2), std::ldexp(1.0f, -16));
  // Spacing in [1, 2) is 0.25: 1.125 tie -> 1.0; 1.375 tie -> 1.5.
  EXPECT_EQ(fp8::round(1.125f, Format::kE5M2), 1.0f);
  EXPECT_EQ(fp8::round(1.375f, Format::kE5M2), 1.5f);
  EXPECT_EQ(fp8::round(60000.0f, Format::kE5M2), 57344.0f);
  // 61440 is the tie between 57344 and 65536 (= infinity): to even -> inf.
  EXPECT_TRUE(std::isinf(fp8::round(61440.0f, Format::kE5M2, false)));
  EXPECT_EQ(fp8::round(61439.0f, Format::kE5M2, false), 57344.0f);
  EXPECT_EQ(fp8::round(std::ldexp(3.0f, -17), Format::kE5M2), std::ldexp(1.0f, -15));
  EXPECT_EQ(fp8::encode(1.0f, Format::kE5M2), 0x3C);
  EXPECT_EQ(fp8::encode(57344.0f, Format::kE5M2), 0x7B);
  EXPECT_EQ(fp8::encode(std::ldexp(1.0f, -16), Format::kE5M2), 0x01);
  EXPECT_EQ(fp8::encode(1e9f, Format::kE5M2, false), 0x7C);
  EXPECT_TRUE(std::isinf(fp8::decode(0x7C, Format::kE5M2)));
}

TEST(Fp8, EncodeDecodeRoundTripsEveryCode) {
  for (Format f : {Format::kE4M3, Format::kE5M2})
    for (int c = 0; c < 256; ++c) {
      const float v = fp8::decode(static_cast<uint8_t>(c), f);
      if (std::isnan(v) || std::isinf(v)) continue;
      EXPECT_EQ(fp8::round(v, f), v) << c;
      if (v != 0) {
        EXPECT_EQ(fp8::encode(v, f), c) << c;
      }
    }
}

TEST(Fp8, FineGrainedScalingTiles) {
  // A 2 x 256 activation: 4 tiles of 1 x 128, each scaled by amax / 448.
  std::vector<float> x(2 * 256);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i % 7) + 1) * (i < 128 ? 1.0f : 100.0f);
  const auto q = fp8::quantize_activation(x, 2, 256);
  ASSERT_EQ(q.scales.size(), 4u);
  EXPECT_FLOAT_EQ(q.scales[0], 7.0f / 448.0f);
  EXPECT_FLOAT_EQ(q.scales[1], 700.0f / 448.0f);
  // Each tile's largest element maps to 448 exactly and dequantizes exactly.
  EXPECT_EQ(q.q[6], 448.0f);
  EXPECT_FLOAT_EQ(q.dequant(0, 6), 7.0f);
  // Weights: 128 x 128 blocks.
  std::vector<float> w(256 * 130, 1.0f);
  const auto qw = fp8::quantize_weight(w, 256, 130);
  EXPECT_EQ(qw.scales.size(), 4u);  // 2 x 2 blocks (130 columns -> 2)
}

namespace {

struct GemmErrors {
  double quant = 0, no_promotion = 0, promotion = 0;   // max elementwise relative, vs FP32
  double accum_no_promotion = 0, accum_promotion = 0;  // vs exact product of the FP8 inputs
};

// M x N outputs of K-long dot products of positive random inputs, the
// regime where truncation errors add up instead of cancelling (activations
// after SwiGLU / softmax are mostly positive).
GemmErrors measure(int m, int n, int k, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> a(static_cast<size_t>(m) * k), b(static_cast<size_t>(k) * n);
  for (float& v : a) v = u(gen);
  for (float& v : b) v = u(gen);
  const auto qa = fp8::quantize_activation(a, m, k);
  const auto qb = fp8::quantize_weight(b, k, n);
  const auto ref = fp8::gemm_exact(a, b, m, n, k);
  const auto deq = fp8::gemm_exact(qa.dequantized(), qb.dequantized(), m, n, k);
  const auto c0 = fp8::gemm(qa, qb, {13, 32, 0});
  const auto c1 = fp8::gemm(qa, qb, {13, 32, 128});
  GemmErrors e;
  for (size_t i = 0; i < ref.size(); ++i) {
    e.quant = std::max(e.quant, std::fabs(deq[i] - ref[i]) / std::fabs(ref[i]));
    e.no_promotion = std::max(e.no_promotion, std::fabs(c0[i] - ref[i]) / std::fabs(ref[i]));
    e.promotion = std::max(e.promotion, std::fabs(c1[i] - ref[i]) / std::fabs(ref[i]));
    e.accum_no_promotion = std::max(e.accum_no_promotion, std::fabs(c0[i] - deq[i]) / std::fabs(deq[i]));
    e.accum_promotion = std::max(e.accum_promotion, std::fabs(c1[i] - deq[i]) / std::fabs(deq[i]));
  }
  return e;
}

}  // namespace

TEST(Fp8, GemmAccumulationErrorAtK4096) {
  // DeepSeek-V3 TR sec. 3.3: with K = 4096 the limited (~14-bit) tensor-core
  // accumulation gives a maximum relative error of "nearly 2%" on random
  // matrices (distribution not stated); promoting to FP32 every N_C = 128
  // elements fixes it. Our emulation, all-positive inputs (worst case):
  const GemmErrors e = measure(16, 16, 4096, 42);
  std::printf("K=4096 max rel. error vs FP32: quantization only %.4f%%, no promotion %.4f%%, "
              "promotion N_C=128 %.4f%% (accumulation only: %.4f%% / %.4f%%)\n",
              100 * e.quant, 100 * e.no_promotion, 100 * e.promotion,
              100 * e.accum_no_promotion, 100 * e.accum_promotion);
  // Physics of the band. Each product is aligned to the running sum's leading
  // bit 2^E and truncated to 13 fraction bits: it loses on average half a
  // quantum, q/2 = 2^(E-14), and q/acc averages ln2 * 2^-13 (acc uniform in
  // log over [2^E, 2^(E+1))). With positive products all losses have one sign,
  // and the sum after k of K products is k/K of the final one, so the final
  // relative loss is sum_k (k/K) * 0.5 * ln2 * 2^-13 = K/2 * 0.5 * ln2 * 2^-13
  //   = 8.7% at K = 4096   (measured 8.2%),
  // and with promotion the tensor core only ever holds 128 products:
  //   128/2 * 0.5 * ln2 * 2^-13 = 0.27%   (measured 0.23%).
  // Bands: +-30% around those predictions (the per-group renormalisation and
  // the alignment to the group's largest term shift them a little).
  EXPECT_GT(e.accum_no_promotion, 0.061);
  EXPECT_LT(e.accum_no_promotion, 0.113);
  EXPECT_GT(e.accum_promotion, 0.0019);
  EXPECT_LT(e.accum_promotion, 0.0035);
  // Quantization itself (E4M3, 1x128 / 128x128 scales) costs ~2^-4 relative
  // per element, averaging out over K: far below the accumulation error.
  EXPECT_LT(e.quant, 0.005);
}

TEST(Fp8, GemmAccumulationErrorZeroMeanInputs) {
  // Zero-mean inputs: truncation errors have random signs and cancel like a
  // random walk, so the normwise error is ~sqrt(K) smaller than the
  // positive-input case (element-wise maxima are meaningless here, outputs
  // cross zero). The TR's "nearly 2%" lies between this (~0.2%) and the
  // worst case above (~8%).
  std::mt19937 gen(7);
  std::normal_distribution<float> g;
  const int m = 16, n = 16, k = 4096;
  std::vector<float> a(static_cast<size_t>(m) * k), b(static_cast<size_t>(k) * n);
  for (float& v : a) v = g(gen);
  for (float& v : b) v = g(gen);
  const auto qa = fp8::quantize_activation(a, m, k);
  const auto qb = fp8::quantize_weight(b, k, n);
  const auto deq = fp8::gemm_exact(qa.dequantized(), qb.dequantized(), m, n, k);
  auto normwise = [&](int promotion) {
    const auto c = fp8::gemm(qa, qb, {13, 32, promotion});
    double num = 0, den = 0;
    for (size_t i = 0; i < c.size(); ++i) {
      num += (c[i] - deq[i]) * (c[i] - deq[i]);
      den += deq[i] * deq[i];
    }
    return std::sqrt(num / den);
  };
  const double e0 = normwise(0), e1 = normwise(128);
  std::printf("K=4096 zero-mean inputs, normwise accumulation error: no promotion %.4f%%, "
              "promotion %.4f%%\n", 100 * e0, 100 * e1);
  EXPECT_LT(e0, 0.01);
  EXPECT_LT(e1 * 3, e0);
}

TEST(Fp8, GemmWithWideAccumulatorIsExactUpToFp32) {
  // With 40 fraction bits the emulation reduces to an exact sum of the
  // dequantized products (a check of the accumulation code, not of FP8).
  std::vector<float> a(4 * 256), b(256 * 4);
  std::mt19937 gen(1);
  std::normal_distribution<float> g;
  for (float& v : a) v = g(gen);
  for (float& v : b) v = g(gen);
  const auto qa = fp8::quantize_activation(a, 4, 256);
  const auto qb = fp8::quantize_weight(b, 256, 4);
  const auto deq = fp8::gemm_exact(qa.dequantized(), qb.dequantized(), 4, 4, 256);
  const auto c = fp8::gemm(qa, qb, {40, 32, 0});
  for (size_t i = 0; i < c.size(); ++i) EXPECT_NEAR(c[i], deq[i], 1e-5 * (1 + std::fabs(deq[i])));
}

TEST(Fp8, LogFmtCodesAndError) {
  // Per 1x128 tile: zero -> code 0, min -> code 1, max -> code 2^(n-1)-1.
  std::vector<float> t(128);
  std::mt19937 gen(3);
  std::normal_distribution<float> g;
  for (float& v : t) v = g(gen);
  t[0] = 0.0f;
  const auto enc = fp8::logfmt_encode(t, 8);
  EXPECT_EQ(enc.codes[0], 0);
  int maxi = 1, mini = 1;
  for (int i = 1; i < 128; ++i) {
    if (std::fabs(t[i]) > std::fabs(t[maxi])) maxi = i;
    if (std::fabs(t[i]) < std::fabs(t[mini])) mini = i;
  }
  EXPECT_EQ(enc.codes[maxi] & 0x7F, 127);
  EXPECT_EQ(enc.codes[mini] & 0x7F, 1);
  const auto dec = fp8::logfmt_decode(enc, 8);
  EXPECT_NEAR(dec[maxi], t[maxi], 1e-5 * std::fabs(t[maxi]));
  EXPECT_NEAR(dec[mini], t[mini], 1e-5 * std::fabs(t[mini]));
  for (int i = 1; i < 128; ++i) EXPECT_EQ(std::signbit(dec[i]), std::signbit(t[i]));

  // Relative error per element is at most half a log step in linear space:
  // (e^step - 1)/2. LogFMT-10 has 4x finer steps than LogFMT-8.
  auto rms_rel = [&](int bits) {
    std::vector<float> x(64 * 256);
    std::mt19937 gx(5);
    for (float& v : x) v = g(gx);
    const auto y = fp8::logfmt_roundtrip(x, 64, 256, bits);
    double num = 0, den = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      num += (y[i] - x[i]) * (y[i] - x[i]);
      den += x[i] * x[i];
    }
    return std::sqrt(num / den);
  };
  auto e4m3_rel = [&]() {
    std::vector<float> x(64 * 256);
    std::mt19937 gx(5);
    for (float& v : x) v = g(gx);
    const auto y = fp8::quantize_activation(x, 64, 256).dequantized();
    double num = 0, den = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      num += (y[i] - x[i]) * (y[i] - x[i]);
      den += x[i] * x[i];
    }
    return std::sqrt(num / den);
  };
  const double l8 = rms_rel(8), l10 = rms_rel(10), e4 = e4m3_rel();
  std::printf("RMS relative error on N(0,1) tiles: LogFMT-8 %.4f%%, LogFMT-10 %.4f%%, E4M3 %.4f%%\n",
              100 * l8, 100 * l10, 100 * e4);
  EXPECT_LT(l10 * 3, l8);
  // ISCA sec. 3.2: LogFMT-8 is more accurate than E4M3 at the same width.
  EXPECT_LT(l8, e4);
}

TEST(Fp8, GemmGaussianK4096AgainstTheTrFigure) {
  // DeepSeek-V3 TR sec. 3.3: "in a matrix multiplication with K = 4096 ...
  // the limited accumulation precision in Tensor Cores results in a maximum
  // relative error of nearly 2%". Neither the input distribution nor the
  // error metric is stated. Here: N(0,1) inputs, 64 x 64 outputs, the
  // accumulation error alone (against the exact product of the FP8 inputs)
  // under several metrics, printed for the comparison.
  const int m = 64, n = 64, k = 4096;
  std::mt19937 gen(42);
  std::normal_distribution<float> g;
  std::vector<float> a(static_cast<size_t>(m) * k), b(static_cast<size_t>(k) * n);
  for (float& v : a) v = g(gen);
  for (float& v : b) v = g(gen);
  const auto qa = fp8::quantize_activation(a, m, k);
  const auto qb = fp8::quantize_weight(b, k, n);
  const auto deq = fp8::gemm_exact(qa.dequantized(), qb.dequantized(), m, n, k);
  struct Metrics { double normwise, max_over_rms, max_rel_large; };
  auto metrics = [&](int promotion) {
    const auto c = fp8::gemm(qa, qb, {13, 32, promotion});
    double num = 0, den = 0, max_err = 0;
    for (size_t i = 0; i < c.size(); ++i) {
      num += (c[i] - deq[i]) * (c[i] - deq[i]);
      den += deq[i] * deq[i];
      max_err = std::max(max_err, std::fabs(c[i] - deq[i]));
    }
    const double rms = std::sqrt(den / static_cast<double>(c.size()));
    double max_rel_large = 0;  // element-wise, over outputs with |C| > RMS(C)
    for (size_t i = 0; i < c.size(); ++i)
      if (std::fabs(deq[i]) > rms)
        max_rel_large = std::max(max_rel_large, std::fabs(c[i] - deq[i]) / std::fabs(deq[i]));
    return Metrics{std::sqrt(num / den), max_err / rms, max_rel_large};
  };
  const Metrics off = metrics(0), on = metrics(128);
  std::printf("K=4096 N(0,1) inputs, accumulation error, no promotion / N_C=128: normwise %.3f%% / "
              "%.3f%%, max|err|/RMS(C) %.3f%% / %.3f%%, max element-wise (|C| > RMS) %.3f%% / %.3f%% "
              "(TR: 'nearly 2%%', metric not stated)\n",
              100 * off.normwise, 100 * on.normwise, 100 * off.max_over_rms, 100 * on.max_over_rms,
              100 * off.max_rel_large, 100 * on.max_rel_large);
  // Derivation of the normwise error. After j products the register holds
  // |S_j| ~ sqrt(j) (unit-variance products); its quantum is 2^(E-13) with
  // 2^E <= |S_j| < 2^(E+1), so E[q^2] = 2^-26 * j * E[(2^E/|S|)^2]
  // = 2^-26 * j * 3/(8 ln 2) = 2^-26 * j * 0.541. Truncating a product of
  // random sign errs by U(0, q) toward zero: second moment q^2/3. Summed
  // over j <= K: variance 2^-26 * 0.541/3 * K^2/2, std 2^-13 * 0.300 * K,
  // relative to |C| ~ sqrt(K): 2^-13 * 0.300 * sqrt(K) = 0.234% at K = 4096.
  // With promotion every 128 the register restarts: 32 windows of 128,
  // 2^-13 * 0.300 * 128 * sqrt(32) / sqrt(K) = 0.041%. Bands +-25% (the
  // alignment to the group's largest product and the sum's own truncation
  // shift the constant a little).
  EXPECT_GT(off.normwise, 0.75 * 0.00234);
  EXPECT_LT(off.normwise, 1.25 * 0.00234);
  EXPECT_GT(on.normwise, 0.75 * 0.00041);
  EXPECT_LT(on.normwise, 1.25 * 0.00041);
}
