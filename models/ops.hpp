// File: models/ops.hpp
//
// One "op" is the unit of work the simulator's compute model times: a GEMM,
// a grouped (MoE) GEMM, the attention core, a norm, an elementwise kernel, the
// router, or an EP all-to-all (dispatch / combine). Op lists are produced from
// a ModelSpec by models/op_list.hpp (analytic) and by the Eigen reference
// implementation (measured shapes, routing), and are stored in traces
// (models/trace.hpp, models/TRACE_FORMAT.md).
//
// Conventions (every constructor below applies them, so all producers agree):
//  * FLOPs: a multiply-add is 2 FLOPs. GEMM C[m,n] = A[m,k] B[k,n] costs
//    2mnk; a grouped GEMM with `groups` weight matrices and m rows in total
//    (rows summed over groups) costs the same 2mnk.
//  * Attention core (forward): 2 * heads * pairs * (qk_dim + v_dim), where
//    pairs = q_len * kv_len per sequence, or, when causal, the FlashAttention
//    convention pairs = q_len * (kv_len - q_len) + q_len^2 / 2 (the rectangle
//    of earlier keys plus half the square; S^2/2 for a full sequence of S).
//    Backward (dQ, dK, dV with the recompute of QK^T) is 2.5x the forward,
//    the FlashAttention-2 count of 5 matmuls against 2.
//  * Bytes: the HBM traffic lower bound with perfect on-chip reuse: each
//    input read once, each output written once. FP8 operands carry FP32
//    scales: one per 1x128 tile of activations, one per 128x128 block of
//    weights (DeepSeek-V3 TR Sec. 3.3). GEMM outputs are BF16 (FP32 for
//    weight gradients).
//  * Communication ops (dispatch/combine) count token-expert copies; their
//    bytes_read are the payload leaving this GPU before de-duplication
//    (the trace's byte matrices give the placement-aware split).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "models/op_observer.hpp"  // Precision, OpRecord
#include "sim/units.hpp"

