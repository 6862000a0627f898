// File: workloads/serving_step.hpp
//
// Per-step cost of one GPU in a prefill or decode unit: a pure value object
// built from a ServingSpec and one pool's plan. No scheduler, no RNG.
//
// Model (all per GPU; every GPU of an EP unit is symmetric):
//  * Decode (attention TP 1): compute comes from the per-op kernel model
//    that training uses (workloads/compute_model.hpp, the top level of
//    calibration.yaml: H800 kernel fits only). The decode op list of one
//    micro-batch (models/op_list.hpp: absorbed MLA, 1 + MTP depth query
//    positions per request, the MTP draft pass) is timed op by op with its
//    helper kernels, each max(FLOPs / rate, bytes / HBM) + the launch floor;
//    routed-expert GEMMs get the busiest GPU's rows (below) over the slots
//    that receive any (Poisson), the head is vocabulary-parallel over
//    head_tp. Non-attention times are tabulated at construction over the
//    micro-batch's tokens per GPU (4 points per octave, linear in between);
//    attention is timed per call (linear in sequences and keys).
//    Prefill can run on the same model (PoolPlan::compute = kernels): the
//    prefill op list over the micro-batch's new tokens, attention per call
//    over the mean request's new and cached tokens, the cached latents'
//    up-projection and the head (once per request, its last position) per
//    call.
//  * Otherwise (prefill by default, and attention TP > 1): each op group is
//    timed on a roofline, max(FLOPs / rate, bytes / HBM):
//      attention core   absorbed MLA in decode (q . [c_kv, k_rope], p . c_kv:
//                       2 H (kv_lora + rope + kv_lora) flops per query-key
//                       pair), MHA form in prefill (2 H (qk + v)); GQA
//                       2 H (2 head_dim); bytes = KV read once per step;
//      dense GEMMs      attention projections, dense FFNs, shared experts,
//                       router, output head (weights on every GPU);
//      routed experts   rows = tokens x top-k x imbalance; weights of
//                       the experts that get at least one row;
//      MTP draft        `depth` sequential passes of the MTP block + head.
//    The output head and embedding are split by vocabulary over head_tp
//    GPUs of a node (plan): each reads 1/head_tp of their weights; the
//    embedding's partial rows and the head's input hidden states are
//    exchanged over NVLink (counted with the TP collectives, one latency +
//    overhead per call).
//    With m micro-batches every GEMM reads its weights m times.
//    rate = peak x kernel efficiency x system_efficiency (calibration).
//  * Routed-load imbalance: every MoE layer waits for the GPU with the most
//    routed rows: E[max_g X_g] with X_g ~ N(s_g r, s_g r) independent
//    (models::expected_max_load), r the mean routed rows per GPU and
//    micro-batch, s_g GPU g's expected share (mean 1) in the EPLB placement
//    (models/eplb.hpp) of the pool's expert slots under the calibration's
//    expert popularity: a GPU's rows in one step are a sum of many rare
//    events (Poisson, variance = mean). Tabulated once per pool at
//    r = 2^0..2^24 as (E[max]/r - static) x sqrt(r), interpolated in
//    log2(r); it tends to the placement's static max/mean as r grows. The
//    same factor scales the all-to-all's bandwidth part (the busiest GPU
//    also receives the most).
//  * EP all-to-all (dispatch FP8 + scales, combine BF16, sizes from
//    models::ep_bytes_per_token): decode uses low-latency kernels (one copy
//    per destination GPU, RDMA off the node and NVLink on it, no SMs; each
//    path pays its own fixed cost per call and the slower one ends the call,
//    low_latency_call); prefill uses normal kernels (one IB copy per
//    destination node, then NVLink). Normal kernels' time per MoE layer =
//    max(IB bytes / (NIC x efficiency), NVLink bytes / NVLink) + per call
//    (latency + overhead) x 2m.
//    With hardware.node and hardware.fabric, the bandwidth part comes from
//    replaying the unit's all-to-all on the flow engine instead (all GPUs of
//    the unit at once, network bytes scaled by 1 / efficiency, time linear
//    in tokens: two replays fix the slope).
//  * Overlap (PoolPlan::overlap): with 2 micro-batches A and B, compute of
//    one hides the all-to-all of the other. With 1 micro-batch each MoE
//    layer costs compute + comm. Dense layers, head and MTP are not
//    overlapped.
//    - stages (per-op compute): one compute stream runs the two micro-
//      batches' pipeline stages in a fixed order, and a call's wait stalls
//      the stream by what the compute issued between its start and its
//      wait did not cover. Decode, DeepSeek's 5-stage pipeline (day-6: the
//      attention split in two steps; stage order as SGLang's
//      deepseek_blog_decode strategy, two stages apart): attn_0 (up to the
//      core) | attn_1 (core, output projection, gate, top-k) | dispatch
//      starts, shared expert | wait, routed experts, combine starts | wait,
//      output. The dispatch hides behind the shared expert and the other
//      micro-batch's attn_0, the combine behind the other's attn_1. Per MoE
//      layer: compute + 2 x (max(0, dispatch - shared - attn_0) +
//      max(0, combine - attn_1)), plus the last layer's combine (and its
//      dispatch beyond the shared expert), nothing left to hide them.
//      Prefill, two stages (attention up to top-k | shared and routed
//      experts) alternating A, B, A, B: A's dispatch behind B's attention,
//      B's behind A's experts, A's combine behind B's experts, B's behind
//      A's next attention.
//    - ideal (and stages on the roofline, which has no per-stage times):
//      each MoE layer costs max(compute, comm), plus one pipeline fill of
//      min(compute, comm) / 2 per step.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "models/counts.hpp"
#include "sim/collectives.hpp"
#include "sim/units.hpp"
#include "topology/cluster.hpp"
#include "models/ops.hpp"
#include "workloads/compute_model.hpp"
#include "workloads/fabric_comm.hpp"
#include "workloads/serving.hpp"
#include "workloads/training.hpp"

