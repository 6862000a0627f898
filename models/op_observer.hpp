// File: models/op_observer.hpp
//
// What the reference implementation (models/transformer.hpp) reports while it
// runs: one OpRecord per operator it executes, in execution order, and one
// RoutingRecord per MoE layer (token -> experts). The trace writer subscribes
// through OpObserver; the models never format output themselves.
//
// Counting conventions (the contract the trace relies on):
//  * FLOPs: a multiply-add is 2. A GEMM [M x K] x [K x N] is 2*M*N*K.
//    Attention counts only the (query, key) pairs it really evaluates, so a
//    causal prefill of S tokens counts S*(S+1)/2 pairs per head:
//    2*pairs*(d_qk + d_v) per head. Element-wise ops count the arithmetic
//    they do (documented per kind below); they are tiny next to GEMMs.
//  * Bytes: what the op reads and writes in the precision recorded in
//    `precision`, assuming each operand crosses HBM once (no fusion). GEMMs
//    read the activation and the weight and write the output; the output is in
//    the policy's activation precision. FP8 scale factors are not counted.
//  * `precision` is the precision the modelled hardware would use
//    (PrecisionPolicy); the reference computes in float32 whatever it says,
//    except the linear-layer GEMMs (attention projections, dense FFN, shared
//    and routed experts, MTP projection) when ReferenceOptions::gemm.precision
//    is kFp8E4M3: those run in emulated FP8 (models/fp8.hpp) and are recorded
//    as fp8_e4m3 whatever the policy says, so the record names what ran. The
//    head, gate, attention core (incl. MLA's absorbed products) and norms stay
//    float32 and keep the policy's precision.
//
// Header is Eigen-free on purpose: the trace writer and CLI include it.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/units.hpp"

namespace codesim::models {

enum class Precision { kFp32, kBf16, kFp8E4M3, kFp8E5M2 };
constexpr auto enum_names(Precision) {
  return std::array{std::pair{Precision::kFp32, std::string_view("fp32")},
                    std::pair{Precision::kBf16, std::string_view("bf16")},
                    std::pair{Precision::kFp8E4M3, std::string_view("fp8_e4m3")},
                    std::pair{Precision::kFp8E5M2, std::string_view("fp8_e5m2")}};
}
// Bytes per element of a tensor stored in `p`.
constexpr uint64_t bytes_per_element(Precision p) {
  switch (p) {
    case Precision::kFp32: return 4;
    case Precision::kBf16: return 2;
    case Precision::kFp8E4M3:
    case Precision::kFp8E5M2: return 1;
  }
  return 4;
}

// DeepSeek's E5M6 cache of the attention output (TR 3.3.3): 12 bits, taken
// as 1.5 B per element, plus an FP32 scale per 1x128 tile.
inline constexpr double kE5m6BytesPerElement = 1.5 + 4.0 / 128;

// FP8 (either format): runs on the FP8 tensor cores, carries block scales.
constexpr bool is_fp8(Precision p) { return p == Precision::kFp8E4M3 || p == Precision::kFp8E5M2; }

// Which precision each class of operator runs in on the modelled hardware.
struct PrecisionPolicy {
  Precision linear = Precision::kFp32;      // dense and expert GEMM inputs and weights
  Precision activation = Precision::kFp32;  // tensors between ops, GEMM outputs
  Precision attention = Precision::kFp32;   // attention core and the KV cache
  Precision head = Precision::kFp32;        // embedding, output head, MoE gate
  static PrecisionPolicy fp32() { return {}; }
  // DeepSeek-V3 training (TR sec. 3.3): FP8 GEMMs, BF16 activations and
  // attention, embedding / head / gate kept in higher precision (BF16 here).
  static PrecisionPolicy deepseek_v3_fp8() {
    return {Precision::kFp8E4M3, Precision::kBf16, Precision::kBf16, Precision::kBf16};
  }
};

enum class OpKind {
  kEmbedding,      // shape {rows, dim}; flops 0; reads rows*dim, writes rows*dim
  kGemm,           // shape {M, N, K}
  kGroupedGemm,    // routed experts: shape {sum of rows over experts, N, K, experts used}
  kAttention,      // core attention: shape {batch, heads, q_len, kv_len, d_qk, d_v, pairs per sequence and head}
  kRmsNorm,        // shape {rows, cols}; flops 4*rows*cols
  kRope,           // shape {rows, rotated cols}; flops 3*rows*cols
  kSwiglu,         // silu(a)*b: shape {rows, cols}; flops 5*rows*cols
  kGate,           // MoE gate scoring + top-k: shape {tokens, experts, top_k}; flops = 2*tokens*experts*dim
  kMoeCombine,     // weighted sum of expert outputs: shape {tokens, top_k, dim}
  kResidualAdd,    // shape {rows, cols}; flops rows*cols
  kConcat,         // MTP [norm(h); norm(emb)]: shape {rows, cols out}
};
constexpr auto enum_names(OpKind) {
  return std::array{std::pair{OpKind::kEmbedding, std::string_view("embedding")},
                    std::pair{OpKind::kGemm, std::string_view("gemm")},
                    std::pair{OpKind::kGroupedGemm, std::string_view("grouped_gemm")},
                    std::pair{OpKind::kAttention, std::string_view("attention")},
                    std::pair{OpKind::kRmsNorm, std::string_view("rms_norm")},
                    std::pair{OpKind::kRope, std::string_view("rope")},
                    std::pair{OpKind::kSwiglu, std::string_view("swiglu")},
                    std::pair{OpKind::kGate, std::string_view("gate")},
                    std::pair{OpKind::kMoeCombine, std::string_view("moe_combine")},
                    std::pair{OpKind::kResidualAdd, std::string_view("residual_add")},
                    std::pair{OpKind::kConcat, std::string_view("concat")}};
}

// Layer index used for ops outside the transformer blocks.
inline constexpr int kEmbeddingLayer = -1;  // embedding lookup
inline constexpr int kHeadLayer = -2;       // final norm + output head
// MTP module d (1-based) reports layer = n_layers + d - 1.

struct OpRecord {
  int layer = 0;
  std::string name;  // e.g. "attn.wq_a", "attn.core", "moe.experts.w1", "head"
  OpKind kind = OpKind::kGemm;
  Precision precision = Precision::kFp32;
  std::vector<int64_t> shape;  // meaning per OpKind, see above
  Flops flops;
  Bytes bytes_read;
  Bytes bytes_written;
};

// Routing decision of one MoE layer for one forward call. Tokens are numbered
// in the order of the call's rows (batch-major: sequence b, position s ->
// b*seq_len + s).
struct RoutingRecord {
  int layer = 0;
  int n_tokens = 0;
  int top_k = 0;
  int n_experts = 0;
  std::vector<int32_t> experts;  // n_tokens x top_k, row-major, expert ids
  std::vector<float> weights;    // n_tokens x top_k, gate weights (incl. route_scale)
};

// Subscriber interface. Callbacks run synchronously inside forward().
class OpObserver {
 public:
  virtual ~OpObserver() = default;
  virtual void on_op(const OpRecord& op) = 0;
  virtual void on_routing(const RoutingRecord&) {}
};

// An observer that keeps everything (tests, small traces).
class OpLog : public OpObserver {
 public:
  void on_op(const OpRecord& op) override { ops.push_back(op); }
  void on_routing(const RoutingRecord& r) override { routing.push_back(r); }
  std::vector<OpRecord> ops;
  std::vector<RoutingRecord> routing;
};

}  // namespace codesim::models
