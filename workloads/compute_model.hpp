// File: workloads/compute_model.hpp
//
// How long one op (models/ops.hpp) takes on one GPU: a roofline whose
// efficiencies depend on the op's kind and shape, calibrated once against
// DeepSeek's H800 measurements (workloads/calibration.yaml says which
// constant came from which data and how it was fitted).
//
//   t = max(flops / (peak(precision) * sms_available / sms * eff_compute),
//           bytes / (hbm * eff_memory))  +  launch_overhead
//
//   eff_compute, GEMM and grouped GEMM (per group: m rows, n cols, k depth):
//       peak_fraction * k/(k + k_half) * n/(n + n_half) * m/(m + m_half)
//     (k_half: per-tile prologue/epilogue and FP8 promotion overhead
//      amortised over the depth; n_half, m_half: tile/wave quantisation of
//      thin problems; m is the rows of one group, m_total / groups).
//   eff_compute, attention: peak_fraction * kv/(kv + kv_half); the forward,
//     the backward (2.5x the forward FLOPs) and the decode kernel (few
//     queries per sequence, FlashMLA) are separate families.
//   Memory-bound ops (norms, casts, activations, router, embedding, loss):
//     eff_memory of HBM bandwidth.
//
// Compute throughput scales with the SMs the kernel may use: DeepSeek
// reserves 20 of the H800's 132 SMs for communication in training, so its
// GEMMs run on 112 (T19). HBM bandwidth is not scaled (a memory-bound kernel
// saturates HBM with far fewer SMs).
//
// Everything here is a pure function of its arguments: no scheduler, no
// globals. The inference simulator ("infer") uses the same functions with
// sms_available = gpu.sms (no SMs reserved when all-to-all runs on RDMA).
#pragma once

#include <string>
#include <vector>

#include "models/ops.hpp"
#include "sim/config.hpp"
#include "sim/units.hpp"

namespace codesim::workloads {

// What the compute model needs of a GPU (a subset of topology::GpuSpec, kept
// separate so that the model is testable without a cluster).
struct GpuCompute {
  FlopRate bf16_dense;  // dense BF16 Tensor-Core peak
  FlopRate fp8_dense;   // dense FP8 Tensor-Core peak
  Bandwidth hbm;        // HBM bandwidth
  int sms = 0;          // streaming multiprocessors
};

// One GEMM family (FP8 or BF16), see the header comment.
struct GemmEfficiency {
  double peak_fraction = 0.86;
  double k_half = 600;
  double n_half = 800;
  double m_half = 128;
  template <class V>
  void fields(V& v) {
    v.req("peak_fraction", peak_fraction, "asymptotic fraction of the dense peak");
    v.req("k_half", k_half, "depth at which the k factor is 1/2");
    v.req("n_half", n_half, "columns at which the n factor is 1/2");
    v.req("m_half", m_half, "rows per group at which the m factor is 1/2");
  }
};

// One attention family.
struct AttentionEfficiency {
  double peak_fraction = 0.6;
  double kv_half = 256;          // keys per sequence at which the factor is 1/2
  double memory_fraction = 0.8;  // of HBM bandwidth, for the memory-bound side
  template <class V>
  void fields(V& v) {
    v.req("peak_fraction", peak_fraction, "asymptotic fraction of the BF16 peak");
    v.req("kv_half", kv_half, "keys per sequence at which the efficiency is halved");
    v.req("memory_fraction", memory_fraction, "fraction of HBM bandwidth reached");
  }
};

// The fitted constants (workloads/calibration.yaml). Defaults equal the file.
struct ComputeCalibration {
  std::string source;       // what the constants were fitted to
  GemmEfficiency gemm_fp8;  // DeepGEMM FP8 (1x128 / 128x128 scaled)
  GemmEfficiency gemm_bf16{0.80, 185, 185, 128};
  // FP8 weight-gradient GEMMs (dW = X^T dY, depth = tokens, FP32 output
  // accumulated in place): a separate, slower kernel family in train.json.
  GemmEfficiency gemm_fp8_wgrad{0.55, 600, 800, 128};
  AttentionEfficiency attention_forward{0.682, 128, 0.86};   // FlashAttention-3 forward
  AttentionEfficiency attention_backward{0.558, 128, 0.86};  // FlashAttention-3 backward
  AttentionEfficiency attention_decode{0.595, 64, 0.896};    // FlashMLA (few queries per sequence)
  int decode_max_queries = 16;       // q_len at or below which attention counts as decode
  double memory_fraction = 0.86;     // of HBM bandwidth, for the operands of GEMMs
  // Of HBM bandwidth, for standalone memory-bound kernels (norms, casts,
  // activations, permutations, router, residuals): an aggregate fit, see
  // calibration.yaml.
  double elementwise_fraction = 0.463;
  Duration launch_overhead = Microseconds(4);  // per kernel, small-problem floor
  // A top-k selection (OpType::kTopK) costs this much SM time per row: a
  // block per row, bound by its passes and syncs, not by bytes.
  Duration topk_row_time = Nanoseconds(1820);
  // Fraction of wall time the training compute stream is busy inside an
  // overlapped chunk (host launch gaps, stream syncs); 1 = no gaps.
  double stream_occupancy = 0.963;
  // DeepEP all-to-all inside a training step: the fraction of the NIC's
  // effective bandwidth its dispatch (FP8) and combine (BF16) kernels reach
  // while the other chunk computes (used by workloads/training.cpp).
  double deepep_dispatch_fraction = 0.687;
  double deepep_combine_fraction = 0.835;
  // The communication SMs the run those fractions were fitted to gave
  // DeepEP (train.json: DeepSeek's 20 of 132). A plan with other comm_sms
  // gets the same all-to-all (noted), only the compute's SMs change.
  int deepep_fit_sms = 20;
  // HBM a training GPU holds outside the model's tensors (CUDA context,
  // DeepEP and NCCL buffers): counted in every rank's memory (plan.hpp).
  Bytes training_memory_reserve = GB(4);
  // The file's `serving:` section (workloads/serving.hpp ServingCalibration),
  // kept raw here: serving scenarios include it by `calibration.yaml#serving`.
  config::Node serving;

