// File: models/op_list.hpp
//
// Analytic per-layer op lists: for each layer of a ModelSpec, the ordered
// ops (models/ops.hpp) a GPU runs for one micro-batch, with shapes, FLOPs and
// bytes. This is what the training/inference simulators time; the Eigen
// reference implementation emits the same Op records (plus the measured
// routing) into traces.
//
// The list covers the whole micro-batch as if on one device (no expert
// parallel split; with OpListOptions::tensor_parallel, one GPU of the TP
// group). MoE layers assume balanced routing: the routed
// grouped GEMMs have tokens * top_k rows in total; a trace with a measured
// routing (models/trace.hpp) carries the per-expert loads and the EP byte
// matrices that split them over GPUs.
//
// Layer order: "embed", "layer.0" ... "layer.{n-1}", "head" (final norm,
// output GEMM, loss), then "mtp.0" ... (each MTP module: norms, eh_proj,
// one block, the shared head and its loss). Decode and prefill list them
// only with OpListOptions::serving_mtp.
// In training each layer lists its forward ops, then its backward-input ops
// in reverse order, then its weight-gradient ops (DualPipe's F, B, W).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "models/model_spec.hpp"
#include "models/ops.hpp"

namespace codesim::models {

enum class Workload { kTraining, kPrefill, kDecode };
constexpr auto enum_names(Workload) {
  return std::array{std::pair{Workload::kTraining, std::string_view("training")},
                    std::pair{Workload::kPrefill, std::string_view("prefill")},
                    std::pair{Workload::kDecode, std::string_view("decode")}};
}

enum class LayerKind { kEmbedding, kDense, kMoe, kHead, kMtp };
constexpr auto enum_names(LayerKind) {
  return std::array{std::pair{LayerKind::kEmbedding, std::string_view("embedding")},
                    std::pair{LayerKind::kDense, std::string_view("dense")},
                    std::pair{LayerKind::kMoe, std::string_view("moe")},
                    std::pair{LayerKind::kHead, std::string_view("head")},
                    std::pair{LayerKind::kMtp, std::string_view("mtp")}};
}

struct OpListOptions {
  Workload workload = Workload::kTraining;
  int64_t batch = 1;       // sequences in the micro-batch
  int64_t seq_len = 4096;  // tokens per sequence; for decode, the context length
  // Decode: query positions per sequence in one step (1, or 1 + the MTP
  // drafts being verified); the step runs batch x decode_queries tokens.
  int64_t decode_queries = 1;
  bool causal = true;
  // MLA: absorbed path (cache the latent; W_UK folded into q, W_UV into the
  // output). Default: naive in training and prefill, absorbed in decode.
  std::optional<bool> mla_absorbed;
  Precision linear_precision = Precision::kFp8E4M3;  // projections, FFN, experts
  Precision attention_precision = Precision::kBf16;
  // The output head and the MoE gate (router) GEMMs: BF16 in DeepSeek-V3's
  // recipe (TR 3.3) whatever linear_precision says.
  Precision head_precision = Precision::kBf16;
  Precision gate_precision = Precision::kBf16;
  // The EP dispatch payload, forward and the gradients' (the combine's
  // backward): FP8 with 1x128 scales as DeepSeek-V3 (TR 3.3), or BF16.
  // Combines stay BF16.
  Precision dispatch_precision = Precision::kFp8E4M3;
  bool include_mtp = true;  // MTP modules (training only; decode/prefill skip them)
  // Serving (decode, prefill): append the MTP modules after the head.
  // Decode: the draft pass, one position per sequence (batch tokens,
  // attention over the context). Prefill: over the prompt (the module needs
  // its own KV cache).
  bool serving_mtp = false;
  // Prefill: tokens per sequence already in the KV cache (prefix-cache
  // hits) before its seq_len new ones: attention reads their keys and
  // values, and MLA's naive path first up-projects their cached latents.
  int64_t prefix_len = 0;
  // Training: Megatron-style tensor parallelism over this many GPUs, with
  // sequence parallelism. Per GPU: the attention heads, the dense FFN's and
  // shared experts' intermediate width, and the vocabulary (embedding, head,
  // loss) split tp ways; norms, residuals, the MoE router and the routed
  // experts' tokens run on the GPU's 1/tp of the tokens; MLA's down-
  // projections (wq_a, wkv_a) and MTP's eh_proj stay replicated (as in
  // Megatron-Core). Each TP region is entered with an all-gather of the
  // tokens and left with a reduce-scatter (kTpComm ops; their backward
  // swaps the two, and the weight gradients of a region all-gather its
  // input again, as only the GPU's share of it is kept). 1: no TP, the ops
  // of the whole micro-batch.
  int tensor_parallel = 1;
};

struct LayerOps {
  std::string name;  // "embed", "layer.3", "head", "mtp.0"
  LayerKind kind = LayerKind::kDense;
  std::vector<Op> ops;
};

// Throws nothing; the spec must have passed validation.
std::vector<LayerOps> build_op_list(const ModelSpec& spec, const OpListOptions& options);

// The attention core ("attn.core") of one layer as build_op_list emits it,
// for `batch` sequences of `q_len` query positions over options.seq_len
// keys (plus options.prefix_len cached ones in prefill): MHA form for GQA
// and naive MLA, latent MQA form for absorbed MLA (decode by default).
Op attention_core(const ModelSpec& spec, const OpListOptions& options, int64_t batch, int64_t q_len,
                  int64_t tp = 1);
// GQA under TP: the KV heads a GPU holds (a replica of one when there are
// fewer KV heads than TP ranks).
int64_t gqa_local_kv_heads(int64_t kv_heads, int64_t tp);

// Sum of FLOPs (or bytes) over a list, optionally restricted to one pass and
// to GEMM/attention ops only (the "model FLOPs" of the 6N convention).
Flops total_flops(const std::vector<LayerOps>& layers, std::optional<Pass> pass = std::nullopt,
                  bool matmul_only = false);

}  // namespace codesim::models
