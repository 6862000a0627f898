// File: models/routing.hpp
//
// DeepSeekMoE routing as pure functions on plain arrays (Eigen-free, so the
// trace writer and workloads can route without the reference model):
//
//  * affinities s = sigmoid(u . e) (V3) or softmax (V2), computed by the caller;
//  * auxiliary-loss-free balancing (DeepSeek-V3 TR sec. 2.1.2): a per-expert
//    bias b_e is added to s for *selection only*; the gate weights come from
//    the unbiased s of the selected experts, normalised to sum 1 (sigmoid),
//    times route_scale. After each step b_e += gamma * sign(mean_load - load_e);
//  * group-limited routing (V3 inference/model.py semantics): experts split
//    into n_groups contiguous groups; group score = sum of the top-2 biased
//    scores in the group (sigmoid) or the max (softmax, V2); keep the
//    n_limited_groups best groups, then the top_k experts among them;
//  * node-limited routing (TR sec. 2.2 / ISCA sec. 4.3): given a placement
//    of experts on nodes, a token uses at most M nodes, chosen by the sum of
//    the highest top_k/M biased scores of its candidate experts on each node.
//
// Ties break toward the lower index, so routing is deterministic.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "models/model_spec.hpp"

namespace codesim::models {

struct GateConfig {
  int n_experts = 0;
  int top_k = 0;
  int n_groups = 1;
  int n_limited_groups = 1;
  double route_scale = 1.0;
  ScoreFunc score_func = ScoreFunc::kSigmoid;
  static GateConfig from(const MoeSpec& m);
};

// Where each routed expert lives: expert e on GPU expert_gpu[e], GPU g on node
// g / gpus_per_node.
struct ExpertPlacement {
  int n_gpus = 1;
  int gpus_per_node = 8;
  std::vector<int> expert_gpu;
  int n_nodes() const { return (n_gpus + gpus_per_node - 1) / gpus_per_node; }
  int node_of(int expert) const { return expert_gpu[static_cast<size_t>(expert)] / gpus_per_node; }
  // Experts 0..n-1 in contiguous blocks of n/n_gpus per GPU (DeepSeek's EP layout).
  static ExpertPlacement contiguous(int n_experts, int n_gpus, int gpus_per_node);
};

// Node limit: at most max_nodes nodes per token under `placement`.
struct NodeLimit {
  const ExpertPlacement* placement = nullptr;
  int max_nodes = 0;
};

struct Routing {
  int n_tokens = 0;
  int top_k = 0;
  std::vector<int32_t> experts;  // n_tokens x top_k, by descending biased score
  std::vector<float> weights;    // n_tokens x top_k
  int32_t expert(int t, int j) const { return experts[static_cast<size_t>(t * top_k + j)]; }
};

// Affinity from raw gate logits, in place (row-major n_tokens x n_experts).
void apply_score_func(std::span<float> logits, int n_experts, ScoreFunc f);

// Routes n_tokens tokens. `scores`: affinities (after the score function),
// row-major n_tokens x n_experts. `bias`: n_experts (may be empty = zeros).
// With a node limit, nodes are chosen among the experts that passed the group
// limit; if the chosen nodes hold fewer than top_k such experts, the rest are
// filled from the other experts on the same nodes (so every token gets exactly
// top_k experts and never more than max_nodes nodes). Requires
// max_nodes * (experts per node) >= top_k.
Routing route(std::span<const float> scores, int n_tokens, std::span<const float> bias,
              const GateConfig& cfg, const NodeLimit& limit = {});

// Tokens per expert.
std::vector<int64_t> expert_load(const Routing& r, int n_experts);
// Distinct nodes token t is sent to.
int nodes_of_token(const Routing& r, int t, const ExpertPlacement& p);
// Aux-loss-free bias update: b_e += gamma * sign(mean(load) - load_e).
void update_bias(std::span<float> bias, std::span<const int64_t> load, float gamma);

}  // namespace codesim::models
