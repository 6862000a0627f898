// File: models/eplb.hpp
//
// Expert-parallel load balancing (EPLB) as DeepSeek deploys it, plus a
// sampler of the per-step load imbalance that a placement leaves.
//
// Placement (after deepseek-ai/EPLB, eplb.py and its README; DeepSeek-V3 TR
// sec. 3.4, "redundant experts"). Given the expected load of each logical
// expert of one MoE layer, `n_slots` = n_logical + redundant physical expert
// slots spread evenly over `n_gpus` GPUs on `n_nodes` nodes:
//
//  * hierarchical policy, used when n_groups % n_nodes == 0 (prefill):
//    1. pack the expert groups (contiguous blocks of n_logical / n_groups
//       experts) onto nodes, the same number of groups per node, heaviest
//       group first onto the lightest node that still has room;
//    2. within each node, fill its n_slots / n_nodes slots: each logical
//       expert gets one replica, then each extra slot goes to the expert with
//       the largest load / replica_count;
//    3. pack the node's physical experts (load = expert load / replica count)
//       onto its GPUs the same way as step 1 (same count per GPU, heaviest
//       first onto the lightest GPU with room).
//    Every replica of every expert of a group therefore lives on one node.
//  * global policy, otherwise (decode): the same three steps with one group
//    and one node, i.e. replicate over all slots, then pack over all GPUs.
//
// Ties break toward the lower index (the heaviest-first order is a stable
// sort), which reproduces the README example exactly. eplb.py works in
// float32 and uses torch's (unstable) sort; this code works in double, so a
// near-tie at float32 resolution may resolve differently.
//
// Sampling: a step routes `tokens` tokens, each to top_k distinct logical
// experts drawn in sequence with probability proportional to `popularity`
// among the experts not yet chosen; each routed row (token, expert) goes to
// one of the expert's replicas, uniformly at random. The step imbalance is
// (max rows on one GPU) / (mean rows per GPU). Deterministic per seed
// (std::mt19937_64 and this file's own conversions, no std distributions).
//
// Pure functions: no globals; all randomness comes from the seed argument.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace codesim::models {

// A placement of one MoE layer's experts. Slot s lives on GPU
// s / slots_per_gpu(); GPU g on node g / (n_gpus / n_nodes).
struct EplbPlacement {
  int n_gpus = 0;
  int n_nodes = 0;
  bool hierarchical = false;        // which policy produced it
  std::vector<int> phy_to_log;      // n_slots: logical expert held by each slot
  std::vector<int> replica_count;   // n_logical: replicas of each expert (>= 1)
  std::vector<double> gpu_load;     // n_gpus: expected load, each expert's load
                                    // split evenly over its replicas
  int n_slots() const { return static_cast<int>(phy_to_log.size()); }
  int slots_per_gpu() const { return n_gpus > 0 ? n_slots() / n_gpus : 0; }
  int gpu_of_slot(int slot) const { return slot / slots_per_gpu(); }
  int node_of_gpu(int gpu) const { return gpu / (n_gpus / n_nodes); }
  // max / mean of gpu_load; 1 when perfectly balanced (and when all loads are 0).
  double imbalance() const;
};

// Computes the placement. `load`: expected tokens (or any non-negative,
// finite weight) per logical expert of one layer. Requirements, each of which
// throws std::invalid_argument naming the sizes when broken: load non-empty;
// n_groups, n_nodes, n_gpus >= 1; n_logical % n_groups == 0;
// n_slots >= n_logical; n_slots % n_gpus == 0; n_gpus % n_nodes == 0.
// (eplb.py checks n_logical % n_groups only on the hierarchical path; here a
// group count that does not divide the experts is always an error.)
EplbPlacement eplb_rebalance(std::span<const double> load, int n_slots, int n_groups,
                             int n_nodes, int n_gpus);

// Expected load per GPU of placement `p` under another load vector (for
// example a placement computed from last window's statistics, evaluated on
// this window's): each expert's load split evenly over its replicas.
// Throws std::invalid_argument if load.size() != p.replica_count.size().
std::vector<double> eplb_gpu_load(const EplbPlacement& p, std::span<const double> load);

// max / mean of a per-GPU load vector (1 when the mean is 0).
double max_over_mean(std::span<const double> gpu_load);

struct StepImbalance {
  // max / mean of eplb_gpu_load(p, popularity): the imbalance of the expected
  // loads. Note that top-k sampling *without* replacement caps an expert's
  // chance of being chosen by a token at 1, so under strong skew the
  // large-token limit of the step imbalance sits somewhat below this value.
  double static_imbalance = 1.0;
  double mean_step_imbalance = 1.0;  // mean over the sampled steps
  double p99_step_imbalance = 1.0;   // nearest-rank 99th percentile over the steps
};

// Samples `samples` steps of `tokens` tokens each (see the file comment).
// popularity.size() must equal p.replica_count.size(), entries finite and
// >= 0, with at least top_k positive entries; tokens, top_k, samples >= 1.
// Throws std::invalid_argument otherwise. Cost: about tokens * top_k draws
// from an alias table per step.
StepImbalance sample_step_imbalance(const EplbPlacement& p, std::span<const double> popularity,
                                    int64_t tokens, int top_k, int samples, uint64_t seed);

// Expected busiest-GPU load of one step, as a multiple of the mean, when
// GPU g's routed rows are independent Poisson counts with mean s_g x
// mean_rows, s_g = gpu_load[g] / mean(gpu_load), in the Gaussian limit
// (variance = mean). Tends to max_over_mean(gpu_load) as mean_rows grows.
// Numerical integration, about 500 x (distinct shares) erfc calls.
// Throws std::invalid_argument on an empty load or mean_rows <= 0.
double expected_max_load(std::span<const double> gpu_load, double mean_rows);

// Lognormal expert popularity for tests and scenarios: w_i = exp(sigma * z_i)
// with z_i ~ N(0, 1) (Box-Muller on std::mt19937_64(seed)), normalised to
// mean 1. sigma = 0 gives all ones. Throws std::invalid_argument if
// n_experts < 1 or sigma is negative or not finite.
std::vector<double> lognormal_popularity(int n_experts, double sigma, uint64_t seed);

}  // namespace codesim::models
