// File: models/trace.hpp
//
// codesim's trace: what the simulator replays for one micro-batch of a model.
// A documented, versioned JSON file (models/TRACE_FORMAT.md, "codesim-trace"
// version 1) holding
//   * the ordered ops of every layer (models/ops.hpp: kind, shapes, FLOPs,
//     bytes read and written, precision; optionally a measured kernel time),
//   * the routing of every MoE layer (token -> top-k experts),
//   * an expert placement over GPUs and nodes and, for that placement, the
//     dispatch and combine byte matrices between GPUs and between nodes.
//
// Producers: the analytic op lists (models/op_list.hpp), the Eigen reference
// implementation (trace_from_reference: OpRecords + RoutingRecords), the
// full-size scaler (scale_trace), and PyTorch-profiler imports
// (models/profiler_trace.hpp). Readers validate strictly: an error names the
// file and the JSON path (RFC 6901 pointer, e.g. /layers/3/ops/2/shape/m) and
// says what was expected. Writers write to a temporary file and rename it, so
// nothing is left half-written.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "models/model_spec.hpp"
#include "models/op_list.hpp"
#include "models/op_observer.hpp"
#include "models/ops.hpp"
#include "models/routing.hpp"

namespace codesim::models {

inline constexpr int kTraceFormatVersion = 1;
inline constexpr std::string_view kTraceFormatName = "codesim-trace";

struct TraceMeta {
  std::string model;     // ModelSpec::name
  std::string producer;  // "op_list", "reference", "scaled", "profiler"
  Workload workload = Workload::kTraining;
  int64_t batch = 0;    // sequences in the micro-batch
  int64_t seq_len = 0;  // tokens per sequence (decode: context length)
  std::string notes;    // free text: how it was made (scaling source, seed, ...)
};

struct TraceLayer {
  std::string name;  // "embed", "layer.3", "head", "mtp.0", or a profiler group
  LayerKind kind = LayerKind::kDense;
  std::vector<Op> ops;
  // Measured kernel time per op (profiler imports), parallel to ops; empty
  // when the trace is modelled.
  std::vector<Duration> measured;
};

// One MoE layer's routing: token t uses experts[t*top_k .. t*top_k+top_k-1].
// Tokens are numbered batch-major (sequence b, position s -> b*seq_len + s).
struct LayerRouting {
  std::string layer;  // a TraceLayer name
  int n_experts = 0;
  int top_k = 0;
  int n_tokens = 0;
  std::vector<int32_t> experts;
  std::vector<float> weights;  // same size as experts, or empty (not recorded)
};

// EP traffic of one MoE layer under Trace::placement. Matrices are row-major
// [src][dst] byte counts. Token t starts on GPU token_gpu(t) (see below).
// DeepEP semantics: a token is sent once to every distinct destination GPU
// that holds one of its experts (the GPU's local experts share the copy) and
// once to every distinct destination node over the scale-out network (then
// forwarded over NVLink); combine returns one reduced copy along the same
// pairs. Diagonals are local (intra-GPU / intra-node) traffic.
struct EpTraffic {
  std::string layer;
  int n_gpus = 0;
  int n_nodes = 0;
  std::vector<uint64_t> dispatch_gpu, combine_gpu;    // n_gpus x n_gpus
  std::vector<uint64_t> dispatch_node, combine_node;  // n_nodes x n_nodes
  uint64_t at(const std::vector<uint64_t>& m, int n, int src, int dst) const {
    return m[static_cast<size_t>(src) * static_cast<size_t>(n) + static_cast<size_t>(dst)];
  }
};

struct Trace {
  TraceMeta meta;
  std::vector<TraceLayer> layers;
  std::vector<LayerRouting> routing;
  std::optional<ExpertPlacement> placement;
  std::vector<EpTraffic> traffic;
};

// --- Reading and writing ----------------------------------------------------
std::string trace_to_json(const Trace& trace, int indent = -1);
// Writes atomically (path + ".tmp", then rename). False + error on failure.
bool write_trace(const Trace& trace, const std::string& path, std::string& error);
// Strict: every problem is reported as "NAME: /json/pointer: what was
// expected", one per line, in `error`.
bool parse_trace(std::string_view text, std::string_view name, Trace& out, std::string& error);
bool read_trace(const std::string& path, Trace& out, std::string& error);

// --- Building -----------------------------------------------------------------
// Trace from the analytic op list (no routing).
Trace trace_from_op_list(const ModelSpec& spec, const OpListOptions& options);
// Trace from a run of the reference implementation (models/transformer.hpp):
// ops converted with op_from_record, grouped by OpRecord::layer (embedding
// -> "embed", head -> "head", n_layers + d - 1 -> "mtp.{d-1}"); routing from
// the RoutingRecords.
Trace trace_from_reference(const ModelSpec& spec, const OpLog& log, int64_t batch,
                           int64_t seq_len);

// Source GPU of token t out of n_tokens: contiguous blocks,
// floor(t * n_gpus / n_tokens) (data parallel ranks each own a slice).
int token_gpu(int t, int n_tokens, int n_gpus);
// Byte matrices for one layer (dispatch_per_copy / combine_per_copy from
// counts.hpp ep_bytes_per_token).
EpTraffic compute_ep_traffic(const LayerRouting& routing, const ExpertPlacement& placement,
                             Bytes dispatch_per_copy, Bytes combine_per_copy);
// Fills trace.traffic for every routed layer under `placement`.
void attach_placement(Trace& trace, const ModelSpec& spec, const ExpertPlacement& placement);

// --- Routing statistics and full-size scaling ---------------------------------
struct RoutingStats {
  std::vector<double> load_fraction;   // per expert, sums to 1
  std::vector<double> nodes_per_token; // [n] = fraction of tokens using n nodes
  double mean_nodes_per_token = 0;
  double load_cv = 0;            // std/mean of tokens per expert
  double max_over_mean_load = 0;
};
RoutingStats routing_stats(const LayerRouting& routing, const ExpertPlacement& placement);

struct ScaleOptions {
  Workload workload = Workload::kTraining;
  int64_t batch = 1;
  int64_t seq_len = 4096;
  ExpertPlacement placement;  // of the full model's routed experts
  int max_nodes = 0;          // node limit M of the full model (0: none)
  uint64_t seed = 1;
};
// The full-size trace of `full` from a small run (see TRACE_FORMAT.md,
// "Scaling to full size"):
//  1. ops: build_op_list(full, options) -- the same analytic code path,
//     at full shapes;
//  2. routing statistics are measured on each small MoE layer with its
//     experts placed contiguously over the same number of nodes as the full
//     placement: the load fraction per expert and the histogram of nodes per
//     token;
//  3. full MoE layer i (of n_full) takes the statistics of small MoE layer
//     floor(i * n_small / n_full); full expert e inherits the load weight of
//     small expert floor(e * E_small / E_full) (divided evenly), so the
//     per-expert load distribution and its placement locality are kept;
//  4. each of the batch*seq_len tokens draws its number of nodes m from the
//     histogram (clamped to [1, min(top_k, nodes, M)]), picks m distinct nodes
//     with probability proportional to their load weight, gives each one
//     expert and the remaining top_k - m slots to the chosen nodes in
//     proportion to weight (within capacity), and picks experts within a node
//     without replacement, proportional to weight; because step 4 favours
//     heavy nodes more than proportionally, the expert weights are first
//     fitted by two calibration passes (w_e *= target_e / realised_e) and
//     the third pass is kept;
//  5. the byte matrices are computed for the full placement.
// Requires small.routing to be non-empty (else routing/traffic stay empty).
// Deterministic for a given seed (std::mt19937_64).
Trace scale_trace(const Trace& small, const ModelSpec& full, const ScaleOptions& options);

// Synthetic stand-in for a reference run when no trained router is at hand:
// random affinities with a per-expert popularity skew (log-normal, sigma
// `skew`), routed by models/routing.hpp route() (the same gate code the
// reference uses), one LayerRouting per MoE layer of `spec`.
std::vector<LayerRouting> synthetic_routing(const ModelSpec& spec, int n_tokens, double skew,
                                            uint64_t seed,
                                            const ExpertPlacement* placement = nullptr,
                                            int max_nodes = 0);

}  // namespace codesim::models
