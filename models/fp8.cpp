#include "models/fp8.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace codesim::models::fp8 {

namespace {

struct Spec {
  int mant;     // fraction bits
  int emin;     // exponent of the smallest normal
  int bias;
  double max;
};
Spec spec(Format f) {
  return f == Format::kE4M3 ? Spec{3, -6, 7, 448.0} : Spec{2, -14, 15, 57344.0};
}

// Truncates x toward zero to `bits` fraction bits below its leading bit.
double trunc_bits(double x, int bits) {
  if (x == 0) return 0;
  int e;
  std::frexp(x, &e);  // |x| in [2^(e-1), 2^e)
  const double q = std::ldexp(1.0, e - 1 - bits);
  return std::trunc(x / q) * q;
}

}  // namespace

float max_finite(Format f) { return static_cast<float>(spec(f).max); }
float min_subnormal(Format f) {
  const Spec s = spec(f);
  return static_cast<float>(std::ldexp(1.0, s.emin - s.mant));
}

float round(float x, Format f, bool saturate) {
  const Spec s = spec(f);
  if (std::isnan(x)) return x;
  const float over = saturate ? static_cast<float>(s.max)
                              : (f == Format::kE4M3 ? std::numeric_limits<float>::quiet_NaN()
                                                    : std::numeric_limits<float>::infinity());
  if (std::isinf(x)) return std::copysign(over, x);
  const double a = std::fabs(static_cast<double>(x));
  if (a == 0) return x;
  int e;
  std::frexp(a, &e);
  const int lead = std::max(e - 1, s.emin);  // subnormals share the smallest normal's quantum
  const double q = std::ldexp(1.0, lead - s.mant);
  const double r = std::nearbyint(a / q) * q;  // default rounding mode: ties to even
  if (r > s.max) return std::copysign(over, x);
  return static_cast<float>(std::copysign(r, static_cast<double>(x)));
}

uint8_t encode(float x, Format f, bool saturate) {
  const Spec s = spec(f);
  const float r = round(x, f, saturate);
  const uint8_t sign = std::signbit(r) ? 0x80 : 0x00;
  if (std::isnan(r)) return sign | 0x7F;
  if (std::isinf(r)) return sign | 0x7C;  // E5M2 only
  const double a = std::fabs(static_cast<double>(r));
  if (a == 0) return sign;
  int e;
  std::frexp(a, &e);
  const int lead = e - 1;
  if (lead < s.emin) {  // subnormal
    const int m = static_cast<int>(a / std::ldexp(1.0, s.emin - s.mant));
    return sign | static_cast<uint8_t>(m);
  }
  const int m = static_cast<int>((a / std::ldexp(1.0, lead) - 1.0) * (1 << s.mant));
  return sign | static_cast<uint8_t>(((lead + s.bias) << s.mant) | m);
}

float decode(uint8_t code, Format f) {
  const Spec s = spec(f);
  const double sign = (code & 0x80) ? -1.0 : 1.0;
  const int exp_bits = 7 - s.mant;
  const int ef = (code >> s.mant) & ((1 << exp_bits) - 1);
  const int m = code & ((1 << s.mant) - 1);
  if (f == Format::kE4M3 && ef == 15 && m == 7) return std::numeric_limits<float>::quiet_NaN();
  if (f == Format::kE5M2 && ef == 31)
    return m == 0 ? static_cast<float>(sign * std::numeric_limits<double>::infinity())
                  : std::numeric_limits<float>::quiet_NaN();
  if (ef == 0) return static_cast<float>(sign * m * std::ldexp(1.0, s.emin - s.mant));
  return static_cast<float>(sign * (1.0 + m / static_cast<double>(1 << s.mant)) *
                            std::ldexp(1.0, ef - s.bias));
}

// ---------------------------------------------------------------- scaling

float Quantized::scale_at(int r, int c) const {
  return scales[static_cast<size_t>((r / tile_rows) * scale_cols + c / tile_cols)];
}
float Quantized::dequant(int r, int c) const {
  return q[static_cast<size_t>(r) * static_cast<size_t>(cols) + static_cast<size_t>(c)] * scale_at(r, c);
}
std::vector<float> Quantized::dequantized() const {
  std::vector<float> out(q.size());
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c)
      out[static_cast<size_t>(r) * static_cast<size_t>(cols) + static_cast<size_t>(c)] = dequant(r, c);
  return out;
}