namespace codesim::workloads {

// The stage pipeline of one MoE layer and micro-batch (PoolPlan::overlap
// stages; see the header): its all-to-all calls, its compute stages (the
// attention core is one micro-batch's), and what the pipeline leaves exposed.
struct StageOverlap {
  bool decode = true;                       // decode's 5 stages, else prefill's 2
  Duration dispatch, combine;               // one call each
  Duration pre, core, post, shared, mlp;    // attn_0 | core, attn_1 rest | shared expert | routed experts, output
  Duration per_layer;                       // stall per MoE layer, both micro-batches
  Duration tail;                            // the last layer's extra stall
};

struct StepCost {
  Duration attention;   // attention core
  Duration dense;       // GEMMs whose weights every GPU holds (per-op decode: and every other
                        // kernel but attention and routed experts)
  Duration experts;     // routed-expert GEMMs
  Duration mtp;         // MTP draft passes (incl. their all-to-all)
  Duration tp_comm;     // attention TP collectives and the head's gather (not overlapped)
  Duration compute;     // attention + dense + experts (+ tp_comm)
  Duration comm;        // EP dispatch + combine over all MoE layers
  Duration exposed_comm;  // part of comm not hidden behind compute
  Duration total;       // the step
  double tokens = 0;    // query positions (decode) or new tokens (prefill) per GPU
  double expert_imbalance = 1;  // max/mean routed rows per GPU in this step
  std::optional<StageOverlap> stages;  // set when the stage pipeline times the overlap
};

// Weights and KV capacity of one GPU of a unit.
struct GpuMemory {
  Bytes weights;       // resident weights (FP8 linear layers, BF16 embedding/head)
  Bytes reserve;       // activations, communication buffers, context
  Bytes kv_free;       // what is left for the KV cache (0 when weights do not fit)
  Bytes kv_per_token;  // KV bytes one cached token costs this GPU
  bool fits = true;
};

// `nodes` of the hardware's node preset on hardware.fabric (check it with
// topology::check_fabric before building).
topology::ClusterSpec serving_cluster(const ServingHardware& hw, int nodes);
// The flow-engine parameters of a serving fabric: links at the NIC's port
// rate (the pools' all-to-all efficiencies scale the bytes instead) and the
// node's NVLink rate, hardware.routing.
FabricComm serving_fabric_comm(const ServingHardware& hw, const topology::ClusterSpec& cluster,
                               const std::string& what);

// One call of DeepEP's low-latency dispatch or combine (decode): the copies
// for other nodes go over RDMA and those for the node's own GPUs over
// NVLink, at once. Each path costs its bytes' time plus its fixed cost per
// call (calibration: network latency + a2a_overhead for RDMA,
// a2a_nvlink_overhead for NVLink); the call ends with the slower path. A
// path with no bytes costs nothing.
Duration low_latency_call(Duration rdma, Duration nvlink, Duration rdma_fixed, Duration nvlink_fixed);

// DeepEP's low-latency benchmark (tests/test_low_latency.py: `tokens`
// tokens per GPU, the model's top-k, FP8 dispatch and BF16 combine; the
// README's table, T18), timed as a decode unit of `spec` times one call:
// one EP group of `ep` GPUs (whole nodes) on hardware.fabric, every copy
// straight to its expert's GPU, the flow replay's bandwidth part (bytes
// scaled by 1 / decode_a2a_efficiency) plus low_latency_call's fixed costs.
// Times are the slowest GPU's. Throws std::invalid_argument without a
// fabric, a MoE model or whole nodes.
struct DeepEpLatency {
  Duration dispatch, combine;
};
DeepEpLatency deepep_low_latency(const ServingSpec& spec, int ep, int64_t tokens);

class StepModel {
 public:
  StepModel(const ServingSpec& spec, const PoolPlan& plan, bool prefill);

