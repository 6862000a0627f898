#include "models/routing.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace codesim::models {

GateConfig GateConfig::from(const MoeSpec& m) {
  return {m.n_routed_experts, m.n_activated_experts, m.n_expert_groups, m.n_limited_groups,
          m.route_scale,      m.score_func};
}

ExpertPlacement ExpertPlacement::contiguous(int n_experts, int n_gpus, int gpus_per_node) {
  ExpertPlacement p;
  p.n_gpus = n_gpus;
  p.gpus_per_node = gpus_per_node;
  p.expert_gpu.resize(static_cast<size_t>(n_experts));
  const int per_gpu = (n_experts + n_gpus - 1) / n_gpus;
  for (int e = 0; e < n_experts; ++e) p.expert_gpu[static_cast<size_t>(e)] = e / per_gpu;
  return p;
}

void apply_score_func(std::span<float> logits, int n_experts, ScoreFunc f) {
  const size_t n = static_cast<size_t>(n_experts);
  for (size_t r = 0; r + n <= logits.size(); r += n) {
    float* row = logits.data() + r;
    if (f == ScoreFunc::kSigmoid) {
      for (size_t e = 0; e < n; ++e) row[e] = 1.0f / (1.0f + std::exp(-row[e]));
    } else {
      const float mx = *std::max_element(row, row + n);
      float sum = 0;
      for (size_t e = 0; e < n; ++e) sum += (row[e] = std::exp(row[e] - mx));
      for (size_t e = 0; e < n; ++e) row[e] /= sum;
    }
  }
}

namespace {

constexpr float kMasked = -std::numeric_limits<float>::infinity();

// Indices of the k largest values, by value descending then index ascending.
std::vector<int> top_indices(const std::vector<float>& v, int k) {
  std::vector<int> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  k = std::min<int>(k, static_cast<int>(v.size()));
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int a, int b) {
    return v[static_cast<size_t>(a)] > v[static_cast<size_t>(b)] ||
           (v[static_cast<size_t>(a)] == v[static_cast<size_t>(b)] && a < b);
  });
  idx.resize(static_cast<size_t>(k));
  return idx;
}

// Sum of the `m` largest entries of v.
float top_sum(std::vector<float> v, int m) {
  m = std::min<int>(m, static_cast<int>(v.size()));
  std::partial_sort(v.begin(), v.begin() + m, v.end(), std::greater<float>());
  float s = 0;
  for (int i = 0; i < m; ++i) s += v[static_cast<size_t>(i)];
  return s;
}

}  // namespace