Quantized quantize(std::span<const float> x, int rows, int cols, int tile_rows, int tile_cols,
                   Format f) {
  if (x.size() != static_cast<size_t>(rows) * static_cast<size_t>(cols))
    throw std::invalid_argument("fp8::quantize: size != rows * cols");
  Quantized out;
  out.rows = rows;
  out.cols = cols;
  out.tile_rows = tile_rows;
  out.tile_cols = tile_cols;
  out.format = f;
  out.scale_cols = (cols + tile_cols - 1) / tile_cols;
  const int scale_rows = (rows + tile_rows - 1) / tile_rows;
  out.scales.assign(static_cast<size_t>(scale_rows) * static_cast<size_t>(out.scale_cols), 1.0f);
  out.q.resize(x.size());
  const float fmax = max_finite(f);
  for (int tr = 0; tr < scale_rows; ++tr) {
    for (int tc = 0; tc < out.scale_cols; ++tc) {
      const int r1 = std::min(rows, (tr + 1) * tile_rows), c1 = std::min(cols, (tc + 1) * tile_cols);
      float amax = 0;
      for (int r = tr * tile_rows; r < r1; ++r)
        for (int c = tc * tile_cols; c < c1; ++c)
          amax = std::max(amax, std::fabs(x[static_cast<size_t>(r) * static_cast<size_t>(cols) + static_cast<size_t>(c)]));
      const float scale = amax > 0 ? amax / fmax : 1.0f;
      out.scales[static_cast<size_t>(tr * out.scale_cols + tc)] = scale;
      for (int r = tr * tile_rows; r < r1; ++r)
        for (int c = tc * tile_cols; c < c1; ++c) {
          const size_t i = static_cast<size_t>(r) * static_cast<size_t>(cols) + static_cast<size_t>(c);
          out.q[i] = round(x[i] / scale, f, true);
        }
    }
  }
  return out;
}

Quantized quantize_activation(std::span<const float> x, int rows, int cols, Format f) {
  return quantize(x, rows, cols, 1, 128, f);
}
Quantized quantize_weight(std::span<const float> w, int rows, int cols, Format f) {
  return quantize(w, rows, cols, 128, 128, f);
}

// ---------------------------------------------------------------- GEMM