namespace codesim::models {

// What an op does. (mref's OpRecord::kind, models/op_observer.hpp, is the
// reference implementation's finer vocabulary; op_from_record() maps it here.)
enum class OpType {
  kEmbedding,    // table lookup: rows = tokens, cols = dim
  kGemm,         // dense GEMM (projections, dense FFN, shared experts, head)
  kGroupedGemm,  // MoE experts (one GEMM per expert over its routed rows), or
                 // per-head batched GEMMs (MLA absorbed W_UK / W_UV)
  kAttention,    // attention core (QK^T, softmax, PV)
  kNorm,         // RMSNorm
  kRope,         // rotary embedding on q/k
  kActivation,   // SwiGLU
  kElementwise,  // residual add, casts, other pointwise kernels
  kRouter,       // scores, bias, group scores, weights (pointwise)
  kTopK,         // one top-k selection per row (rows = tokens, cols = candidates):
                 // latency-bound per row, not by its bytes (compute_model)
  kDispatch,     // EP all-to-all towards the experts
  kCombine,      // EP all-to-all back, weighted sum
  kLoss,         // softmax cross-entropy over the vocabulary
  kTpComm,       // tensor parallelism: all-gather or reduce-scatter of a BF16
                 // tokens x hidden activation over `copies` GPUs (CommShape)
};
constexpr auto enum_names(OpType) {
  return std::array{std::pair{OpType::kEmbedding, std::string_view("embedding")},
                    std::pair{OpType::kGemm, std::string_view("gemm")},
                    std::pair{OpType::kGroupedGemm, std::string_view("grouped_gemm")},
                    std::pair{OpType::kAttention, std::string_view("attention")},
                    std::pair{OpType::kNorm, std::string_view("norm")},
                    std::pair{OpType::kRope, std::string_view("rope")},
                    std::pair{OpType::kActivation, std::string_view("activation")},
                    std::pair{OpType::kElementwise, std::string_view("elementwise")},
                    std::pair{OpType::kRouter, std::string_view("router")},
                    std::pair{OpType::kTopK, std::string_view("topk")},
                    std::pair{OpType::kDispatch, std::string_view("dispatch")},
                    std::pair{OpType::kCombine, std::string_view("combine")},
                    std::pair{OpType::kLoss, std::string_view("loss")},
                    std::pair{OpType::kTpComm, std::string_view("tp_comm")}};
}

// Forward, backward for the input gradient ("B" in DualPipe's F/B/W), or
// backward for the weight gradient ("W").
enum class Pass { kForward, kBackwardInput, kBackwardWeight };
constexpr auto enum_names(Pass) {
  return std::array{std::pair{Pass::kForward, std::string_view("F")},
                    std::pair{Pass::kBackwardInput, std::string_view("B")},
                    std::pair{Pass::kBackwardWeight, std::string_view("W")}};
}

// C[m,n] = A[m,k] * B[k,n]; for a grouped GEMM m is the total over groups and
// `groups` weight matrices of k x n are read.
struct GemmShape {
  int64_t m = 0, n = 0, k = 0;
  int64_t groups = 1;
  bool operator==(const GemmShape&) const = default;
};
// Attention over `batch` sequences; n_kv_heads < n_heads is GQA/MQA.
struct AttentionShape {
  int64_t batch = 0, q_len = 0, kv_len = 0;
  int64_t n_heads = 0, n_kv_heads = 0;
  int64_t qk_dim = 0, v_dim = 0;
  bool causal = true;
  bool operator==(const AttentionShape&) const = default;
};
// A pointwise or row-wise kernel over a rows x cols tensor.
struct ElementwiseShape {
  int64_t rows = 0, cols = 0;
  bool operator==(const ElementwiseShape&) const = default;
};
// An all-to-all: `tokens` tokens, `copies` token-expert copies in total,
// each `hidden` wide. A TP collective (kTpComm): the full tensor's `tokens`
// rows of `hidden`, over `copies` = TP GPUs.
struct CommShape {
  int64_t tokens = 0, copies = 0, hidden = 0;
  bool operator==(const CommShape&) const = default;
};
using OpShape = std::variant<GemmShape, AttentionShape, ElementwiseShape, CommShape>;

struct Op {
  std::string name;  // stable within its layer, e.g. "attn.wq_a", "moe.up"
  OpType kind = OpType::kElementwise;
  Pass pass = Pass::kForward;
  Precision precision = Precision::kBf16;  // of the inputs (compute precision)
  int layer_hint = 0;  // OpRecord::layer when converted from one, else 0
  OpShape shape;
  Flops flops;
  Bytes bytes_read;
  Bytes bytes_written;
  // GEMMs: the activation operand (a weight-gradient GEMM: X) arrives
  // already quantised to FP8 (it came through an FP8 dispatch, which
  // quantised it on the sender's tokens), so no BF16 cast precedes this GEMM
  // (workloads/compute_model.hpp).
  bool input_fp8 = false;
  // Weight-gradient GEMMs: dY arrived in FP8 (the gradients' FP8 dispatch).
  bool grad_fp8 = false;
  // Training, forward FP8 GEMMs that take the attention output: that tensor
  // is also cached for the attention backward, in DeepSeek's E5M6 format
  // (TR 3.3.3 "Low-precision storage"), one more cast of it here.
  bool input_e5m6 = false;
};

// Scale-factor bytes of an FP8 operand: FP32 per 1x128 tile (activations) or
// per 128x128 block (weights); 0 for other precisions.
uint64_t activation_scale_bytes(Precision p, int64_t rows, int64_t cols);
uint64_t weight_scale_bytes(Precision p, int64_t rows, int64_t cols);

// Pairs (query, key) that the attention core evaluates per head and sequence.
double attention_pairs(const AttentionShape& s);

// Constructors that fill flops and bytes by the conventions above.
// GEMM forward or backward: the caller passes the shape of the GEMM that runs
// (for backward use gemm_backward below).
Op gemm_op(std::string name, Pass pass, Precision precision, GemmShape shape);
// The two backward GEMMs of a forward GEMM (m,n,k): dX = dY W^T is (m,k,n),
// dW = X^T dY is (k,n,m) per group; weight gradients are written in FP32.
Op gemm_backward_input(const Op& forward);
Op gemm_backward_weight(const Op& forward);
Op attention_op(std::string name, Pass pass, Precision precision, AttentionShape shape);
// Pointwise/row-wise: flops_per_element arithmetic, `inputs` tensors of the
// shape read, `outputs` written.
Op elementwise_op(std::string name, OpType kind, Pass pass, Precision precision,
                  ElementwiseShape shape, double flops_per_element, int inputs, int outputs);
// Dispatch (payload in `precision`, FP8 with 1x128 scales) or combine.
Op comm_op(std::string name, OpType kind, Pass pass, Precision precision, CommShape shape);

// Converts a reference-implementation record (forward ops) into an Op,
// keeping its measured flops and bytes. Kind map: rms_norm -> norm,
// swiglu -> activation, gate -> router, moe_combine / residual_add / concat
// -> elementwise; shapes map to the typed shapes (attention: batch 1,
// n_kv_heads = n_heads, causal when causal_pairs < q_len * kv_len).
Op op_from_record(const OpRecord& record);

}  // namespace codesim::models
