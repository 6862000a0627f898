// File: workloads/serving_estimate.hpp
//
// The fast steady-state estimate of a disaggregated deployment, for sweeps
// and for `codesim size`: mean request shapes from the traffic, one prefill
// forward and one decode step from the step model (serving_step.hpp), and
// pool sizes from token rates.
//
//  * Prefill: a forward of `tokens_per_gpu` new tokens per GPU. Per-node
//    throughput counts input tokens including prefix-cache hits (the
//    convention of DeepSeek's day-6 statistics): new tokens / (1 - hit rate).
//    Mean TTFT ~ T (1 + 1 / (k + 1)), T = min(S, T0 / (1 - rho (1 - T0/S))):
//    units batch what is queued, so a forward takes T0 (one new token per
//    GPU: weights, latency) at no load, S (a full batch) at rho = 1, linear
//    in its tokens between; k units share the queue at independent phases,
//    so a request waits T / (k + 1) for the first to free, then its own
//    forward. A TTFT SLO sets the fewest units that meet it (none can
//    when it is at or below T0). Against the request-level simulation
//    (day-6, 4 and 26 units) it is 1.1-1.2x the simulated mean at rho
//    0.3-0.8 and up to 2x at rho 0.98 (one unit: 0.8x): the linear forward is conservative where small
//    batches ride the weights-bound roofline. (The simulation gives the
//    distribution; this is the mean for sweeps.)
//  * Decode: requests per GPU b = the largest that fits the KV cache
//    (HBM - weights - reserve) and keeps TPOT = step / accepted tokens under
//    the SLO (tpot, or 1 / tokens_per_s_per_user); a fixed batch_per_gpu in
//    the plan is used as given. Throughput = b x accepted / step per GPU.
//  * Pools: units = rate / (unit throughput x rho), whole units unless the
//    search asks for time-averaged fractional ones.
#pragma once

#include <string>
#include <vector>

#include "workloads/serving.hpp"
#include "workloads/serving_step.hpp"

namespace codesim::workloads {

// Mean request shape derived from the traffic.
struct RequestShape {
  double input = 0;        // mean prompt tokens
  double output = 0;       // mean output tokens
  double cached = 0;       // prefix-cache hits per request (attention-weighted mean)
  double computed = 0;     // new prompt tokens per request (attention-weighted mean)
  double decode_context = 0;  // mean KV length seen by a decode step
};
RequestShape request_shape(const ServingSpec& spec);

struct PrefillEstimate {
  StepCost step;
  std::string comm_timing;  // how the EP all-to-all was timed (StepModel::comm_timing)
  std::string compute_timing;  // how compute was timed (StepModel::compute_timing)
  std::string expert_placement;  // EPLB placement of the expert slots (StepModel::expert_placement)
  double tokens_per_gpu = 0;          // new tokens per forward
  double new_tokens_per_s_per_gpu = 0;
  double input_tokens_per_s_per_node = 0;  // incl. cache hits
  Duration kv_transfer;               // one mean request's KV to the decode pool
  // A forward of one new token per GPU (mean request shape): the fixed part
  // (weights, latencies) of a forward, for the TTFT queueing estimate.
  Duration fixed_forward;
  GpuMemory memory;
};

struct DecodeEstimate {
  bool feasible = false;  // serves and meets the TPOT target
  // Serves requests at all (weights fit, the batch fits the KV cache): its
  // step, TPOT and rates mean something even where the target is missed.
  // When false the rates are 0 and the pool cannot be sized.
  bool serves = false;
  std::string comm_timing;  // how the EP all-to-all was timed (StepModel::comm_timing)
  std::string compute_timing;  // how compute was timed (StepModel::compute_timing)
  std::string expert_placement;  // EPLB placement of the expert slots (StepModel::expert_placement)
  std::string limited_by;        // "kv_cache", "slo", "fixed", "weights do not fit", ...
  double batch_per_gpu = 0;      // requests per GPU
  double kv_capacity = 0;        // requests per GPU the KV cache holds
  double accepted_per_step = 1;  // tokens per request per step (MTP)
  StepCost step;
  Duration tpot;
  double tokens_per_s_per_user = 0;
  double tokens_per_s_per_gpu = 0;
  double tokens_per_s_per_node = 0;
  GpuMemory memory;
};

struct ServingEstimate {
  RequestShape shape;
  PrefillEstimate prefill;
  DecodeEstimate decode;
  double arrival_rate = 0;          // requests/s
  double input_tokens_per_s = 0;    // offered, incl. cache hits
  double output_tokens_per_s = 0;
  double prefill_utilization = 1;   // rho used for sizing
  double prefill_units = 0, decode_units = 0;  // as counted (UnitCount)
  double prefill_nodes = 0, decode_nodes = 0, total_nodes = 0;
  // The load per node of the pools as counted (at most the nodes' capacity
  // at the SLO, PrefillEstimate / DecodeEstimate): what a fleet average per
  // node in use measures.
  double input_tokens_per_s_per_prefill_node = 0, output_tokens_per_s_per_decode_node = 0;
  int gpus = 0;
  Duration ttft;                    // mean, steady state
  double cost_per_day_usd = 0;
  double usd_per_m_input = 0;       // prefill pool cost per million input tokens
  double usd_per_m_output = 0;      // decode pool cost per million output tokens
  bool meets_slo = false;
  std::string why_not;              // when !meets_slo
};

PrefillEstimate estimate_prefill(const ServingSpec& spec, const PoolPlan& plan);
DecodeEstimate estimate_decode(const ServingSpec& spec, const PoolPlan& plan);
// Pool sizes: plan.units when set, else sized from the traffic.
ServingEstimate estimate_serving(const ServingSpec& spec, UnitCount units = UnitCount::kWhole);
// The same from pool estimates already made for spec.prefill and
// spec.decode (estimate_prefill / estimate_decode of this spec): the sizing
// search reuses each pool's estimate across the other pool's choices.
ServingEstimate estimate_serving(const ServingSpec& spec, const PrefillEstimate& prefill,
                                 const DecodeEstimate& decode, UnitCount units = UnitCount::kWhole);

}  // namespace codesim::workloads