std::vector<float> gemm(const Quantized& a, const Quantized& b, const GemmOptions& opt) {
  if (a.cols != b.rows) throw std::invalid_argument("fp8::gemm: inner dims differ");
  const int M = a.rows, N = b.cols, K = a.cols;
  const int G = opt.products_per_alignment;
  const int fb = opt.accumulator_fraction_bits;
  if (fb < 1 || fb > 52) throw std::invalid_argument("fp8::gemm: accumulator_fraction_bits must be in [1, 52]");
  if (G <= 0 || (opt.promotion_interval > 0 && opt.promotion_interval % G != 0))
    throw std::invalid_argument("fp8::gemm: promotion_interval must be a multiple of products_per_alignment");
  // Dequantized operands; B transposed so that a column is contiguous.
  std::vector<double> ad(static_cast<size_t>(M) * K), bt(static_cast<size_t>(N) * K);
  for (int i = 0; i < M; ++i)
    for (int k = 0; k < K; ++k) ad[static_cast<size_t>(i) * K + k] = a.dequant(i, k);
  for (int k = 0; k < K; ++k)
    for (int j = 0; j < N; ++j) bt[static_cast<size_t>(j) * K + k] = b.dequant(k, j);

  std::vector<float> c(static_cast<size_t>(M) * N);
  std::vector<double> p(static_cast<size_t>(G));
  for (int i = 0; i < M; ++i) {
    const double* ar = &ad[static_cast<size_t>(i) * K];
    for (int j = 0; j < N; ++j) {
      const double* bc = &bt[static_cast<size_t>(j) * K];
      float fp32 = 0;   // CUDA-core accumulator
      double tc = 0;    // tensor-core accumulator (FP22 values)
      int since = 0;
      for (int k0 = 0; k0 < K; k0 += G) {
        const int g = std::min(G, K - k0);
        double big = std::fabs(tc);
        for (int t = 0; t < g; ++t) {
          p[static_cast<size_t>(t)] = ar[k0 + t] * bc[k0 + t];  // exact: FP8 x FP8 products of scaled values
          big = std::max(big, std::fabs(p[static_cast<size_t>(t)]));
        }
        if (big > 0) {
          int e;
          std::frexp(big, &e);
          const double q = std::ldexp(1.0, e - 1 - fb), inv = 1.0 / q;
          // Finite terms are below 2^(fb+1) quanta, so the int64 conversion
          // truncates toward zero exactly like std::trunc (and much faster
          // on a baseline x86-64 build, where std::trunc is a libm call);
          // inf and NaN (non-finite inputs) take std::trunc.
          auto trunc_q = [](double v) {
            return std::fabs(v) < 0x1p62 ? static_cast<double>(static_cast<int64_t>(v)) : std::trunc(v);
          };
          double sum = trunc_q(tc * inv);
          for (int t = 0; t < g; ++t) sum += trunc_q(p[static_cast<size_t>(t)] * inv);
          tc = trunc_bits(sum * q, fb);
        }
        since += g;
        if (opt.promotion_interval > 0 && since >= opt.promotion_interval) {
          fp32 += static_cast<float>(tc);
          tc = 0;
          since = 0;
        }
      }
      c[static_cast<size_t>(i) * N + j] = fp32 + static_cast<float>(tc);
    }
  }
  return c;
}

namespace {

// Row-major rows x cols -> its transpose, cols x rows.
std::vector<float> transposed(std::span<const float> a, int rows, int cols) {
  std::vector<float> t(a.size());
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c)
      t[static_cast<size_t>(c) * static_cast<size_t>(rows) + static_cast<size_t>(r)] =
          a[static_cast<size_t>(r) * static_cast<size_t>(cols) + static_cast<size_t>(c)];
  return t;
}

}  // namespace

std::vector<float> backward_dgrad(std::span<const float> dy, std::span<const float> w, int m, int k, int n,
                                  const GemmOptions& opt) {
  if (m < 1 || k < 1 || n < 1) throw std::invalid_argument("fp8::backward_dgrad: m, k and n must be >= 1");
  if (dy.size() != static_cast<size_t>(m) * static_cast<size_t>(n) ||
      w.size() != static_cast<size_t>(k) * static_cast<size_t>(n))
    throw std::invalid_argument("fp8::backward_dgrad: dy must be m x n and w k x n");
  const std::vector<float> wt = transposed(w, k, n);  // W^T, n x k
  return gemm(quantize(dy, m, n, 1, 128, Format::kE4M3), quantize(wt, n, k, 128, 128, Format::kE4M3), opt);
}

std::vector<float> backward_wgrad(std::span<const float> x, std::span<const float> dy, int m, int k, int n,
                                  const GemmOptions& opt, bool per_tensor) {
  if (m < 1 || k < 1 || n < 1) throw std::invalid_argument("fp8::backward_wgrad: m, k and n must be >= 1");
  if (x.size() != static_cast<size_t>(m) * static_cast<size_t>(k) ||
      dy.size() != static_cast<size_t>(m) * static_cast<size_t>(n))
    throw std::invalid_argument("fp8::backward_wgrad: x must be m x k and dy m x n");
  const std::vector<float> xt = transposed(x, m, k);  // X^T, k x m
  // X^T [k x m]: 128 tokens along its row = 1 x 128 here; dY [m x n]: 128 x 1.
  if (per_tensor)
    return gemm(quantize(xt, k, m, k, m, Format::kE4M3), quantize(dy, m, n, m, n, Format::kE4M3), opt);
  return gemm(quantize(xt, k, m, 1, 128, Format::kE4M3), quantize(dy, m, n, 128, 1, Format::kE4M3), opt);
}

