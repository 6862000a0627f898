#include "models/layers.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <span>
#include <stdexcept>

#include "models/fp8.hpp"

namespace codesim::models {

// ---------------------------------------------------------------- WeightRng

WeightRng::WeightRng(uint64_t seed, uint64_t stream) {
  // Mix seed and stream so neighbouring streams are unrelated.
  state_ = seed * 0x9E3779B97F4A7C15ULL ^ (stream + 0x632BE59BD9B4E019ULL) * 0xBF58476D1CE4E5B9ULL;
  next_u64();
}

uint64_t WeightRng::next_u64() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

float WeightRng::symmetric() {
  // 24 random bits -> [0, 1) exactly representable in float, then [-1, 1).
  const float u = static_cast<float>(next_u64() >> 40) * (1.0f / 16777216.0f);
  return 2.0f * u - 1.0f;
}

Mat WeightRng::linear(int rows, int cols, float gain) {
  // Uniform[-a, a] has variance a^2/3; a = gain*sqrt(3/fan_in) gives gain^2/fan_in.
  const float a = gain * std::sqrt(3.0f / static_cast<float>(rows));
  Mat m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = a * symmetric();
  return m;
}

Vec WeightRng::uniform(int n, float lo, float hi) {
  Vec v(n);
  for (int i = 0; i < n; ++i) v[i] = lo + (hi - lo) * 0.5f * (symmetric() + 1.0f);
  return v;
}

// ---------------------------------------------------------------- linear

Mat linear(const Mat& x, const Mat& w, const LinearNumerics& n) {
  if (n.precision == GemmPrecision::kFp32) return x * w;
  if (x.cols() != w.rows()) throw std::invalid_argument("linear: x.cols() != W.rows()");
  const int m = static_cast<int>(x.rows()), k = static_cast<int>(x.cols()), cols = static_cast<int>(w.cols());
  // Both Mats are row-major: x is [M x K] in 1x128 tiles along K, W is [K x N]
  // in 128x128 blocks, the layouts fp8::quantize_* expect.
  const fp8::Quantized qx = fp8::quantize_activation(std::span<const float>(x.data(), static_cast<size_t>(x.size())), m, k);
  const fp8::Quantized qw = fp8::quantize_weight(std::span<const float>(w.data(), static_cast<size_t>(w.size())), k, cols);
  fp8::GemmOptions g;
  g.promotion_interval = n.promotion_interval;
  const std::vector<float> c = fp8::gemm(qx, qw, g);
  Mat y(m, cols);
  std::copy(c.begin(), c.end(), y.data());
  return y;
}

// ---------------------------------------------------------------- OpSink

Precision OpSink::linear_precision() const {
  return numerics.precision == GemmPrecision::kFp8E4M3 ? Precision::kFp8E4M3 : policy.linear;
}

Mat OpSink::linear(const std::string& name, const Mat& x, const Mat& w) const {
  Mat y = models::linear(x, w, numerics);
  gemm(name, x.rows(), w.cols(), x.cols());
  return y;
}

void OpSink::linear_into(Mat& dst, const std::string& name, const Mat& x, const Mat& w) const {
  if (numerics.precision == GemmPrecision::kFp32)
    dst = x * w;
  else
    dst = models::linear(x, w, numerics);
  gemm(name, x.rows(), w.cols(), x.cols());
}

void OpSink::emit(OpRecord r) const {
  if (!observer) return;
  r.layer = layer;
  r.name = prefix + r.name;
  observer->on_op(r);
}

void OpSink::gemm(const std::string& name, int64_t m, int64_t n, int64_t k,
                  std::optional<Precision> p) const {
  if (!observer) return;
  const Precision in = p.value_or(linear_precision());
  const uint64_t read = static_cast<uint64_t>(m * k + k * n) * bytes_per_element(in);
  const uint64_t written = static_cast<uint64_t>(m * n) * bytes_per_element(policy.activation);
  emit({0, name, OpKind::kGemm, in, {m, n, k},
        Flops::from_count(2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k)),
        Bytes::from_count(read), Bytes::from_count(written)});
}

void OpSink::batched_gemm(const std::string& name, int64_t batches, int64_t m, int64_t n,
                          int64_t k, Precision p) const {
  if (!observer) return;
  const uint64_t read = static_cast<uint64_t>(batches * (m * k + k * n)) * bytes_per_element(p);
  const uint64_t written =
      static_cast<uint64_t>(batches * m * n) * bytes_per_element(policy.activation);
  emit({0, name, OpKind::kGemm, p, {m, n, k, batches},
        Flops::from_count(2.0 * static_cast<double>(batches) * static_cast<double>(m) *
                          static_cast<double>(n) * static_cast<double>(k)),
        Bytes::from_count(read), Bytes::from_count(written)});
}