Routing route(std::span<const float> scores, int n_tokens, std::span<const float> bias,
              const GateConfig& cfg, const NodeLimit& limit) {
  const int E = cfg.n_experts;
  if (cfg.n_groups <= 0 || E % cfg.n_groups != 0)
    throw std::invalid_argument("route: n_experts must divide into n_groups");
  if (scores.size() != static_cast<size_t>(n_tokens) * static_cast<size_t>(E))
    throw std::invalid_argument("route: scores size != n_tokens * n_experts");
  const int gsize = E / cfg.n_groups;
  Routing r;
  r.n_tokens = n_tokens;
  r.top_k = cfg.top_k;
  r.experts.resize(static_cast<size_t>(n_tokens) * static_cast<size_t>(cfg.top_k));
  r.weights.resize(r.experts.size());

  std::vector<float> biased(static_cast<size_t>(E)), masked(static_cast<size_t>(E));
  for (int t = 0; t < n_tokens; ++t) {
    const float* s = scores.data() + static_cast<size_t>(t) * static_cast<size_t>(E);
    for (int e = 0; e < E; ++e)
      biased[static_cast<size_t>(e)] = s[e] + (bias.empty() ? 0.0f : bias[static_cast<size_t>(e)]);

    // Group limit.
    masked = biased;
    if (cfg.n_groups > 1 && cfg.n_limited_groups < cfg.n_groups) {
      std::vector<float> gscore(static_cast<size_t>(cfg.n_groups));
      for (int g = 0; g < cfg.n_groups; ++g) {
        std::vector<float> grp(biased.begin() + g * gsize, biased.begin() + (g + 1) * gsize);
        gscore[static_cast<size_t>(g)] =
            cfg.score_func == ScoreFunc::kSigmoid ? top_sum(grp, 2) : top_sum(grp, 1);
      }
      std::vector<char> keep(static_cast<size_t>(cfg.n_groups), 0);
      for (int g : top_indices(gscore, cfg.n_limited_groups)) keep[static_cast<size_t>(g)] = 1;
      for (int e = 0; e < E; ++e)
        if (!keep[static_cast<size_t>(e / gsize)]) masked[static_cast<size_t>(e)] = kMasked;
    }

    // Node limit.
    std::vector<int> extra;
    if (limit.placement && limit.max_nodes > 0 && limit.max_nodes < limit.placement->n_nodes()) {
      const ExpertPlacement& p = *limit.placement;
      const int n_nodes = p.n_nodes();
      const int per_node = std::max(1, cfg.top_k / limit.max_nodes);
      std::vector<std::vector<float>> on_node(static_cast<size_t>(n_nodes));
      for (int e = 0; e < E; ++e)
        if (masked[static_cast<size_t>(e)] != kMasked)
          on_node[static_cast<size_t>(p.node_of(e))].push_back(masked[static_cast<size_t>(e)]);
      std::vector<float> nscore(static_cast<size_t>(n_nodes), kMasked);
      for (int n = 0; n < n_nodes; ++n)
        if (!on_node[static_cast<size_t>(n)].empty())
          nscore[static_cast<size_t>(n)] = top_sum(on_node[static_cast<size_t>(n)], per_node);
      std::vector<char> keep(static_cast<size_t>(n_nodes), 0);
      for (int n : top_indices(nscore, limit.max_nodes)) keep[static_cast<size_t>(n)] = 1;
      int candidates = 0;
      for (int e = 0; e < E; ++e) {
        if (!keep[static_cast<size_t>(p.node_of(e))]) masked[static_cast<size_t>(e)] = kMasked;
        candidates += masked[static_cast<size_t>(e)] != kMasked;
      }
      if (candidates < cfg.top_k) {
        // Fill from the chosen nodes' other experts, in biased-score order,
        // after every group-allowed candidate.
        std::vector<float> fill(static_cast<size_t>(E), kMasked);
        for (int e = 0; e < E; ++e)
          if (keep[static_cast<size_t>(p.node_of(e))] && masked[static_cast<size_t>(e)] == kMasked)
            fill[static_cast<size_t>(e)] = biased[static_cast<size_t>(e)];
        extra = top_indices(fill, cfg.top_k - candidates);
      }
    }

    std::vector<int> chosen = top_indices(masked, cfg.top_k - static_cast<int>(extra.size()));
    chosen.insert(chosen.end(), extra.begin(), extra.end());
    float wsum = 0;
    for (int j = 0; j < cfg.top_k; ++j) {
      const int e = chosen[static_cast<size_t>(j)];
      r.experts[static_cast<size_t>(t * cfg.top_k + j)] = e;
      wsum += s[e];
    }
    const bool normalise = cfg.score_func == ScoreFunc::kSigmoid && wsum > 0;
    for (int j = 0; j < cfg.top_k; ++j) {
      const size_t i = static_cast<size_t>(t * cfg.top_k + j);
      const float w = s[r.experts[i]];
      r.weights[i] = static_cast<float>((normalise ? w / wsum : w) * cfg.route_scale);
    }
  }
  return r;
}

std::vector<int64_t> expert_load(const Routing& r, int n_experts) {
  std::vector<int64_t> load(static_cast<size_t>(n_experts), 0);
  for (int32_t e : r.experts) ++load[static_cast<size_t>(e)];
  return load;
}

int nodes_of_token(const Routing& r, int t, const ExpertPlacement& p) {
  std::vector<int> nodes;
  for (int j = 0; j < r.top_k; ++j) nodes.push_back(p.node_of(r.expert(t, j)));
  std::sort(nodes.begin(), nodes.end());
  return static_cast<int>(std::unique(nodes.begin(), nodes.end()) - nodes.begin());
}

void update_bias(std::span<float> bias, std::span<const int64_t> load, float gamma) {
  if (load.empty()) return;
  const double mean =
      static_cast<double>(std::accumulate(load.begin(), load.end(), int64_t{0})) /
      static_cast<double>(load.size());
  for (size_t e = 0; e < bias.size() && e < load.size(); ++e) {
    const double d = mean - static_cast<double>(load[e]);
    bias[e] += gamma * static_cast<float>((d > 0) - (d < 0));
  }
}

}  // namespace codesim::models