  // Decode: `requests` per GPU, mean KV length `context` tokens, verifying
  // 1 + mtp_depth positions per request.
  StepCost decode(double requests, double context, int mtp_depth) const;
  // Prefill: `new_tokens` per GPU in one forward; each request computes
  // `new_per_request` tokens on top of `cached_per_request` prefix tokens.
  StepCost prefill(double new_tokens, double new_per_request, double cached_per_request) const;
  // Prefill of a mixed batch, per GPU: `requests` requests with `pairs`
  // causal query-key pairs in total (sum of n c + n^2 / 2) and `kv_tokens`
  // prefix + new tokens whose KV is read.
  StepCost prefill_batch(double new_tokens, double requests, double pairs, double kv_tokens) const;

  const GpuMemory& memory() const { return memory_; }
  // How the EP all-to-all is timed: "closed form" or a line on the replay.
  const std::string& comm_timing() const { return comm_timing_; }
  // How compute is timed: the per-op kernel model or the group roofline
  // (PoolPlan::compute), in words.
  const std::string& compute_timing() const { return compute_timing_; }
  bool kernel_compute() const { return kernels_.enabled; }
  // Routed-load imbalance (max/mean rows per GPU) for a step whose GPUs hold
  // `rows_per_gpu` routed rows on average per micro-batch; see the header.
  double expert_imbalance(double rows_per_gpu) const;
  // The EPLB placement's part alone (expected loads, infinite batch).
  double static_expert_imbalance() const { return static_imbalance_; }
  // One line on the EPLB placement: policy, slots, expected busiest/mean.
  const std::string& expert_placement() const { return placement_; }
  // Expert slots per GPU (routed experts + redundant replicas, rounded up
  // so that every GPU holds the same number).
  int expert_slots_per_gpu() const { return slots_per_gpu_; }
  // Requests of mean KV length `context` that fit in one GPU's KV cache.
  double kv_capacity_requests(double context) const;
  // Expected tokens emitted per request per step with MTP depth d and
  // acceptance a: 1 + a + a^2 + ... + a^d.
  static double accepted_per_step(int depth, double acceptance);

  // Whether the EP all-to-all is replayed on a fabric (hardware.node and
  // hardware.fabric set, a MoE model, EP > 1).
  bool replays_comm() const;
  // Bandwidth part of one dispatch + combine per token per GPU, in ps, from
  // the replay (the unit alone, or the fleet's when the plan carries it);
  // < 0 when the closed form is used.
  double flow_ps_per_token() const { return flow_ps_per_token_; }
  // Appends this unit's all-to-all (dispatch + combine of `tokens` tokens
  // per GPU, as replay_comm() replays it) to `p`, over the GPUs [first,
  // first + nodes x gpus_per_node) of a larger fabric with `fabric_layout`.
  void add_unit_flows(sim::CommPattern& p, const CommLayout& fabric_layout, int first, int64_t tokens) const;
  // Tokens per GPU of the first probe (the second is twice as many).
  static constexpr int64_t kCommProbeTokens = 256;

