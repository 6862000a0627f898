// File: workloads/plan.hpp
//
// The `plan` section of a scenario: how a model is spread over the cluster
// for training. Example (scenarios/paper/v3-train-2048-h800-mpft.yaml):
//
//   plan:
//     pipeline: {degree: 16, schedule: dualpipe}
//     expert:   {degree: 64, nodes_per_group: 8, max_nodes_per_token: 4}
//     data:     {degree: 128, zero_stage: 1}
//     tensor:   {degree: 1}
//     batch:    {micro_batch: 1, global_batch: 15360, sequence_length: 4096}
//     precision: {gemm: fp8}
//     comm_sms: 20
//     recompute: {norms: true, mla_up_projection: true, swiglu: true}
//
// Degrees: PP x DP x TP = GPUs; EP divides the DP x TP GPUs of one stage
// (experts are sharded over EP GPUs and replicated over the rest of the
// stage). Micro-batches per step and DP rank = global / (DP x micro_batch).
//
// Plan::validate checks what the plan alone decides (positive degrees, batch
// divisibility, the schedule's micro-batch constraints). check_plan() checks
// it against the cluster and the model (GPU count, experts per GPU, node
// limit, memory within HBM) and reports through the scenario's Reader, so
// every error names file:line:key.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "models/counts.hpp"
#include "models/model_spec.hpp"
#include "models/op_list.hpp"
#include "sim/config.hpp"
#include "sim/units.hpp"
#include "workloads/compute_model.hpp"
#include "workloads/schedule.hpp"

