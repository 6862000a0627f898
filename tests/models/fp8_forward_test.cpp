// The reference forward pass with its linear layers in emulated FP8
// (ReferenceOptions::gemm, DeepSeek-V3 TR sec. 3.3): E4M3 inputs with 1x128
// activation tiles and 128x128 weight blocks, the Hopper accumulator model
// of models/fp8.hpp, promotion to FP32 every N_C = 128 along K. Embedding,
// head, gate, norms and the attention core stay in float32.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/fp8.hpp"
#include "models/layers.hpp"
#include "models/trace.hpp"
#include "models/transformer.hpp"

namespace codesim::models {
namespace {

std::vector<int32_t> tokens(int n, int vocab) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) t[static_cast<size_t>(i)] = (i * 131 + 7) % vocab;
  return t;
}

// 2 layers of the tiny DeepSeek-style model: layer 0 dense SwiGLU, layer 1
// MoE (16 routed + 1 shared); MLA attention in both.
ModelSpec two_layer_spec() {
  ModelSpec s = tiny_deepseek_spec();
  s.n_layers = 2;
  return s;
}

ReferenceOptions fp8_options(int promotion = 128) {
  ReferenceOptions o;
  o.gemm.precision = GemmPrecision::kFp8E4M3;
  o.gemm.promotion_interval = promotion;
  return o;
}

double rel_rms(const std::vector<float>& a, const std::vector<float>& ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = static_cast<double>(a[i]) - ref[i];
    num += d * d;
    den += static_cast<double>(ref[i]) * ref[i];
  }
  return std::sqrt(num / den);
}

Mat to_mat(const std::vector<float>& v, int rows, int cols) {
  Mat m(rows, cols);
  std::copy(v.begin(), v.end(), m.data());
  return m;
}
std::vector<float> to_vec(const Mat& m) { return {m.data(), m.data() + m.size()}; }

// Physics of the bounds used below. E4M3 keeps 3 fraction bits: rounding
// to nearest leaves a relative error uniform within +-half a spacing, RMS
// ~2.6% per element on Gaussian data (measured in fp8_test's LogFMT case).
// A GEMM on zero-mean data with both operands quantized (independent
// errors) is then off by sqrt(2) * 2.6% ~ 3.7% relative RMS; accumulation
// adds ~0.1% at K <= 512 with promotion every 128 (fp8_test). In one block
// the longest chain of linear layers is wq_a -> wq_b -> scores (with k from
// wkv_a) -> wo, then w1/w3 -> w2: about 6 GEMM errors in series, which add
// in quadrature: sqrt(6) * 3.7% ~ 9% on a sublayer output. Two blocks add
// in quadrature again: sqrt(2) * 9% ~ 13%, an upper estimate since the
// residual stream carries the exact embedding alongside and the float32
// head adds nothing. Lower bound: even one quantized GEMM gives > 3%, while
// float32 reordering noise is ~1e-6; > 1% proves FP8 ran.
constexpr double kMaxRelRmsTwoBlocks = 0.13;
constexpr double kMinRelRms = 0.01;

TEST(Fp8Forward, DenseLogitsCloseToFp32ButNotEqual) {
  ModelSpec spec = two_layer_spec();
  spec.moe->n_dense_layers = 2;  // both blocks dense: no routing decisions
  const auto t = tokens(64, spec.vocab_size);  // 2 sequences x 32
  Transformer m32(spec);
  Transformer m8(spec, fp8_options());
  const Logits z32 = m32.forward(t, 2);
  const Logits z8 = m8.forward(t, 2);
  const double e = rel_rms(z8.data, z32.data);
  std::printf("2 dense blocks, 64 tokens: FP8 vs FP32 logits relative RMS error %.3f%%\n", 100 * e);
  EXPECT_LT(e, kMaxRelRmsTwoBlocks);
  EXPECT_GT(e, kMinRelRms);
  // Deterministic: the emulation has no state.
  Transformer m8b(spec, fp8_options());
  EXPECT_EQ(m8b.forward(t, 2).data, z8.data);
}