std::vector<double> gemm_exact(std::span<const float> a, std::span<const float> b, int m, int n,
                               int k) {
  std::vector<double> c(static_cast<size_t>(m) * n, 0.0);
  for (int i = 0; i < m; ++i)
    for (int t = 0; t < k; ++t) {
      const double av = a[static_cast<size_t>(i) * k + t];
      for (int j = 0; j < n; ++j) c[static_cast<size_t>(i) * n + j] += av * b[static_cast<size_t>(t) * n + j];
    }
  return c;
}

// ---------------------------------------------------------------- LogFMT

LogFmtTile logfmt_encode(std::span<const float> tile, int n_bits) {
  if (n_bits < 3 || n_bits > 16) throw std::invalid_argument("logfmt: n_bits must be in [3, 16]");
  const int top = (1 << (n_bits - 1)) - 1;  // magnitude code of max
  const uint16_t sign_bit = static_cast<uint16_t>(1u << (n_bits - 1));
  LogFmtTile t;
  t.codes.assign(tile.size(), 0);
  double mx = -std::numeric_limits<double>::infinity(), mn = std::numeric_limits<double>::infinity();
  for (float v : tile)
    if (v != 0) {
      const double l = std::log(std::fabs(static_cast<double>(v)));
      mx = std::max(mx, l);
      mn = std::min(mn, l);
    }
  if (!(mx > -std::numeric_limits<double>::infinity())) return t;  // all zeros
  mn = std::max(mn, mx - 32.0 * std::log(2.0));  // range similar to E5 (ISCA sec. 3.2)
  const double step = (mx - mn) / (top - 1);
  // Store the grid as floats and encode against the stored grid, so decoding
  // reproduces exactly the values the encoder chose between.
  t.min_log = static_cast<float>(mn);
  t.step = static_cast<float>(step);
  auto level = [&](int code) { return std::exp(static_cast<double>(t.min_log) + (code - 1) * static_cast<double>(t.step)); };
  for (size_t i = 0; i < tile.size(); ++i) {
    const double a = std::fabs(static_cast<double>(tile[i]));
    if (a == 0) continue;
    int code;
    if (t.step <= 0) {
      code = 1;
    } else {
      const double pos = (std::log(a) - t.min_log) / t.step;  // 0 at min, top-1 at max
      if (pos <= 0) {
        code = a >= 0.5 * level(1) ? 1 : 0;  // between zero and min: nearer in linear space
      } else {
        const int k = std::min(static_cast<int>(std::floor(pos)) + 1, top);
        code = k;
        if (k < top && level(k + 1) - a < a - level(k)) code = k + 1;
      }
    }
    t.codes[i] = static_cast<uint16_t>(code | (tile[i] < 0 && code != 0 ? sign_bit : 0));
  }
  return t;
}

std::vector<float> logfmt_decode(const LogFmtTile& t, int n_bits) {
  const uint16_t mask = static_cast<uint16_t>((1u << (n_bits - 1)) - 1);
  std::vector<float> out(t.codes.size());
  for (size_t i = 0; i < t.codes.size(); ++i) {
    const int code = t.codes[i] & mask;
    if (code == 0) continue;
    const double v = std::exp(static_cast<double>(t.min_log) + (code - 1) * static_cast<double>(t.step));
    out[i] = static_cast<float>((t.codes[i] & ~mask) ? -v : v);
  }
  return out;
}

std::vector<float> logfmt_roundtrip(std::span<const float> x, int rows, int cols, int n_bits) {
  std::vector<float> out(x.size());
  for (int r = 0; r < rows; ++r)
    for (int c0 = 0; c0 < cols; c0 += 128) {
      const int w = std::min(128, cols - c0);
      const size_t off = static_cast<size_t>(r) * static_cast<size_t>(cols) + static_cast<size_t>(c0);
      const std::vector<float> d = logfmt_decode(logfmt_encode(x.subspan(off, static_cast<size_t>(w)), n_bits), n_bits);
      std::copy(d.begin(), d.end(), out.begin() + static_cast<std::ptrdiff_t>(off));
    }
  return out;
}

}  // namespace codesim::models::fp8