namespace codesim::workloads {

// Bytes per parameter of the training state (DeepSeek-V3 TR 3.3.1: FP32
// master weights and gradient accumulation, BF16 weights; the AdamW moments
// in plan.precision.optimizer_moments). Memory (plan.cpp) and the DP
// collectives (training.cpp) share them: gradients are reduce-scattered in
// FP32, parameters all-gathered in BF16.
constexpr uint64_t kGradBytesPerParam = 4;
constexpr uint64_t kWeightBytesPerParam = 2;
constexpr uint64_t kMasterBytesPerParam = 4;

struct PipelinePlan {
  int degree = 1;
  PipelineSchedule schedule = PipelineSchedule::k1F1B;
  // Op-list layers (embed, each transformer layer, head, each MTP module) per
  // stage; empty = automatic balancing (partition_layers).
  std::vector<int> layers_per_stage;
  int virtual_stages = 2;  // 1f1b-interleaved: model chunks per rank
  // Model stages: PP, 2 x PP (dualpipev) or virtual_stages x PP (interleaved).
  int stages() const { return pipeline_stages(schedule, degree, virtual_stages); }
  template <class V>
  void fields(V& v) {
    v.req("degree", degree, "pipeline ranks (PP); stages = PP, 2 x PP for dualpipev, virtual_stages x PP for 1f1b-interleaved");
    v.opt("schedule", schedule,
          "1f1b, zb1p, dualpipe, dualpipev (PP ranks of 2 stages each) or 1f1b-interleaved (Megatron's "
          "virtual pipeline: virtual_stages stages per rank)");
    v.opt("virtual_stages", virtual_stages, "1f1b-interleaved: model chunks (virtual stages) per rank, >= 2");
    v.opt("layers_per_stage", layers_per_stage,
          "op-list layers per stage (embed, layers, head, MTP modules count one each); "
          "empty = balanced automatically");
  }
};

struct ExpertPlan {
  int degree = 1;               // EP: GPUs the routed experts of a layer are spread over
  int nodes_per_group = 1;      // nodes one EP group spans
  int max_nodes_per_token = 0;  // node-limited routing M (0: no limit)
  template <class V>
  void fields(V& v) {
    v.req("degree", degree, "expert-parallel degree (EP)");
    v.opt("nodes_per_group", nodes_per_group, "nodes one EP group spans");
    v.opt("max_nodes_per_token", max_nodes_per_token, "node-limited routing M (0 = none)");
  }
};

struct DataPlan {
  int degree = 1;
  // 0: replicated optimizer; 1: optimizer states sharded; 2: + gradients;
  // 3: + parameters (FSDP's full shard: each layer gathered per use)
  int zero_stage = 1;
  template <class V>
  void fields(V& v) {
    v.req("degree", degree, "data-parallel degree (DP)");
    v.opt("zero_stage", zero_stage, "ZeRO stage: 0, 1, 2 or 3");
  }
};

struct TensorPlan {
  int degree = 1;
  template <class V>
  void fields(V& v) {
    v.opt("degree", degree, "tensor-parallel degree (TP, with sequence parallelism, inside one node)");
  }
};

struct BatchPlan {
  int micro_batch = 1;     // sequences per micro-batch
  int global_batch = 1;    // sequences per optimizer step, all DP ranks
  int sequence_length = 4096;
  template <class V>
  void fields(V& v) {
    v.req("micro_batch", micro_batch, "sequences per micro-batch");
    v.req("global_batch", global_batch, "sequences per step (all data-parallel ranks)");
    v.req("sequence_length", sequence_length, "tokens per sequence");
  }
};

enum class GemmPrecision { kBf16, kFp8 };
constexpr auto enum_names(GemmPrecision) {
  return std::array{std::pair{GemmPrecision::kBf16, std::string_view("bf16")},
                    std::pair{GemmPrecision::kFp8, std::string_view("fp8")}};
}

// AdamW's first and second moments: BF16 as DeepSeek-V3 (TR 3.3.1, "BF16
// instead of FP32 ... without observable performance degradation"), or FP32
// as Megatron's and DeepSpeed's default recipes.
enum class MomentPrecision { kBf16, kFp32 };
constexpr auto enum_names(MomentPrecision) {
  return std::array{std::pair{MomentPrecision::kBf16, std::string_view("bf16")},
                    std::pair{MomentPrecision::kFp32, std::string_view("fp32")}};
}

struct PrecisionPlan {
  GemmPrecision gemm = GemmPrecision::kFp8;  // linear layers (Fprop, Dgrad, Wgrad)
  // Kept in BF16 whatever `gemm` says (DeepSeek-V3 TR 3.3): embedding, output
  // head, MoE gate, norms and the attention core. With gemm: fp8, leaving
  // head, gate or attention out runs that op in FP8 (at the FP8 peak, the
  // same fitted efficiency); embedding and norm have no FP8 kernel and stay
  // BF16 either way.
  std::vector<std::string> bf16_ops = {kBf16OpNames.begin(), kBf16OpNames.end()};
  static constexpr std::array<std::string_view, 5> kBf16OpNames = {"embedding", "head", "gate", "norm", "attention"};
  static bool known_bf16_op(const std::string& op) {
    return std::find(kBf16OpNames.begin(), kBf16OpNames.end(), op) != kBf16OpNames.end();
  }
  bool keeps_bf16(const std::string& op) const {
    return std::find(bf16_ops.begin(), bf16_ops.end(), op) != bf16_ops.end();
  }
  bool fp8_dispatch = true;  // dispatch in FP8 (combine stays BF16)
  MomentPrecision optimizer_moments = MomentPrecision::kBf16;
  // m and v together.
  uint64_t moment_bytes_per_param() const { return optimizer_moments == MomentPrecision::kFp32 ? 8 : 4; }
  template <class V>
  void fields(V& v) {
    v.opt("gemm", gemm, "bf16 or fp8 for the linear layers");
    v.opt("bf16_ops", bf16_ops,
          "ops that stay BF16 under gemm: fp8, of embedding, head, gate, norm, attention (head, gate and attention "
          "left out run in FP8; embedding and norm have no FP8 kernel)");
    v.opt("fp8_dispatch", fp8_dispatch, "EP dispatch payload (and the gradients' dispatch) in FP8; false: BF16");
    v.opt("optimizer_moments", optimizer_moments,
          "AdamW moments: bf16 (DeepSeek-V3, the default) or fp32 (Megatron's and DeepSpeed's recipes)");
  }
};

struct RecomputePlan {
  bool norms = true;              // RMSNorm outputs recomputed in backward
  bool mla_up_projection = true;  // q/kv up-projections recomputed in backward
  bool swiglu = true;             // SwiGLU output recomputed from its FP8-cached input
  template <class V>
  void fields(V& v) {
    v.opt("norms", norms, "recompute RMSNorm in backward");
    v.opt("mla_up_projection", mla_up_projection, "recompute MLA up-projections in backward");
    v.opt("swiglu", swiglu, "recompute the SwiGLU output in backward");
  }
};

struct Plan {
  PipelinePlan pipeline;
  ExpertPlan expert;
  DataPlan data;
  TensorPlan tensor;
  BatchPlan batch;
  PrecisionPlan precision;
  int comm_sms = 0;  // SMs reserved for communication kernels (DeepSeek: 20 of 132)
  RecomputePlan recompute;