TEST(Fp8Forward, MoeLogitsCloseToFp32WhereRoutingAgrees) {
  // Dense block + MoE block. The gate runs in float32, but its input comes
  // out of the FP8 attention, so some tokens pick other experts: a
  // discontinuous change the smooth bound above does not cover. Tokens whose
  // expert set agrees obey the bound; the others are only counted.
  const ModelSpec spec = two_layer_spec();
  const auto t = tokens(64, spec.vocab_size);
  Transformer m32(spec);
  Transformer m8(spec, fp8_options());
  OpLog l32, l8;
  const Logits z32 = m32.forward(t, 2, &l32);
  const Logits z8 = m8.forward(t, 2, &l8);
  ASSERT_EQ(l32.routing.size(), 1u);
  const RoutingRecord& r32 = l32.routing[0];
  const RoutingRecord& r8 = l8.routing[0];
  std::vector<float> same32, same8;
  int changed = 0;
  for (int tok = 0; tok < r32.n_tokens; ++tok) {
    const auto b32 = r32.experts.begin() + tok * r32.top_k, b8 = r8.experts.begin() + tok * r8.top_k;
    const std::set<int32_t> s32(b32, b32 + r32.top_k), s8(b8, b8 + r8.top_k);
    if (s32 != s8) {
      ++changed;
      continue;
    }
    for (int c = 0; c < z32.cols; ++c) {
      same32.push_back(z32.at(tok, c));
      same8.push_back(z8.at(tok, c));
    }
  }
  const double e_all = rel_rms(z8.data, z32.data), e_same = rel_rms(same8, same32);
  const double frac = static_cast<double>(changed) / r32.n_tokens;
  std::printf("dense + MoE blocks, 64 tokens: FP8 vs FP32 logits relative RMS error %.3f%% overall, "
              "%.3f%% on the %d tokens whose experts agree; %d tokens (%.1f%%) changed experts\n",
              100 * e_all, 100 * e_same, r32.n_tokens - changed, changed, 100 * frac);
  EXPECT_LT(e_same, kMaxRelRmsTwoBlocks);
  EXPECT_GT(e_same, kMinRelRms);
  // Expert flips: the gate input is off by ~eps ~ 5-9% of its spread; a
  // token flips when the gap between its k-th and (k+1)-th scores is below
  // that. Adjacent order statistics of 16 random scores sit ~sqrt(2 pi)/16
  // ~ 0.16 spreads apart, so at most about eps / 0.16 ~ 0.5 of the tokens
  // flip (fewer: group-limited routing and the margins of the top choices).
  EXPECT_LT(frac, 0.5);
}

TEST(Fp8Forward, Fp32ModeIsThePlainProduct) {
  // models::linear in float32 is exactly x * W (same Eigen kernel).
  WeightRng r(3, 0);
  const Mat x = r.linear(37, 300);
  const Mat w = r.linear(300, 129);
  const Mat ref = x * w;
  const Mat y = linear(x, w, LinearNumerics{});
  ASSERT_EQ(y.rows(), ref.rows());
  ASSERT_EQ(y.cols(), ref.cols());
  for (Eigen::Index i = 0; i < y.size(); ++i) ASSERT_EQ(y.data()[i], ref.data()[i]) << i;
  // The promotion interval is irrelevant in float32 mode; default options
  // and explicit fp32 options give bit-identical logits.
  const ModelSpec spec = two_layer_spec();
  const auto t = tokens(16, spec.vocab_size);
  ReferenceOptions o;
  o.gemm.precision = GemmPrecision::kFp32;
  o.gemm.promotion_interval = 0;
  Transformer a(spec), b(spec, o);
  EXPECT_EQ(a.forward(t, 1).data, b.forward(t, 1).data);
}

TEST(Fp8Forward, LinearMatchesTheFp8GemmEmulation) {
  // linear() in FP8 is fp8::gemm on quantize_activation(x) x quantize_weight(W).
  WeightRng r(5, 0);
  const Mat x = r.linear(9, 256);
  const Mat w = r.linear(256, 200);
  const auto qx = fp8::quantize_activation({x.data(), static_cast<size_t>(x.size())}, 9, 256);
  const auto qw = fp8::quantize_weight({w.data(), static_cast<size_t>(w.size())}, 256, 200);
  const auto ref = fp8::gemm(qx, qw, {13, 32, 128});
  EXPECT_EQ(to_vec(linear(x, w, {GemmPrecision::kFp8E4M3, 128})), ref);
}