void OpSink::grouped_gemm(const std::string& name, int64_t rows, int64_t n, int64_t k,
                          int64_t experts_used) const {
  if (!observer) return;
  const Precision in = linear_precision();
  const uint64_t read =
      static_cast<uint64_t>(rows * k + experts_used * k * n) * bytes_per_element(in);
  const uint64_t written = static_cast<uint64_t>(rows * n) * bytes_per_element(policy.activation);
  emit({0, name, OpKind::kGroupedGemm, in, {rows, n, k, experts_used},
        Flops::from_count(2.0 * static_cast<double>(rows) * static_cast<double>(n) *
                          static_cast<double>(k)),
        Bytes::from_count(read), Bytes::from_count(written)});
}

void OpSink::elementwise(OpKind kind, const std::string& name, int64_t rows, int64_t cols,
                         double flops_per_element, int inputs) const {
  if (!observer) return;
  const uint64_t e = static_cast<uint64_t>(rows * cols);
  const uint64_t b = bytes_per_element(policy.activation);
  emit({0, name, kind, policy.activation, {rows, cols},
        Flops::from_count(flops_per_element * static_cast<double>(e)),
        Bytes::from_count(e * b * static_cast<uint64_t>(inputs)), Bytes::from_count(e * b)});
}

void OpSink::attention(const std::string& name, int64_t batch, int64_t heads, int64_t q_len,
                       int64_t kv_len, int64_t d_qk, int64_t d_v, int64_t pairs,
                       int64_t kv_elements_read) const {
  if (!observer) return;
  const uint64_t b = bytes_per_element(policy.attention);
  const uint64_t read =
      static_cast<uint64_t>(batch * (q_len * heads * d_qk + kv_elements_read)) * b;
  const uint64_t written = static_cast<uint64_t>(batch * q_len * heads * d_v) * b;
  emit({0, name, OpKind::kAttention, policy.attention,
        {batch, heads, q_len, kv_len, d_qk, d_v, pairs},
        Flops::from_count(2.0 * static_cast<double>(batch) * static_cast<double>(pairs) *
                          static_cast<double>(heads) * static_cast<double>(d_qk + d_v)),
        Bytes::from_count(read), Bytes::from_count(written)});
}

// ---------------------------------------------------------------- RmsNorm

RmsNorm::RmsNorm(int dim, float eps_in) : weight(Vec::Ones(dim)), eps(eps_in) {}

Mat RmsNorm::forward(const Mat& x, const OpSink& sink, const std::string& name) const {
  Mat y(x.rows(), x.cols());
  const float inv_n = 1.0f / static_cast<float>(x.cols());
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    const float ms = x.row(r).squaredNorm() * inv_n;
    const float s = 1.0f / std::sqrt(ms + eps);
    y.row(r) = (x.row(r).array() * s) * weight.transpose().array();
  }
  sink.elementwise(OpKind::kRmsNorm, name, x.rows(), x.cols(), 4.0);
  return y;
}

// ---------------------------------------------------------------- Rope

Rope::Rope(int dim, double theta, std::optional<YarnParams> yarn) : dim_(dim), freqs_(dim / 2) {
  for (int i = 0; i < dim / 2; ++i)
    freqs_[i] = static_cast<float>(1.0 / std::pow(theta, 2.0 * i / dim));
  if (yarn && yarn->max_seq_len > yarn->original_seq_len) {
    // Dimension index at which a frequency completes `rotations` turns over
    // the original context: d(r) = dim * ln(L / (2*pi*r)) / (2 ln theta).
    auto correction_dim = [&](double rotations) {
      return dim * std::log(yarn->original_seq_len / (rotations * 2.0 * std::numbers::pi)) /
             (2.0 * std::log(theta));
    };
    double low = std::floor(correction_dim(yarn->beta_fast));
    double high = std::ceil(correction_dim(yarn->beta_slow));
    low = std::max(low, 0.0);
    high = std::min(high, dim - 1.0);
    if (low == high) high += 1e-3;  // avoid a zero-width ramp
    for (int i = 0; i < dim / 2; ++i) {
      // smooth = 1 keeps the original frequency (high-frequency dims),
      // smooth = 0 interpolates it by 1/factor (low-frequency dims).
      const double ramp = std::clamp((i - low) / (high - low), 0.0, 1.0);
      const double smooth = 1.0 - ramp;
      freqs_[i] = static_cast<float>(freqs_[i] * (smooth + (1.0 - smooth) / yarn->factor));
    }
    const double m = 0.1 * yarn->mscale * std::log(yarn->factor) + 1.0;
    mscale2_ = m * m;
  }
}

void Rope::apply(Mat& x, int col0, int stride, int heads, int start_pos, int seq_len) const {
  const int half = dim_ / 2;
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    const double pos = static_cast<double>(start_pos + r % seq_len);
    float* row = x.row(r).data();
    for (int i = 0; i < half; ++i) {
      const double ang = pos * static_cast<double>(freqs_[i]);
      const float c = static_cast<float>(std::cos(ang));
      const float s = static_cast<float>(std::sin(ang));
      for (int h = 0; h < heads; ++h) {
        float* p = row + col0 + h * stride + 2 * i;
        const float a = p[0], b = p[1];
        p[0] = a * c - b * s;
        p[1] = a * s + b * c;
      }
    }
  }
}

// ---------------------------------------------------------------- SwiGLU

SwigluFfn::SwigluFfn(int dim, int inter, WeightRng& rng)
    : w1(rng.linear(dim, inter)), w3(rng.linear(dim, inter)), w2(rng.linear(inter, dim)) {}

