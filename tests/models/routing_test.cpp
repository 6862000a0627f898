// DeepSeekMoE routing: group-limited top-k, node-limited routing (TR sec.
// 2.2, ISCA sec. 4.3; target T20: <= 4 nodes per token), weights from the
// unbiased scores, and the auxiliary-loss-free bias update.
#include "models/routing.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "models/layers.hpp"
#include "models/moe.hpp"
#include "models/transformer.hpp"

namespace codesim::models {
namespace {

std::vector<float> random_scores(int tokens, int experts, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> g(0.0f, 2.0f);
  std::vector<float> s(static_cast<size_t>(tokens) * experts);
  for (float& v : s) v = g(gen);
  apply_score_func(s, experts, ScoreFunc::kSigmoid);
  return s;
}

GateConfig v3_gate() {
  // DeepSeek-V3: 256 experts, 8 groups, top-4 groups, top-8, route_scale 2.5.
  return {256, 8, 8, 4, 2.5, ScoreFunc::kSigmoid};
}

TEST(Routing, GroupLimitedTopKMatchesDefinition) {
  const GateConfig cfg = v3_gate();
  const int T = 64;
  const auto s = random_scores(T, 256, 1);
  std::vector<float> bias(256);
  std::mt19937 gen(2);
  std::uniform_real_distribution<float> u(-0.1f, 0.1f);
  for (float& b : bias) b = u(gen);
  const Routing r = route(s, T, bias, cfg);
  for (int t = 0; t < T; ++t) {
    // Definition by brute force: group scores = sum of the two largest
    // biased scores of each 32-expert group; the 4 best groups; the 8 best
    // biased experts inside them.
    std::vector<std::pair<float, int>> groups;
    for (int g = 0; g < 8; ++g) {
      std::vector<float> v;
      for (int e = g * 32; e < (g + 1) * 32; ++e) v.push_back(s[static_cast<size_t>(t * 256 + e)] + bias[static_cast<size_t>(e)]);
      std::sort(v.rbegin(), v.rend());
      groups.push_back({v[0] + v[1], g});
    }
    std::sort(groups.begin(), groups.end(), [](auto a, auto b) { return a.first > b.first; });
    std::vector<std::pair<float, int>> cand;
    for (int i = 0; i < 4; ++i)
      for (int e = groups[static_cast<size_t>(i)].second * 32; e < (groups[static_cast<size_t>(i)].second + 1) * 32; ++e)
        cand.push_back({s[static_cast<size_t>(t * 256 + e)] + bias[static_cast<size_t>(e)], e});
    std::sort(cand.begin(), cand.end(), [](auto a, auto b) { return a.first > b.first; });
    float wsum = 0;
    for (int j = 0; j < 8; ++j) wsum += s[static_cast<size_t>(t * 256 + cand[static_cast<size_t>(j)].second)];
    for (int j = 0; j < 8; ++j) {
      ASSERT_EQ(r.expert(t, j), cand[static_cast<size_t>(j)].second);
      // Weight: unbiased score, normalised over the 8, times 2.5.
      EXPECT_NEAR(r.weights[static_cast<size_t>(t * 8 + j)],
                  s[static_cast<size_t>(t * 256 + r.expert(t, j))] / wsum * 2.5f, 1e-6);
    }
  }
}

TEST(Routing, NodeLimitedNeverExceedsMNodes) {
  // T20: 256 experts over 64 GPUs on 8 nodes (4 experts per GPU); with the
  // group limit off (8 of 8 groups) the node limit alone must hold.
  GateConfig cfg = v3_gate();
  cfg.n_limited_groups = 8;
  const ExpertPlacement p = ExpertPlacement::contiguous(256, 64, 8);
  ASSERT_EQ(p.n_nodes(), 8);
  for (int m : {1, 2, 3, 4}) {
    const int T = 200;
    const auto s = random_scores(T, 256, 10 + static_cast<unsigned>(m));
    const Routing r = route(s, T, {}, cfg, {&p, m});
    for (int t = 0; t < T; ++t) {
      ASSERT_LE(nodes_of_token(r, t, p), m);
      std::vector<int> ex(r.experts.begin() + t * 8, r.experts.begin() + t * 8 + 8);
      std::sort(ex.begin(), ex.end());
      ASSERT_EQ(std::unique(ex.begin(), ex.end()), ex.end());  // 8 distinct experts
    }
  }
  // Also with a scattered placement that does not follow the groups, and the
  // group limit on (where the fill rule may be needed).
  ExpertPlacement scattered = p;
  std::mt19937 gen(3);
  std::shuffle(scattered.expert_gpu.begin(), scattered.expert_gpu.end(), gen);
  const auto s = random_scores(300, 256, 99);
  const Routing r = route(s, 300, {}, v3_gate(), {&scattered, 2});
  for (int t = 0; t < 300; ++t) ASSERT_LE(nodes_of_token(r, t, scattered), 2);
}

TEST(Routing, NodeLimitWithMEqualToNodesIsPlainGroupLimitedTopK) {
  const GateConfig cfg = v3_gate();
  const ExpertPlacement p = ExpertPlacement::contiguous(256, 64, 8);
  const auto s = random_scores(128, 256, 5);
  const Routing a = route(s, 128, {}, cfg);
  const Routing b = route(s, 128, {}, cfg, {&p, p.n_nodes()});
  EXPECT_EQ(a.experts, b.experts);
  EXPECT_EQ(a.weights, b.weights);
}

TEST(Routing, NodeScoreUsesTopKOverMAffinities) {
  // 4 nodes x 2 experts, top-2, M = 1: per node the sum of the top 2/1 = 2
  // affinities. Node 0 has the single best expert (0.9) but node 1 the best
  // pair (0.8 + 0.8), so node 1 wins and experts 2 and 3 are chosen.
  const GateConfig cfg{8, 2, 1, 1, 1.0, ScoreFunc::kSigmoid};
  const ExpertPlacement p = ExpertPlacement::contiguous(8, 4, 1);
  const std::vector<float> s = {0.9f, 0.1f, 0.8f, 0.8f, 0.2f, 0.2f, 0.3f, 0.3f};
  const Routing r = route(s, 1, {}, cfg, {&p, 1});
  EXPECT_EQ(r.expert(0, 0), 2);
  EXPECT_EQ(r.expert(0, 1), 3);
  const Routing plain = route(s, 1, {}, cfg);
  EXPECT_EQ(plain.expert(0, 0), 0);
}

TEST(Routing, BiasUpdateMovesLoadTowardBalance) {
  // Skewed input: every token prefers the low-numbered experts. The
  // aux-loss-free rule b_e += gamma * sign(mean - load_e) must shrink the
  // imbalance (max load / mean) step after step.
  const GateConfig cfg{16, 2, 4, 2, 1.0, ScoreFunc::kSigmoid};
  const int T = 512;
  std::mt19937 gen(8);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> logits(static_cast<size_t>(T) * 16);
  for (int t = 0; t < T; ++t)
    for (int e = 0; e < 16; ++e) logits[static_cast<size_t>(t * 16 + e)] = g(gen) + 3.0f * (1.0f - e / 8.0f);
  apply_score_func(logits, 16, ScoreFunc::kSigmoid);
  std::vector<float> bias(16, 0.0f);
  auto imbalance = [&](const Routing& r) {
    const auto load = expert_load(r, 16);
    const double mean = static_cast<double>(T) * 2 / 16;
    return static_cast<double>(*std::max_element(load.begin(), load.end())) / mean;
  };
  const double start = imbalance(route(logits, T, bias, cfg));
  std::vector<double> history;
  for (int step = 0; step < 60; ++step) {
    const Routing r = route(logits, T, bias, cfg);
    update_bias(bias, expert_load(r, 16), 0.01f);
    history.push_back(imbalance(r));
  }
  const double end = imbalance(route(logits, T, bias, cfg));
  std::printf("bias update: max/mean expert load %.2f -> %.2f after 60 steps (gamma 0.01)\n", start, end);
  EXPECT_GT(start, 3.0);
  EXPECT_LT(end, 1.5);
  // The trend is toward balance: after 10 steps better than at the start,
  // after 30 better than after 10 (or already balanced).
  EXPECT_LT(history[10], start);
  EXPECT_LE(history[30], std::max(history[10], 1.5));
}

TEST(Routing, MoeLayerRoutesAndReportsLoad) {
  ModelSpec spec = tiny_deepseek_spec();
  WeightRng rng(1, 7);
  MoeLayer moe(spec.dim, *spec.moe, rng);
  WeightRng xr(2, 0);
  Mat x(64, spec.dim);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = xr.symmetric();
  OpLog log;
  Routing r;
  const Mat y = moe.forward(x, OpSink{&log, 3, "moe.", {}, {}}, {}, &r);
  EXPECT_EQ(y.rows(), 64);
  ASSERT_EQ(log.routing.size(), 1u);
  EXPECT_EQ(log.routing[0].layer, 3);
  EXPECT_EQ(log.routing[0].experts, r.experts);
  const auto& load = moe.load_since_update();
  EXPECT_EQ(std::accumulate(load.begin(), load.end(), int64_t{0}), 64 * spec.moe->n_activated_experts);
  // The MoE output equals shared + sum_j w_j expert_j, checked by linearity:
  // doubling the gate weights (route_scale) is not observable here, so just
  // check that the weights sum to route_scale per token (sigmoid gate).
  for (int t = 0; t < 64; ++t) {
    float s = 0;
    for (int j = 0; j < r.top_k; ++j) s += r.weights[static_cast<size_t>(t * r.top_k + j)];
    EXPECT_NEAR(s, spec.moe->route_scale, 1e-5);
  }
  moe.update_bias(0.001f);
  EXPECT_EQ(std::accumulate(moe.load_since_update().begin(), moe.load_since_update().end(), int64_t{0}), 0);
}

}  // namespace
}  // namespace codesim::models