 private:
  // What the unit's all-to-all replays are made of.
  struct UnitComm {
    CommLayout layout;  // the unit alone
    bool low_latency = false;
    double network_scale = 1;
    int top_k = 0;
    Bytes per_copy;
    RoutingFanout fanout;
  };
  UnitComm unit_comm() const;
  struct Group {
    Flops flops;
    Bytes bytes;
  };
  Duration roof_gemm(Flops f, Bytes b) const;
  Duration roof_attention(Flops f, Bytes b) const;
  // Which of a MoE layer's all-to-alls moe_comm_per_layer times.
  enum class A2a { kBoth, kDispatch, kCombine };
  Duration moe_comm_per_layer(double tokens, bool low_latency, double imbalance, int calls,
                              A2a part = A2a::kBoth) const;
  // The stage pipeline (PoolPlan::overlap stages, 2 micro-batches, per-op
  // compute; see the header) for `tokens_mb` tokens per micro-batch, `core`
  // one micro-batch's attention core (and prefill's cached up-projection)
  // of one layer.
  StageOverlap stage_pipeline(double tokens_mb, double imbalance, Duration core) const;
  bool stage_overlap() const;
  // NVLink exchanges of a vocabulary-parallel embedding (`embed_rows` new
  // tokens per GPU) and head (`head_rows` positions that need logits), in
  // `calls` micro-batches (zero when head_tp = 1).
  Duration head_gather(double embed_rows, double head_rows, int calls) const;
  void place_experts();
  // The step from its parts: with `stages`, compute + what the stage
  // pipeline leaves exposed; else the ideal overlap (see the header).
  StepCost combine(StepCost c, double moe_layers, int micro_batches,
                   std::optional<StageOverlap> stages = std::nullopt) const;

  // Compute on the per-op kernel model (see the header): per micro-batch
  // times tabulated over its tokens per GPU q (the grid), interpolated
  // linearly in q; attention (and prefill's per-request head and cached
  // latents) timed per call.
  struct KernelTables {
    bool enabled = false;
    std::vector<double> q;                 // grid, tokens per micro-batch per GPU
    std::vector<double> other_ps, experts_ps, mtp_ps;  // per micro-batch; mtp: decode's draft pass
    // One MoE layer's stages per micro-batch (attention core excluded): ops
    // before the core, after it up to the dispatch (output projection, gate,
    // top-k), the shared expert, and the rest (routed experts, output).
    std::vector<double> pre_ps, post_ps, shared_ps, mlp_ps;
    // attention cores per micro-batch (main model; prefill: + the MTP
    // module's) and in decode's draft pass
    int attention_layers = 0, mtp_attention_layers = 0;
  };
  void build_kernels();
  // One attention kernel over `sequences` sequences (fractional: time is
  // linear in them beyond the launch floor) of q_len queries over `keys`
  // keys, `cached` of them cached (prefill).
  Duration attention_kernel(double sequences, double q_len, double keys, double cached) const;
  // One op with its helper kernels (compute_model auxiliary_kernels) on the
  // SMs the compute gets; a forward GEMM of m rows (rounded, >= 1).
  Duration kernel_time(const models::Op& op) const;
  Duration kernel_gemm(const std::string& name, double m, int64_t n, int64_t k, models::Precision p) const;
  StepCost prefill_kernels(double new_tokens, double requests, double pairs) const;
  static double interpolate(const std::vector<double>& q, const std::vector<double>& v, double x);
  KernelTables kernels_;
  GpuCompute kernel_gpu_;
  int kernel_sms_ = 0;  // SMs the compute kernels get
  std::string compute_timing_;

  // EP all-to-all replayed on the unit's fabric (hardware.fabric): time per
  // token of one dispatch + combine (its bandwidth part; latency and
  // overhead per call are added as in the closed form). < 0: closed form.
  void replay_comm();
  double flow_ps_per_token_ = -1;
  bool flow_low_latency_ = false;
  std::string comm_timing_ = "closed form";

  const ServingSpec* spec_;
  PoolPlan plan_;
  bool prefill_;
  models::ParamCounts params_;
  models::EpBytes ep_bytes_;
  int n_moe_ = 0, n_dense_ = 0;
  double remote_nodes_ = 0;  // distinct other nodes per token (prefill's node-deduplicated copies)
  int slots_per_gpu_ = 0;
  double static_imbalance_ = 1;
  std::string placement_ = "no routed experts";
  // (E[max rows]/mean - static) x sqrt(rows) at rows = 2^i per GPU.
  static constexpr int kNoiseTableMax = 24;
  std::vector<double> noise_table_;
  double attn_weight_bytes_ = 0, dense_weight_bytes_ = 0, routed_weight_bytes_ = 0,
         mtp_weight_bytes_ = 0, head_weight_bytes_ = 0;
  GpuMemory memory_;
  FlopRate gemm_rate_, attn_rate_;
  Bandwidth gemm_bw_, attn_bw_;
};

}  // namespace codesim::workloads