Mat SwigluFfn::forward(const Mat& x, const OpSink& sink) const {
  Mat a = sink.linear("w1", x, w1);
  const Mat b = sink.linear("w3", x, w3);
  // silu(a) = a * sigmoid(a)
  a = (a.array() / (1.0f + (-a.array()).exp())) * b.array();
  sink.elementwise(OpKind::kSwiglu, "swiglu", a.rows(), a.cols(), 5.0, 2);
  return sink.linear("w2", a, w2);
}

int64_t SwigluFfn::param_count() const { return w1.size() + w3.size() + w2.size(); }

// ---------------------------------------------------------------- softmax

void causal_softmax_rows(Mat& s, int start_pos) {
  for (Eigen::Index r = 0; r < s.rows(); ++r) {
    const Eigen::Index visible = std::min<Eigen::Index>(start_pos + r + 1, s.cols());
    auto row = s.row(r);
    const float mx = row.head(visible).maxCoeff();
    row.head(visible) = (row.head(visible).array() - mx).exp();
    row.head(visible) /= row.head(visible).sum();
    row.tail(s.cols() - visible).setZero();
  }
}

// ---------------------------------------------------------------- GQA

GqaAttention::GqaAttention(int dim, int n_heads, int n_kv_heads, int head_dim, bool qkv_bias,
                           const Rope& rope, WeightRng& rng)
    : n_heads_(n_heads),
      n_kv_heads_(n_kv_heads),
      head_dim_(head_dim),
      rope_(&rope),
      wq_(rng.linear(dim, n_heads * head_dim)),
      wk_(rng.linear(dim, n_kv_heads * head_dim)),
      wv_(rng.linear(dim, n_kv_heads * head_dim)),
      wo_(rng.linear(n_heads * head_dim, dim)),
      bias_(qkv_bias) {
  if (bias_) {
    bq_ = rng.uniform(n_heads * head_dim, -0.1f, 0.1f).transpose();
    bk_ = rng.uniform(n_kv_heads * head_dim, -0.1f, 0.1f).transpose();
    bv_ = rng.uniform(n_kv_heads * head_dim, -0.1f, 0.1f).transpose();
  }
}

Mat GqaAttention::forward(const Mat& x, std::span<GqaCache> caches, const OpSink& sink) const {
  const int B = static_cast<int>(caches.size());
  const int S = static_cast<int>(x.rows()) / B;
  const int start = caches[0].len();
  const int rows = static_cast<int>(x.rows());
  Mat q = sink.linear("wq", x, wq_);
  Mat k = sink.linear("wk", x, wk_);
  Mat v = sink.linear("wv", x, wv_);
  if (bias_) {
    q.rowwise() += bq_;
    k.rowwise() += bk_;
    v.rowwise() += bv_;
  }
  rope_->apply(q, 0, head_dim_, n_heads_, start, S);
  rope_->apply(k, 0, head_dim_, n_kv_heads_, start, S);
  sink.elementwise(OpKind::kRope, "rope", rows, static_cast<int64_t>(n_heads_ + n_kv_heads_) * head_dim_, 3.0);

  const int T = start + S;
  const float scale = static_cast<float>(rope_->softmax_mscale() / std::sqrt(static_cast<double>(head_dim_)));
  const int group = n_heads_ / n_kv_heads_;
  Mat out(rows, n_heads_ * head_dim_);
  for (int b = 0; b < B; ++b) {
    GqaCache& cache = caches[static_cast<size_t>(b)];
    cache.k.conservativeResize(T, k.cols());
    cache.v.conservativeResize(T, v.cols());
    cache.k.bottomRows(S) = k.middleRows(b * S, S);
    cache.v.bottomRows(S) = v.middleRows(b * S, S);
    for (int h = 0; h < n_heads_; ++h) {
      const int g = h / group;
      for (int r0 = 0; r0 < S; r0 += kAttentionRowChunk) {
        const int n = std::min(kAttentionRowChunk, S - r0), vis = start + r0 + n;
        Mat s = (q.block(b * S + r0, h * head_dim_, n, head_dim_) *
                 cache.k.block(0, g * head_dim_, vis, head_dim_).transpose()) * scale;
        causal_softmax_rows(s, start + r0);
        out.block(b * S + r0, h * head_dim_, n, head_dim_) = s * cache.v.block(0, g * head_dim_, vis, head_dim_);
      }
    }
  }
  // Pairs actually evaluated: row r sees start + r + 1 keys.
  const int64_t pairs = static_cast<int64_t>(S) * start + static_cast<int64_t>(S) * (S + 1) / 2;
  sink.attention("core", B, n_heads_, S, T, head_dim_, head_dim_, pairs,
                 static_cast<int64_t>(T) * 2 * n_kv_heads_ * head_dim_);
  return sink.linear("wo", out, wo_);
}

int64_t GqaAttention::param_count() const {
  return wq_.size() + wk_.size() + wv_.size() + wo_.size() + bq_.size() + bk_.size() + bv_.size();
}

}  // namespace codesim::models
