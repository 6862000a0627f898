// File: workloads/training.hpp
//
// One training step of a model on a cluster under a plan: the pipeline
// schedule (workloads/schedule.hpp) becomes a task graph whose chunks are
// timed from their ops (compute model) and their communication (EP
// all-to-all, PP send/recv, DP reduce-scatter/all-gather), then the
// optimizer step. Outputs: step time, the ISCA'25 Table 4 breakdown (1F,
// bubble, 1B, 1W, 1F1B, opt), tokens/day, TFLOPS/GPU, MFU, GPU-hours and
// dollars per trillion tokens.
//
// How the step is built (training.cpp):
//  1. Op list of one micro-batch (models/op_list.hpp), routed-expert GEMMs
//     re-shaped to the experts of one GPU under balanced EP routing.
//  2. Layers are split into PP contiguous stages, minimising the largest
//     stage's FLOPs (plan.hpp partition_layers).
//  3. Each layer's ops are split at its dispatch/combine into compute
//     segments; segments and all-to-alls are scheduled on in-order streams
//     (compute, communication; streams.hpp) per chunk: a forward chunk, an input-gradient
//     chunk, a weight chunk, a full backward, and DualPipe's F&B pair, in
//     which one chunk's compute runs while the other chunk's all-to-all is
//     in flight (the per-layer order of profile-data train.json:
//     combine(B) attn(F) mlp(B) dispatch(F) dispatch(B) mlp(W) mlp(F)
//     attn(B) attn(W) combine(F)).
//  4. The per-rank op orders are list-scheduled with PP transfers between
//     stages (schedule.hpp simulate_pipeline).
//  5. Each rank then reduce-scatters its gradients over its DP group, runs
//     AdamW on its shard and all-gathers the parameters (ZeRO-1); the step
//     ends when the last rank is done. ZeRO-2 instead reduce-scatters each
//     layer's gradients after every weight-gradient pass, on a third
//     (background) stream of the chunk that shares the network with the
//     all-to-all, and its tail only sums DualPipe's two copies' shards. Under DualPipe the group spans both
//     copies of the rank's stages (ranks r and PP-1-r, schedule.hpp
//     stage_copies), as DualPipe's example sums the mirror ranks' gradients.
//
// Communication (training.comm): by default every distinct collective of
// the step (EP dispatch and combine of each size, PP send/recv, DP rings) is
// replayed once on sim/'s flow engine over the scenario's fabric with all
// GPUs of the cluster taking part at once (fabric_comm.hpp); the step
// schedule then uses those times. `comm: analytic` uses bytes over the
// bottleneck bandwidth of the path class instead (CommModel below), with the
// fabric's oversubscription applied to traffic that leaves a leaf switch:
// much faster, for sweeps, and blind to routing and collisions.
//
// Folding (exact by symmetry, and stated in the result): under balanced
// routing every GPU of a pipeline stage (all DP replicas, all EP ranks) runs
// the same ops for the same time, so one GPU per stage is simulated: PP
// ranks in full detail, DP x EP folded. The communication replays are not
// folded: they run every GPU of the cluster, and the slowest GPU's time is
// what the folded stage uses (on an asymmetric fabric, e.g. static ECMP
// collisions, that is the straggler every other GPU waits for).
#pragma once

#include <array>
#include <initializer_list>
#include <string>
#include <vector>

#include "models/model_spec.hpp"
#include "sim/config.hpp"
#include "sim/units.hpp"
#include "workloads/compute_model.hpp"
#include "workloads/plan.hpp"
#include "workloads/schedule.hpp"
#include "workloads/fabric_comm.hpp"

namespace codesim::workloads {

// How the step's communication is timed.
enum class CommTiming {
  kFlow,      // replayed on sim/'s flow engine over the scenario's fabric (fabric_comm.hpp)
  kAnalytic,  // bytes over the bottleneck bandwidth (CommModel below); fast, for sweeps
};
constexpr auto enum_names(CommTiming) {
  return std::array{std::pair{CommTiming::kFlow, std::string_view("flow")},
                    std::pair{CommTiming::kAnalytic, std::string_view("analytic")}};
}

// The `training` section of a scenario: the model and the money.
struct TrainingOptions {
  CommTiming comm = CommTiming::kFlow;
  std::string model;  // model spec YAML, relative to the scenario file
  std::string calibration;  // compute calibration YAML, relative to the scenario file; "" = workloads/calibration.yaml
  double rental_usd_per_gpu_hour = 2.0;  // DeepSeek-V3 TR Table 1 assumption
  double lifetime_years = 4.0;           // capex amortisation period
  double node_power_kw = 10.2;           // per 8-GPU node at load (HGX H100-class system rating)
  double pue = 1.3;                      // data-centre overhead on IT power
  double electricity_usd_per_kwh = 0.10;
  int report_rank = 0;  // pipeline rank whose Table 4 breakdown is reported
  // Global-norm gradient clipping (DeepSeek-V3 TR 4.2: norm 1.0): every
  // GPU's AdamW waits for the squared norm of all gradients, i.e. for the
  // last rank's reduce-scatter, a pass over its shard, and a scalar
  // all-reduce over all GPUs.
  bool gradient_clipping = true;
  std::string model_path;        // resolved by validate(): absolute or relative to the cwd
  std::string calibration_path;  // likewise; "" when calibration is ""