TEST(Fp8Forward, PromotionMattersAtLargeK) {
  // K = 4096 (V3's dim is 7168, its expert inter dim 2048): without
  // promotion all of K accumulates in the ~14-bit tensor-core register.
  const int m = 8, n = 16, k = 4096;
  std::mt19937 gen(11);
  std::normal_distribution<float> g;
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  auto run = [&](bool positive) {
    std::vector<float> a(static_cast<size_t>(m) * k), b(static_cast<size_t>(k) * n);
    for (float& v : a) v = positive ? u(gen) : g(gen);
    for (float& v : b) v = positive ? u(gen) : g(gen);
    const Mat x = to_mat(a, m, k), w = to_mat(b, k, n);
    // Exact product of the FP8-rounded inputs isolates accumulation error;
    // the exact product of the float inputs gives the total error.
    const auto deq = fp8::gemm_exact(fp8::quantize_activation(a, m, k).dequantized(),
                                     fp8::quantize_weight(b, k, n).dequantized(), m, n, k);
    const auto exact = fp8::gemm_exact(a, b, m, n, k);
    const std::vector<float> deqf(deq.begin(), deq.end()), exactf(exact.begin(), exact.end());
    const auto off = to_vec(linear(x, w, {GemmPrecision::kFp8E4M3, 0}));
    const auto on = to_vec(linear(x, w, {GemmPrecision::kFp8E4M3, 128}));
    struct R { double acc_off, acc_on, tot_off, tot_on; };
    return R{rel_rms(off, deqf), rel_rms(on, deqf), rel_rms(off, exactf), rel_rms(on, exactf)};
  };
  const auto gz = run(false);
  const auto gp = run(true);
  std::printf("K=4096 relative RMS error, promotion off / on: Gaussian accumulation %.3f%% / %.3f%%, "
              "total %.3f%% / %.3f%%; positive accumulation %.3f%% / %.3f%%, total %.3f%% / %.3f%%\n",
              100 * gz.acc_off, 100 * gz.acc_on, 100 * gz.tot_off, 100 * gz.tot_on,
              100 * gp.acc_off, 100 * gp.acc_on, 100 * gp.tot_off, 100 * gp.tot_on);
  // Zero-mean: truncation errors of random sign grow like a random walk
  // while the register's quantum grows with |partial sum| ~ sqrt(k); with
  // promotion the register never holds more than 128 terms, so the error is
  // several times smaller (fp8_test derives ~sqrt(K/128) = 5.7x).
  EXPECT_GT(gz.acc_off, 3 * gz.acc_on);
  // In total, quantization (~sqrt(2) * 2.6% ~ 3.7%, see above) dominates
  // zero-mean data either way; the accumulation error adds in quadrature.
  EXPECT_LT(gz.tot_on, 0.06);
  EXPECT_LT(gz.tot_off, 0.06);
  // Positive data: losses add up, K/2 * 0.5 * ln2 * 2^-13 = 8.7% without
  // promotion against 0.27% with it (fp8_test), far above the ~0.1%
  // quantization error that averages out over K.
  EXPECT_GT(gp.tot_off, 0.05);
  EXPECT_LT(gp.tot_on, 0.01);
}

TEST(Fp8Forward, OpRecordsCarryThePrecisionThatRan) {
  const ModelSpec spec = two_layer_spec();
  const auto t = tokens(16, spec.vocab_size);
  for (const MlaPath path : {MlaPath::kAbsorbed, MlaPath::kNaive}) {
    ReferenceOptions o = fp8_options();
    o.mla_path = path;
    o.precision = PrecisionPolicy::fp32();  // policy says fp32; FP8 ran
    Transformer m(spec, o);
    OpLog log;
    m.forward(t, 1, &log);
    int fp8_gemms = 0;
    for (const OpRecord& op : log.ops) {
      const bool head = op.name == "head";
      const bool absorb = op.name.find("absorb") != std::string::npos;
      if ((op.kind == OpKind::kGemm && !head && !absorb) || op.kind == OpKind::kGroupedGemm) {
        EXPECT_EQ(op.precision, Precision::kFp8E4M3) << op.name;
        // FP8 inputs: 1 byte per element of A and B.
        const int64_t mm = op.shape[0], nn = op.shape[1], kk = op.shape[2];
        if (op.kind == OpKind::kGemm) {
          EXPECT_EQ(op.bytes_read.count(), static_cast<uint64_t>(mm * kk + kk * nn)) << op.name;
        }
        ++fp8_gemms;
      } else {
        EXPECT_EQ(op.precision, Precision::kFp32) << op.name;  // head, gate, attention, norms
      }
    }
    // Per layer: wq_a, wq_b, wkv_a, wo (+ wkv_b on the naive path); dense
    // w1, w3, w2; MoE shared w1, w3, w2 and the experts' three grouped GEMMs.
    const int attn = path == MlaPath::kNaive ? 5 : 4;
    EXPECT_EQ(fp8_gemms, 2 * attn + 3 + 6);
    // The trace built from the records says fp8_e4m3 for those ops too.
    const Trace tr = trace_from_reference(spec, log, 1, 16);
    const std::string json = trace_to_json(tr);
    EXPECT_NE(json.find("\"fp8_e4m3\""), std::string::npos);
  }
  // FP32 compute keeps recording the policy, as before.
  ReferenceOptions o;
  o.precision = PrecisionPolicy::deepseek_v3_fp8();
  Transformer m(spec, o);
  OpLog log;
  m.forward(t, 1, &log);
  for (const OpRecord& op : log.ops)
    if (op.name == "attn.wq_a") {
      EXPECT_EQ(op.precision, Precision::kFp8E4M3);
    }
}

TEST(Fp8Forward, RejectsAPromotionIntervalTheTensorCoreCannotDo) {
  // Products are aligned 32 at a time, so promotion happens on multiples of 32.
  EXPECT_THROW(Transformer(two_layer_spec(), fp8_options(100)), std::invalid_argument);
  EXPECT_THROW(Transformer(two_layer_spec(), fp8_options(-32)), std::invalid_argument);
  EXPECT_NO_THROW(Transformer(two_layer_spec(), fp8_options(0)));
}

}  // namespace
}  // namespace codesim::models