  template <class V>
  void fields(V& v) {
    v.opt("source", source, "what the constants were fitted to");
    v.req("gemm_fp8", gemm_fp8, "FP8 GEMM efficiency");
    v.req("gemm_bf16", gemm_bf16, "BF16 GEMM efficiency");
    v.req("gemm_fp8_wgrad", gemm_fp8_wgrad, "FP8 weight-gradient GEMM efficiency");
    v.req("attention_forward", attention_forward, "attention forward efficiency");
    v.req("attention_backward", attention_backward, "attention backward efficiency");
    v.req("attention_decode", attention_decode, "decode attention efficiency");
    v.opt("decode_max_queries", decode_max_queries, "q_len at or below which attention is decode");
    v.req("memory_fraction", memory_fraction, "fraction of HBM bandwidth reached by GEMM operands");
    v.req("elementwise_fraction", elementwise_fraction,
          "fraction of HBM bandwidth reached by memory-bound kernels");
    v.req("launch_overhead", launch_overhead, "per-kernel fixed cost");
    v.req("topk_row_time", topk_row_time, "SM time per row of a top-k selection");
    v.req("stream_occupancy", stream_occupancy, "busy fraction of the training compute stream");
    v.req("deepep_dispatch_fraction", deepep_dispatch_fraction,
          "fraction of the NIC's effective bandwidth reached by DeepEP dispatch in training");
    v.req("deepep_combine_fraction", deepep_combine_fraction,
          "fraction of the NIC's effective bandwidth reached by DeepEP combine in training");
    v.opt("deepep_fit_sms", deepep_fit_sms, "communication SMs the DeepEP fractions were fitted at");
    v.opt("training_memory_reserve", training_memory_reserve,
          "HBM a training GPU holds outside the model's tensors (context, communication buffers)");
    v.opt("serving", serving, "the serving step model's constants (read by serving scenarios)");
  }
  void validate(config::Reader& r);
};

// workloads/calibration.yaml in the source tree.
std::string default_calibration_path();
// Loads and checks a calibration file; false with every error in `diags`.
bool load_calibration(const std::string& path, ComputeCalibration& out, config::Diagnostics& diags);
// The default file, loaded once per call (cheap); aborts nothing: on error
// returns the compiled-in defaults and fills `diags`.
ComputeCalibration default_calibration(config::Diagnostics* diags = nullptr);

struct OpTime {
  Duration time;          // roofline + launch overhead
  Duration compute_time;  // flops side
  Duration memory_time;   // bytes side
  bool memory_bound = false;
  double efficiency = 0;  // eff_compute used
};

// Time of one op on one GPU with `sms_available` SMs for compute kernels.
// Communication ops (dispatch/combine, TP collectives) are not timed here:
// the result is zero (they run on the network model).
OpTime time_op(const models::Op& op, const GpuCompute& gpu, const ComputeCalibration& cal,
               int sms_available);

// The helper kernels an op brings with it on real hardware, which the
// analytic op list does not name (all memory-bound elementwise ops):
//  * FP8 GEMMs: quantisation (DeepSeek-V3 TR 3.3: 1x128 activation tiles,
//    128x1 transposed tiles for the weight gradient): forward and
//    input-gradient GEMMs cast their activation operand (BF16 in, FP8 +
//    FP32 scales out) unless it arrived in FP8 (Op::input_fp8: the rows of
//    an FP8 dispatch); weight-gradient GEMMs cast-and-transpose X and dY:
//    a BF16 tensor in the input-gradient pass, where it exists (the cast
//    carries Pass::kBackwardInput), one that arrived in FP8 (Op::input_fp8,
//    Op::grad_fp8) re-tiled from FP8 in the weight-gradient pass itself;
//  * FP8 GEMMs after the attention operator (Op::input_e5m6): one more cast
//    of the attention output, kept for the backward in E5M6 (TR 3.3.3);
//  * FP8 dispatches (forward, and the combine's gradient): one cast of the
//    sender's tokens before they leave (DeepSeek-V3 TR 3.3.3);
//  * grouped (routed-expert) GEMMs, forward and input gradient: one
//    permutation of the activation operand into/out of expert-contiguous
//    order (read and write, BF16);
//  * attention backward: FlashAttention's pre-processing (rowsum of O * dO)
//    and post-processing (FP32 dQ accumulator to BF16).
std::vector<models::Op> auxiliary_kernels(const models::Op& op);

// Sum of time_op over a list (serial on one stream).
Duration time_ops(const std::vector<models::Op>& ops, const GpuCompute& gpu,
                  const ComputeCalibration& cal, int sms_available);

}  // namespace codesim::workloads