  template <class V>
  void fields(V& v) {
    v.req("model", model, "model spec file (scenarios/models/*.yaml), relative to this file");
    v.opt("calibration", calibration, "compute calibration file, relative to this file (default workloads/calibration.yaml)");
    v.opt("rental_usd_per_gpu_hour", rental_usd_per_gpu_hour, "rental price per GPU-hour, USD");
    v.opt("lifetime_years", lifetime_years, "years over which owned hardware is amortised");
    v.opt("node_power_kw", node_power_kw, "power per node at load, kW");
    v.opt("pue", pue, "power usage effectiveness of the data centre");
    v.opt("electricity_usd_per_kwh", electricity_usd_per_kwh, "electricity price, USD per kWh");
    v.opt("report_rank", report_rank, "pipeline rank whose Table 4 breakdown is reported");
    v.opt("gradient_clipping", gradient_clipping,
          "global-norm gradient clipping: the optimizer step waits for all ranks' gradients (default true)");
    v.opt("comm", comm, "flow (replay on the fabric, default) or analytic (closed forms, fast)");
  }
  void validate(config::Reader& r);
};

// The network as the analytic communication model sees it.
struct CommModel {
  Bandwidth nic_effective;   // per GPU, one direction, what all-to-all reaches (all ports)
  Bandwidth nvlink;          // per GPU, one direction, achievable
  Duration nvlink_latency;   // per message inside the node (GPU -> NVSwitch -> GPU)
  Duration latency;          // per message, cross-node
  int gpus_per_node = 8;
  // GPUs of one NVLink domain (the node's scale_up_gpus: 72 on GB200 NVL72,
  // whose nodes are 4-GPU trays, or the whole cluster when smaller); 0 or
  // gpus_per_node on HGX nodes.
  int gpus_per_domain = 0;
  int nodes_per_leaf = 0;    // nodes under one leaf (per plane/rail); 0 = all
  double oversubscription = 1.0;  // leaf down:up; applied to traffic leaving a leaf
  bool rail_only = false;    // no spine: cross-rail traffic goes through NVLink first
  // A direct network (dragonfly, slim fly): its router-to-router links are
  // not in the closed forms, which see only NICs, NVLink and a fat tree's
  // leaf oversubscription; only the flow replay times them.
  bool direct = false;
  // Static ECMP hashing: flows collide on links the closed forms assume
  // evenly shared; only the flow replay counts the collisions.
  bool hashed_routing = false;
  std::string kind;          // fabric kind, for the record
};

// Expected distinct destination nodes per token (excluding its own) and
// distinct destination GPUs per token under node-limited balanced routing.
struct RoutingFanout {
  double remote_nodes = 0;
  double gpus = 0;
};
RoutingFanout routing_fanout(int top_k, int nodes_per_group, int max_nodes_per_token,
                             int gpus_per_node);
// The same, measured on the model's own gate (models/routing.hpp route():
// score function, expert groups, group limit, top-k, node limit) over
// `tokens` tokens of random N(0,1) affinities, experts placed contiguously
// over `ep` GPUs of `gpus_per_node`; every token's source GPU is uniform
// over the EP group. Unlike the uniform-spread estimate it sees that the
// group-limited gate keeps the groups holding the best experts, so a
// token's top-k spans nearly all of them. Deterministic for a seed.
RoutingFanout gate_fanout(const models::ModelSpec& spec, int ep, int gpus_per_node, int max_nodes_per_token,
                          int tokens = 2048, uint64_t seed = 1);

// The GPUs an EP all-to-all treats as one NVLink island: DeepEP's
// node-then-NVLink path lands a token once per island over the network and
// forwards it over NVLink inside, and the node limit
// (plan.expert.max_nodes_per_token) counts islands. On HGX nodes it is the
// node. In a larger NVLink domain (GB200 NVL72) it is the EP group itself
// when the group lies inside one domain (the domain's GPUs a multiple of
// EP: the all-to-all never touches the NIC), the domain when the group is
// made of whole domains, and otherwise the node: groups that straddle
// domains (EP 64 on 72-GPU domains) keep the node-level path, which is what
// their slowest, straddling group sees (ep_straddles_domains says so).
int ep_island(const CommModel& net, int ep);
bool ep_straddles_domains(const CommModel& net, int ep);

// One EP all-to-all (dispatch or combine) of `tokens` tokens from one GPU:
// IB carries one copy per remote node, NVLink forwards to the GPUs inside
// the node; time = max(IB, NVLink) + latency (DeepEP's IB-then-NVLink path).
Duration ep_all_to_all_time(const CommModel& net, int64_t tokens, Bytes bytes_per_copy,
                            const RoutingFanout& fanout, bool crosses_leaf);
// Ring reduce-scatter or all-gather of `bytes` over `ranks` GPUs of one rail.
Duration ring_collective_time(const CommModel& net, Bytes bytes, int ranks, bool crosses_leaf);
// One ring of several that run at once (the dense and the expert DP rings).
struct Ring {
  const CommModel* net = nullptr;
  Bytes bytes;
  int ranks = 1;
  bool crosses_leaf = false;
};
// Rings that run at the same time on every GPU share its NIC and its NVLink:
// each resource's time is the sum of what every ring puts on it, the
// collective ends with the busier one, plus the slowest ring's hop latency.
// (The flow replay runs the DP rings at once too, fabric_comm.cpp.) One ring
// gives ring_collective_time.
Duration concurrent_rings_time(std::initializer_list<Ring> rings);

struct Table4 {
  Duration f, bubble, b, w, fb, opt;
  Duration sum() const { return f + bubble + b + w + fb + opt; }
};

// Durations of one stage's chunks and of the rank's F&B pairs.
struct StageTimes {
  int first_layer = 0, layers = 0;
  std::vector<std::string> layer_names;
  ChunkTimes chunk;
  // ZeRO-2: the standalone time of the reduce-scatters one weight-gradient
  // pass of the stage issues (its layers' gradients); zero otherwise.
  Duration grad_reduce;
  // ZeRO-3: the standalone time of the parameter all-gathers one forward
  // (or input-gradient) pass of the stage issues; zero otherwise.
  Duration param_gather;
};

struct TrainingResult {
  Duration step;
  Duration pipeline;  // makespan of the pipeline part
  Table4 breakdown;   // for report_rank
  int report_rank = 0;
  std::vector<Table4> per_rank;
  std::vector<StageTimes> stages;
  std::vector<std::array<Duration, 2>> fb;  // per rank, by forward direction
  // Per micro-batch, per MoE layer, one GPU (the first MoE layer):
  Duration dispatch_f, combine_f, dispatch_b, combine_b, pp_transfer;
  // ... and its compute-stream kernel time per pass (the sum of its kernels,
  // recomputation included, before the stream occupancy): forward, input
  // gradient, weight gradient.
  Duration moe_compute_f, moe_compute_b, moe_compute_w;
  // Under TP: one block's TP all-gathers and reduce-scatters per micro-batch
  // (the first MoE block, or the first block of a dense model), forward and
  // backward (input and weight gradients). Included in the compute-kernel
  // times above.
  Duration tp_comm_f, tp_comm_b;
  Duration dp_reduce_scatter, dp_all_gather, optimizer_compute;
  // Gradient clipping: the report rank's pass over its gradient shard, and
  // its wait from the end of that pass to the global norm (the scalar
  // all-reduce's latency included); zero without clipping.
  Duration grad_norm_compute, grad_norm_wait;
  double tokens_per_step = 0;
  double tokens_per_day = 0;
  double tflops_causal = 0, tflops_noncausal = 0;  // per GPU
  double mfu_causal = 0, mfu_noncausal = 0;
  double gpu_hours_per_trillion_tokens = 0;
  double usd_per_trillion_rental = 0;
  double usd_per_trillion_owned = 0;
  double owned_capex_usd = 0, owned_fabric_usd = 0;
  int gpus = 0;
  std::string comm_timing;  // "flow" or "analytic"
  uint64_t comm_flows = 0;  // flows replayed (flow timing)
  double comm_wall_s = 0;   // host time of the replays
  // Busiest GPU's routed rows / mean per micro-batch (finite-sample spread
  // of balanced routing over the EP group; scales experts and all-to-alls).
  double expert_imbalance = 1;
  MemoryBreakdown memory;  // report_rank
  // The pipeline rank that needs the most HBM, and its breakdown: what the
  // plan's fit depends on (ranks differ: the first and last stages hold the
  // embedding and head, 1F1B's early ranks hold more micro-batches).
  MemoryBreakdown memory_peak;
  int memory_peak_rank = 0;
  std::vector<std::string> notes;  // folding, approximations
  // The step's timeline, for Gantt charts and traces: the pipeline program
  // (per rank, its ops in order) and per rank, per op, start and end;
  // then, per rank, the DP/optimizer tail [start, end]: it starts when every
  // copy of the rank's stages has finished (DualPipe: the rank and its mirror).
  PipelineProgram program;
  std::vector<std::vector<std::pair<Time, Time>>> op_times;
  std::vector<std::pair<Time, Time>> dp_tail;
};

struct TrainingInputs {
  models::ModelSpec model;
  Plan plan;
  TrainingOptions options;
  GpuCompute gpu;
  Bytes hbm;
  ComputeCalibration calibration;
  CommModel net;
  int nodes = 0;
  FabricComm fabric_comm;  // flow timing: the fabric and its routing (null fabric: analytic)
  double capex_usd = 0;   // GPUs, NICs, servers (everything but the fabric)
  double fabric_usd = 0;  // switches and cables (topology cost model)
};

// Pure: the same inputs give the same result. `error` is set (and the
// result is empty) when the plan cannot run (e.g. a schedule deadlock).
TrainingResult simulate_training(const TrainingInputs& in, std::string& error);

}  // namespace codesim::workloads
