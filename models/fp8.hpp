// File: models/fp8.hpp
//
// Emulation of DeepSeek-V3's low-precision arithmetic (TR sec. 3.3, ISCA
// 2025 sec. 3), bit-exact where the format is specified:
//
//  * FP8 rounding: E4M3 (OCP "fn": bias 7, max 448, no infinity, subnormals
//    down to 2^-9) and E5M2 (bias 15, max 57344, infinity, subnormals down
//    to 2^-16). Round to nearest, ties to even. Saturating mode clamps to
//    +-max (what a quantizer with a scale does); non-saturating mode gives NaN
//    (E4M3) or infinity (E5M2) beyond the largest finite value.
//  * Fine-grained scaling: one FP32 scale per 1x128 tile of an activation
//    (row-major [M x K]) and per 128x128 block of a weight ([K x N]);
//    scale = amax / fp8_max so the tile's largest magnitude maps to fp8_max.
//  * FP8 GEMM with a limited-precision accumulator. Model of Hopper's
//    tensor core (ISCA sec. 3: "after aligning 32 mantissa products by
//    right-shifting to the maximum exponent, only the highest 13 fraction
//    bits" are kept; the "FP22" register has 1 sign, 8 exponent and 13
//    fraction bits; the TR says "around 14 bits" counting the implicit bit).
//    Per group of 32 products along K: take the largest exponent among the
//    group and the running accumulator, truncate every term (toward zero) to
//    13 fraction bits below that exponent's leading bit, add exactly, and
//    truncate the sum to 13 fraction bits. Optionally (N_C = 128, TR sec.
//    3.3) the partial sum is promoted every N_C elements into an FP32
//    accumulator on the CUDA cores and the tensor-core accumulator restarts.
//    Products are formed from the dequantized FP8 values (value x scale);
//    the floating accumulator's relative precision does not depend on where
//    the scales are applied.
//  * LogFMT-n (ISCA sec. 3.2): per 1x128 tile, log|x| is quantized on a
//    uniform grid between min and max: code 0 = zero, 1 = min, 2^(n-1)-1 =
//    max, step = (max - min) / (2^(n-1) - 2); min >= max - ln(2^32); the
//    rounding between the two neighbouring grid points is done in linear
//    space. One sign bit plus n-1 magnitude bits.
//
// Eigen-free. All functions are pure.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace codesim::models::fp8 {

enum class Format { kE4M3, kE5M2 };

float max_finite(Format f);          // 448 or 57344
float min_subnormal(Format f);       // 2^-9 or 2^-16
// Round x to the nearest representable value of f (ties to even).
float round(float x, Format f, bool saturate = true);
// The 8-bit code of round(x, f, saturate) and back.
uint8_t encode(float x, Format f, bool saturate = true);
float decode(uint8_t code, Format f);

// A tensor quantized with fine-grained scales. `q` holds the FP8 values
// (as floats, already rounded) in the same row-major layout as the input;
// scale of element (r, c) = scales[(r / tile_rows) * scale_cols + c / tile_cols].
struct Quantized {
  int rows = 0, cols = 0;
  int tile_rows = 1, tile_cols = 128;
  int scale_cols = 0;
  Format format = Format::kE4M3;
  std::vector<float> q;
  std::vector<float> scales;
  float scale_at(int r, int c) const;
  float dequant(int r, int c) const;
  std::vector<float> dequantized() const;
};

// Activations: 1 x 128 tiles along the row (the GEMM's K dim).
Quantized quantize_activation(std::span<const float> x, int rows, int cols,
                              Format f = Format::kE4M3);
// Weights [K x N]: 128 x 128 blocks.
Quantized quantize_weight(std::span<const float> w, int rows, int cols,
                          Format f = Format::kE4M3);
// General tiles (tile_rows x tile_cols).
Quantized quantize(std::span<const float> x, int rows, int cols, int tile_rows, int tile_cols,
                   Format f);

struct GemmOptions {
  int accumulator_fraction_bits = 13;  // Hopper FP8 MMA (ISCA sec. 3)
  int products_per_alignment = 32;     // products aligned together per MMA step
  int promotion_interval = 128;        // N_C; 0 = never promote (all of K in the tensor core)
};

// C[M x N] = A[M x K] * B[K x N] from quantized operands with the
// accumulator model above. Row-major result.
std::vector<float> gemm(const Quantized& a, const Quantized& b, const GemmOptions& opt = {});
// The backward GEMMs of a linear layer Y[m x n] = X[m x k] W[k x n] in FP8,
// tiled as DeepSeek-V3 runs them (TR sec. 3.3.1-3.3.2, E4M3 everywhere):
//  * dgrad, dX[m x k] = dY[m x n] W^T[n x k]: the output gradient in 1 x 128
//    tiles along its channels (the depth), W^T in 128 x 128 blocks;
//  * wgrad, dW[k x n] = X^T[k x m] dY[m x n]: the depth is the m tokens, so
//    both operands are tiled 128 tokens x 1 channel (the TR's "1x128 tiles
//    converted to 128x1" for the backward pass).
// per_tensor: one scale per operand instead (the coarse scaling that the
// fine-grained tiles replace), for comparison.
std::vector<float> backward_dgrad(std::span<const float> dy, std::span<const float> w, int m, int k, int n,
                                  const GemmOptions& opt = {});
std::vector<float> backward_wgrad(std::span<const float> x, std::span<const float> dy, int m, int k, int n,
                                  const GemmOptions& opt = {}, bool per_tensor = false);
// Exact (double) product of plain row-major matrices, for references.
std::vector<double> gemm_exact(std::span<const float> a, std::span<const float> b, int m, int n,
                               int k);

// LogFMT-n of one tile or of row-major data in 1x128 tiles.
struct LogFmtTile {
  float min_log = 0;  // ln|x| of code 1
  float step = 0;     // ln spacing between codes
  std::vector<uint16_t> codes;  // bit n-1 = sign, low n-1 bits = magnitude code
};
LogFmtTile logfmt_encode(std::span<const float> tile, int n_bits);
std::vector<float> logfmt_decode(const LogFmtTile& t, int n_bits);
// Encode and decode x (row-major rows x cols) in 1x128 tiles.
std::vector<float> logfmt_roundtrip(std::span<const float> x, int rows, int cols, int n_bits);

}  // namespace codesim::models::fp8
