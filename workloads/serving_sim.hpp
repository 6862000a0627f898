// File: workloads/serving_sim.hpp
//
// Request-level discrete-event simulation of a disaggregated deployment:
// Poisson arrivals with lognormal prompt and output lengths; a FIFO queue in
// front of the prefill units, each taking the queue's head up to
// tokens_per_gpu x EP new tokens per forward (continuous batching, the
// forward time from StepModel::prefill_batch for the actual mix); the first
// token at the end of the forward (TTFT); the KV cache moved to the decode
// unit with the fewest requests (KV bytes / kv_transfer_bandwidth); decode
// units stepping continuously over their active requests (admission at step
// boundaries up to the batch cap, step time from StepModel::decode for the
// current count and mean KV length, accepted tokens per step from MTP).
//
// State is O(requests in flight): a decode unit keeps its requests in a heap
// keyed by the step at which they finish and the sum of their KV lengths in
// closed form, so a step costs O(log n) per finished request, not O(n).
//
// Determinism: one RNG stream (SplitMix64) derived from (simulate.seed,
// "serving"); events ordered by (time, insertion sequence). Same spec and
// seed, same result, bit for bit.
#pragma once

#include <cstdint>
#include <vector>

#include "sim/units.hpp"
#include "workloads/serving.hpp"
#include "workloads/serving_estimate.hpp"

namespace codesim::workloads {

struct LatencyStats {
  int64_t count = 0;
  double mean = 0, p50 = 0, p90 = 0, p99 = 0;  // seconds
};

struct SimResult {
  Duration simulated;  // measured window (after warm-up)
  int prefill_units = 0, decode_units = 0;
  int prefill_nodes = 0, decode_nodes = 0;
  int64_t arrived = 0;    // in the window
  int64_t completed = 0;  // finished decoding in the window
  int64_t events = 0;     // all events processed
  double input_tokens_per_s_per_prefill_node = 0;  // incl. cache hits
  double output_tokens_per_s_per_decode_node = 0;
  double mean_decode_batch_per_gpu = 0;  // time-average
  double prefill_busy = 0;               // fraction of unit-time busy
  size_t prefill_queue_at_end = 0;
  size_t decode_waiting_at_end = 0;
  LatencyStats ttft;
  LatencyStats tpot;
};

// Runs spec.simulate.warmup + spec.simulate.duration of traffic on the pools
// of `sized` (its prefill_units / decode_units, rounded up to whole units)
// with the decode batch cap sized.decode.batch_per_gpu.
SimResult simulate_serving(const ServingSpec& spec, const ServingEstimate& sized);

}  // namespace codesim::workloads