  template <class V>
  void fields(V& v) {
    v.req("pipeline", pipeline, "pipeline parallelism");
    v.opt("expert", expert, "expert parallelism");
    v.req("data", data, "data parallelism");
    v.opt("tensor", tensor, "tensor parallelism");
    v.req("batch", batch, "batch and sequence sizes");
    v.opt("precision", precision, "GEMM and communication precision");
    v.opt("comm_sms", comm_sms, "SMs reserved for communication kernels");
    v.opt("recompute", recompute, "activation recomputation");
  }
  void validate(config::Reader& r);

  int gpus() const { return pipeline.degree * data.degree * tensor.degree; }
  // Micro-batches per step on one pipeline (one DP rank).
  int micro_batches() const { return global_batch_per_dp() / batch.micro_batch; }
  int global_batch_per_dp() const { return batch.global_batch / data.degree; }
  int64_t tokens_per_step() const {
    return static_cast<int64_t>(batch.global_batch) * batch.sequence_length;
  }
  // One GPU's share of a micro-batch's tokens outside TP regions (sequence
  // parallelism): what it dispatches, sends down the pipeline and caches.
  int64_t tokens_per_gpu_micro_batch() const { return tokens_per_micro_batch() / std::max(1, tensor.degree); }
  int64_t tokens_per_micro_batch() const {
    return static_cast<int64_t>(batch.micro_batch) * batch.sequence_length;
  }
};

// A contiguous range of the model's op-list layers (models/op_list.hpp order:
// embed, layer.0 .. layer.{n-1}, head, mtp.*) held by one pipeline stage.
struct StageLayers {
  int first = 0;  // index into the layer list
  int count = 0;
};

// The balancing cost of each op-list layer: the modelled compute time of all
// its ops (forward, input and weight gradients, with auxiliary kernels) on
// `sms` SMs, in seconds. Communication is left out (DualPipe hides it in
// the steady state). The memory check and the step simulation use the same
// costs, so they split the model the same way.
std::vector<double> layer_costs(const std::vector<models::LayerOps>& layers, const GpuCompute& gpu,
                                const ComputeCalibration& cal, int sms);
std::vector<int> layer_kinds(const std::vector<models::LayerOps>& layers);

// Splits `cost` (one entry per layer) into `parts` contiguous ranges
// minimising the largest sum (exact dynamic programme). With `paired`
// (DualPipe, where rank r runs stages r and parts-1-r), the result is then
// improved by moving single boundaries while that lowers the largest
// pair sum S_r + S_{parts-1-r} (then the largest stage sum): a local search.
std::vector<StageLayers> partition_layers(const std::vector<double>& cost, int parts,
                                          bool paired = false);
// The plan's split: layers_per_stage when given (must sum to the layer
// count), else partition_layers(cost, PP, DualPipe).
std::vector<StageLayers> stage_split(const Plan& plan, const std::vector<double>& cost);

// Per-GPU memory of a plan (one pipeline rank), in bytes.
struct MemoryBreakdown {
  int64_t params = 0;         // parameters held (all stages of this rank)
  Bytes weights;              // BF16 working weights (2 B/param)
  Bytes gradients;            // FP32 gradient accumulators (4 B/param; ZeRO-2: /DP of one stage copy, + one layer's bucket)
  Bytes master_weights;       // FP32 master copy (4 B/param; /replicas under ZeRO >= 1; replicas = DP x stage copies)
  Bytes optimizer_moments;    // AdamW m and v (plan.precision.optimizer_moments: 2 x 2 or 2 x 4 B/param; /replicas under ZeRO >= 1)
  Bytes activations;          // peak in-flight micro-batch activations of the schedule
  int peak_in_flight = 0;     // micro-batch-stages of activations held at the peak
  Bytes activation_per_micro_batch_stage;
  // Held outside the model's tensors: CUDA context, DeepEP and NCCL buffers
  // (calibration.yaml training_memory_reserve; allocator fragmentation is
  // not counted).
  Bytes runtime;
  Bytes total() const {
    return weights + gradients + master_weights + optimizer_moments + activations + runtime;
  }
  // "weights 6.5GB, gradients ..., total ..." for error messages and reports.
  std::string str() const;
};

// Activation bytes one token leaves in memory per layer for the backward pass,
// under the plan's recomputation and precision choices (see plan.cpp for the
// itemised list).
Bytes activation_bytes_per_token_layer(const models::ModelSpec& spec, const Plan& plan,
                                       bool moe_layer);

// Parameters one GPU of pipeline rank `rank` holds (all its stages):
// replicated over DP ("dense") and sharded over EP ("expert").
struct RankParams {
  int64_t dense = 0;
  int64_t expert = 0;
  // Under TP: those of `dense` that every TP GPU holds whole (norms, MLA's
  // down-projections, the gate, eh_proj). Sequence parallelism leaves each
  // GPU a partial gradient of them, summed over the TP group once a step.
  int64_t tp_replicated = 0;
};
// Replicas of one parameter across the cluster: its DP group. Dense
// parameters sit on every DP replica of the stage, a routed expert's slot
// on one GPU per EP group of it; DualPipe's two copies of every stage
// (schedule.hpp stage_copies) double both. Gradients are reduced and ZeRO
// shards the optimizer state over these groups.
struct ReplicaGroups {
  int dense = 1;
  int expert = 1;
};
ReplicaGroups replica_groups(const Plan& plan);

RankParams rank_params(const models::ModelSpec& spec, const Plan& plan,
                       const std::vector<StageLayers>& stages, const std::vector<int>& layer_kind,
                       int rank);

// Parameters one GPU holds of a layer of kind `kind` (models::LayerKind,
// as layer_kinds() gives them): {replicated over DP, expert-sharded over ep}.
// Under TP the first part is split tp ways except what TP replicates (the
// norms, MLA's down-projections, the MoE gate, MTP's eh_proj:
// models/op_list.hpp OpListOptions::tensor_parallel).
std::pair<int64_t, int64_t> layer_params(const models::ModelSpec& spec, const models::ParamCounts& pc,
                                         int kind, int ep, int tp = 1);

// The stages pipeline rank `rank` holds: {rank}, and under DualPipe and
// DualPipeV also its mirror (stages - 1 - rank); interleaved 1F1B: rank +
// c x PP for each of its chunks c.
std::vector<int> stages_of_rank(const Plan& plan, int rank);

// Memory of one GPU of pipeline rank `rank`. `stages` is the layer split
// (size PP); layer_kind[i] is the models::LayerKind (as int) of op-list layer i.
// `runtime_reserve` is added as the breakdown's `runtime` part.
MemoryBreakdown plan_memory(const models::ModelSpec& spec, const Plan& plan,
                            const std::vector<StageLayers>& stages,
                            const std::vector<int>& layer_kind, int rank, Bytes runtime_reserve = Bytes{});

// Checks the plan against the cluster and the model. Errors go to `r` under
// `key_prefix` ("plan"), so they name the file, line and key.
void check_plan(const Plan& plan, int cluster_gpus, int gpus_per_node,
                const models::ModelSpec& spec, const GpuCompute& gpu, Bytes hbm_per_gpu,
                const ComputeCalibration& cal, config::Reader& r, const std::string& key_prefix);

// A grouped (routed-expert) GEMM of the op list, which counts all experts of
// the layer, re-shaped to the `groups` experts one GPU holds under EP; the
// rows (token-expert pairs) stay, as balanced routing brings each GPU the
// same number of rows as it sends.
models::Op reshape_grouped(const models::Op& op, int64_t groups);

// The op list of one micro-batch under the plan, with the routed-expert GEMMs
// re-shaped to the experts of one GPU (balanced EP routing).
std::vector<models::LayerOps> plan_op_list(const models::ModelSpec& spec, const Plan& plan);

}  // namespace codesim::workloads
