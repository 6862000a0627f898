// EPLB placement (after deepseek-ai/EPLB eplb.py; own implementation) and the
// per-step imbalance sampler. See models/eplb.hpp for the contract.
#include "models/eplb.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numbers>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>

namespace codesim::models {

namespace {

using std::size_t;

size_t idx(int i) { return static_cast<size_t>(i); }

[[noreturn]] void fail(const std::string& what) {
  throw std::invalid_argument("eplb_rebalance: " + what);
}

// Where balanced packing puts an item: pack index and position in the pack.
struct PackSlot {
  int pack = 0;
  int rank = 0;
};

// Packs weights.size() items into n_packs packs of exactly
// weights.size() / n_packs items each: items in order of decreasing weight
// (stable, so ties keep index order), each onto the lightest pack that still
// has room (ties: lowest pack). With one item per pack, item i goes to pack i
// unsorted, as in eplb.py.
std::vector<PackSlot> balanced_packing(std::span<const double> weights, int n_packs) {
  const int n = static_cast<int>(weights.size());
  const int per_pack = n / n_packs;
  std::vector<PackSlot> out(weights.size());
  if (per_pack == 1) {
    for (int i = 0; i < n; ++i) out[idx(i)] = {i, 0};
    return out;
  }
  std::vector<int> order(weights.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return weights[idx(a)] > weights[idx(b)]; });
  std::vector<double> pack_weight(idx(n_packs), 0.0);
  std::vector<int> pack_items(idx(n_packs), 0);
  for (const int item : order) {
    int best = -1;
    for (int k = 0; k < n_packs; ++k) {
      if (pack_items[idx(k)] >= per_pack) continue;
      if (best < 0 || pack_weight[idx(k)] < pack_weight[idx(best)]) best = k;
    }
    out[idx(item)] = {best, pack_items[idx(best)]};
    pack_weight[idx(best)] += weights[idx(item)];
    ++pack_items[idx(best)];
  }
  return out;
}

// Replicates n_log = weights.size() experts onto n_phy >= n_log physical
// slots: slot i < n_log holds expert i; each further slot goes to the expert
// with the largest weight / count (ties: lowest index). Returns the expert of
// each slot; `count` receives the replica count of each expert.
std::vector<int> replicate(std::span<const double> weights, int n_phy, std::vector<int>& count) {
  const int n_log = static_cast<int>(weights.size());
  std::vector<int> phy(idx(n_phy));
  std::iota(phy.begin(), phy.begin() + n_log, 0);
  count.assign(weights.size(), 1);
  for (int s = n_log; s < n_phy; ++s) {
    int best = 0;
    for (int e = 1; e < n_log; ++e)
      if (weights[idx(e)] / count[idx(e)] > weights[idx(best)] / count[idx(best)]) best = e;
    phy[idx(s)] = best;
    ++count[idx(best)];
  }
  return phy;
}

// Vose's alias table over non-negative weights with a positive sum. A draw
// takes one 64-bit word: the high half picks a column (multiply-shift), the
// low half is the coin: keep the column if coin < threshold (the column's
// probability scaled by 2^32), else take its alias. A column whose
// probability rounds to 1 is its own alias, so 32-bit thresholds suffice.
// Entry layout (threshold, alias) in one word keeps a draw to one load.
class AliasTable {
 public:
  explicit AliasTable(std::span<const double> w) : n_(w.size()), entry_(n_) {
    const double sum = std::accumulate(w.begin(), w.end(), 0.0);
    std::vector<double> prob(n_);
    std::vector<uint32_t> alias(n_);
    std::vector<size_t> small, large;
    for (size_t i = 0; i < n_; ++i) {
      prob[i] = w[i] * static_cast<double>(n_) / sum;
      (prob[i] < 1.0 ? small : large).push_back(i);
      alias[i] = static_cast<uint32_t>(i);
    }
    while (!small.empty() && !large.empty()) {
      const size_t s = small.back(), l = large.back();
      small.pop_back();
      alias[s] = static_cast<uint32_t>(l);
      prob[l] -= 1.0 - prob[s];
      if (prob[l] < 1.0) {
        large.pop_back();
        small.push_back(l);
      }
    }
    // Leftovers differ from 1 only by rounding.
    for (const size_t i : small) prob[i] = 1.0;
    for (const size_t i : large) prob[i] = 1.0;
    for (size_t i = 0; i < n_; ++i) {
      const double t = std::round(std::clamp(prob[i], 0.0, 1.0) * 4294967296.0);
      const bool full = t >= 4294967295.0;
      const uint64_t thr = full ? 0xffffffffu : static_cast<uint64_t>(t);
      entry_[i] = thr | uint64_t{full ? static_cast<uint32_t>(i) : alias[i]} << 32;
    }
  }
  uint32_t draw(uint64_t r) const {
    const uint64_t e = entry_[static_cast<size_t>(((r >> 32) * n_) >> 32)];
    const auto col = static_cast<uint32_t>(((r >> 32) * n_) >> 32);
    return (r & 0xffffffffu) < (e & 0xffffffffu) ? col : static_cast<uint32_t>(e >> 32);
  }

 private:
  uint64_t n_;
  std::vector<uint64_t> entry_;  // threshold | alias << 32
};

// Uniform in [0, n) from the high half of a 64-bit word (n < 2^32).
uint32_t pick(uint64_t r, uint32_t n) { return static_cast<uint32_t>(((r >> 32) * n) >> 32); }

// Uniform in (0, 1], 53 bits.
double unit_open0(std::mt19937_64& gen) {
  return static_cast<double>((gen() >> 11) + 1) * 0x1.0p-53;
}

void check_weights(std::span<const double> w, const char* fn, const char* name) {
  for (size_t i = 0; i < w.size(); ++i)
    if (!std::isfinite(w[i]) || w[i] < 0)
      throw std::invalid_argument(std::string(fn) + ": " + name + "[" + std::to_string(i) +
                                  "] = " + std::to_string(w[i]) +
                                  "; expected a finite value >= 0");
}

}  // namespace

double max_over_mean(std::span<const double> gpu_load) {
  if (gpu_load.empty()) return 1.0;
  const double sum = std::accumulate(gpu_load.begin(), gpu_load.end(), 0.0);
  if (sum <= 0) return 1.0;
  const double mx = *std::max_element(gpu_load.begin(), gpu_load.end());
  return mx / (sum / static_cast<double>(gpu_load.size()));
}

double EplbPlacement::imbalance() const { return max_over_mean(gpu_load); }

std::vector<double> eplb_gpu_load(const EplbPlacement& p, std::span<const double> load) {
  if (load.size() != p.replica_count.size())
    throw std::invalid_argument("eplb_gpu_load: load has " + std::to_string(load.size()) +
                                " experts, the placement " +
                                std::to_string(p.replica_count.size()));
  std::vector<double> g(idx(p.n_gpus), 0.0);
  for (int s = 0; s < p.n_slots(); ++s) {
    const int e = p.phy_to_log[idx(s)];
    g[idx(p.gpu_of_slot(s))] += load[idx(e)] / p.replica_count[idx(e)];
  }
  return g;
}

EplbPlacement eplb_rebalance(std::span<const double> load, int n_slots, int n_groups,
                             int n_nodes, int n_gpus) {
  const int n_log = static_cast<int>(load.size());
  if (n_log == 0) fail("load is empty (need one entry per logical expert)");
  check_weights(load, "eplb_rebalance", "load");
  if (n_groups < 1 || n_nodes < 1 || n_gpus < 1)
    fail("n_groups (" + std::to_string(n_groups) + "), n_nodes (" + std::to_string(n_nodes) +
         ") and n_gpus (" + std::to_string(n_gpus) + ") must all be >= 1");
  if (n_log % n_groups != 0)
    fail(std::to_string(n_log) + " logical experts do not divide into n_groups = " +
         std::to_string(n_groups));
  if (n_slots < n_log)
    fail("n_slots = " + std::to_string(n_slots) + " is fewer than the " + std::to_string(n_log) +
         " logical experts");
  if (n_slots % n_gpus != 0)
    fail("n_slots = " + std::to_string(n_slots) + " is not a multiple of n_gpus = " +
         std::to_string(n_gpus));
  if (n_gpus % n_nodes != 0)
    fail("n_gpus = " + std::to_string(n_gpus) + " is not a multiple of n_nodes = " +
         std::to_string(n_nodes));

  EplbPlacement p;
  p.n_gpus = n_gpus;
  p.n_nodes = n_nodes;
  p.hierarchical = n_groups % n_nodes == 0;
  // The global policy is the hierarchical one with one group on one node.
  const int groups = p.hierarchical ? n_groups : 1;
  const int nodes = p.hierarchical ? n_nodes : 1;
  const int group_size = n_log / groups;
  const int groups_per_node = groups / nodes;
  const int log_per_node = n_log / nodes;
  const int slots_per_node = n_slots / nodes;
  const int gpus_per_node = n_gpus / nodes;
  const int slots_per_gpu = n_slots / n_gpus;

  // Step 1: groups onto nodes. Node-major order ("mlog"): node n holds mlog
  // indices [n * log_per_node, (n + 1) * log_per_node), its groups in the
  // order they were packed.
  std::vector<double> group_load(idx(groups), 0.0);
  for (int e = 0; e < n_log; ++e) group_load[idx(e / group_size)] += load[idx(e)];
  const std::vector<PackSlot> group_at = balanced_packing(group_load, nodes);
  std::vector<int> mlog_to_log(idx(n_log));
  for (int g = 0; g < groups; ++g) {
    const int base = (group_at[idx(g)].pack * groups_per_node + group_at[idx(g)].rank) * group_size;
    for (int j = 0; j < group_size; ++j) mlog_to_log[idx(base + j)] = g * group_size + j;
  }

  p.phy_to_log.assign(idx(n_slots), -1);
  p.replica_count.assign(idx(n_log), 0);
  std::vector<double> node_load(idx(log_per_node));
  std::vector<double> phy_load(idx(slots_per_node));
  std::vector<int> count;
  for (int n = 0; n < nodes; ++n) {
    const int* node_log = mlog_to_log.data() + idx(n * log_per_node);
    for (int m = 0; m < log_per_node; ++m) node_load[idx(m)] = load[idx(node_log[m])];
    // Step 2: replicas within the node.
    const std::vector<int> phy = replicate(node_load, slots_per_node, count);
    for (int m = 0; m < log_per_node; ++m) p.replica_count[idx(node_log[m])] = count[idx(m)];
    // Step 3: physical experts onto the node's GPUs.
    for (int s = 0; s < slots_per_node; ++s)
      phy_load[idx(s)] = node_load[idx(phy[idx(s)])] / count[idx(phy[idx(s)])];
    const std::vector<PackSlot> at = balanced_packing(phy_load, gpus_per_node);
    for (int s = 0; s < slots_per_node; ++s) {
      const int slot = n * slots_per_node + at[idx(s)].pack * slots_per_gpu + at[idx(s)].rank;
      p.phy_to_log[idx(slot)] = node_log[phy[idx(s)]];
    }
  }
  p.gpu_load = eplb_gpu_load(p, load);
  return p;
}

StepImbalance sample_step_imbalance(const EplbPlacement& p, std::span<const double> popularity,
                                    int64_t tokens, int top_k, int samples, uint64_t seed) {
  const char* fn = "sample_step_imbalance";
  const size_t n_log = p.replica_count.size();
  if (popularity.size() != n_log)
    throw std::invalid_argument(std::string(fn) + ": popularity has " +
                                std::to_string(popularity.size()) + " experts, the placement " +
                                std::to_string(n_log));
  check_weights(popularity, fn, "popularity");
  if (p.n_gpus < 1 || p.n_slots() % p.n_gpus != 0 || p.n_slots() < 1)
    throw std::invalid_argument(std::string(fn) + ": placement has " +
                                std::to_string(p.n_slots()) + " slots on " +
                                std::to_string(p.n_gpus) + " GPUs");
  const auto positive = std::count_if(popularity.begin(), popularity.end(),
                                      [](double w) { return w > 0; });
  if (tokens < 1 || top_k < 1 || samples < 1 || positive < top_k)
    throw std::invalid_argument(
        std::string(fn) + ": need tokens >= 1, samples >= 1 and 1 <= top_k <= experts with " +
        "positive popularity (got tokens = " + std::to_string(tokens) + ", top_k = " +
        std::to_string(top_k) + ", samples = " + std::to_string(samples) + ", " +
        std::to_string(positive) + " positive experts)");

  // The GPUs holding each expert's replicas, flattened: expert e's are
  // replica_gpu[first[e] .. first[e + 1]).
  std::vector<uint32_t> first(n_log + 1, 0);
  for (const int e : p.phy_to_log) ++first[idx(e) + 1];
  for (size_t e = 0; e < n_log; ++e) first[e + 1] += first[e];
  std::vector<uint32_t> replica_gpu(first.back());
  {
    std::vector<uint32_t> fill(first.begin(), first.end() - 1);
    for (int s = 0; s < p.n_slots(); ++s)
      replica_gpu[fill[idx(p.phy_to_log[idx(s)])]++] = static_cast<uint32_t>(p.gpu_of_slot(s));
  }

  // GPU of an expert with a single replica (the common case), else kMany.
  constexpr uint32_t kMany = 0xffffffffu;
  std::vector<uint32_t> only_gpu(n_log);
  for (size_t e = 0; e < n_log; ++e)
    only_gpu[e] = first[e + 1] - first[e] == 1 ? replica_gpu[first[e]] : kMany;

  const AliasTable table(popularity);
  std::mt19937_64 gen(seed);
  std::vector<uint64_t> chosen_by(n_log, 0);  // token stamp (1-based) that last chose e
  std::vector<int64_t> rows(idx(p.n_gpus));
  std::vector<double> ratio(idx(samples));
  const double mean_rows = static_cast<double>(tokens) * top_k / p.n_gpus;
  // Rejection of repeats is exact for sequential sampling without
  // replacement; when the experts already chosen hold most of the mass, fall
  // back to an exact linear draw after this many rejections.
  constexpr int kMaxRejections = 64;
  uint64_t stamp = 0;
  for (int step = 0; step < samples; ++step) {
    std::fill(rows.begin(), rows.end(), 0);
    for (int64_t t = 0; t < tokens; ++t) {
      ++stamp;
      for (int j = 0; j < top_k; ++j) {
        uint32_t e = 0;
        int tries = 0;
        for (;;) {
          e = table.draw(gen());
          if (chosen_by[e] != stamp) break;
          if (++tries == kMaxRejections) {
            double rest = 0;
            for (size_t i = 0; i < n_log; ++i)
              if (chosen_by[i] != stamp) rest += popularity[i];
            double u = static_cast<double>(gen() >> 11) * 0x1.0p-53 * rest;
            e = 0;
            for (size_t i = 0; i < n_log; ++i) {
              if (chosen_by[i] == stamp || popularity[i] <= 0) continue;
              e = static_cast<uint32_t>(i);
              if (u < popularity[i]) break;
              u -= popularity[i];
            }
            break;
          }
        }
        chosen_by[e] = stamp;
        uint32_t gpu = only_gpu[e];
        if (gpu == kMany) gpu = replica_gpu[first[e] + pick(gen(), first[e + 1] - first[e])];
        ++rows[gpu];
      }
    }
    ratio[idx(step)] = static_cast<double>(*std::max_element(rows.begin(), rows.end())) / mean_rows;
  }

  StepImbalance out;
  out.static_imbalance = max_over_mean(eplb_gpu_load(p, popularity));
  out.mean_step_imbalance =
      std::accumulate(ratio.begin(), ratio.end(), 0.0) / static_cast<double>(samples);
  std::sort(ratio.begin(), ratio.end());
  const auto rank = static_cast<size_t>(std::ceil(0.99 * samples));  // nearest rank, 1-based
  out.p99_step_imbalance = ratio[std::max<size_t>(rank, 1) - 1];
  return out;
}

std::vector<double> lognormal_popularity(int n_experts, double sigma, uint64_t seed) {
  if (n_experts < 1 || !std::isfinite(sigma) || sigma < 0)
    throw std::invalid_argument("lognormal_popularity: need n_experts >= 1 and a finite sigma >= 0"
                                " (got n_experts = " + std::to_string(n_experts) +
                                ", sigma = " + std::to_string(sigma) + ")");
  std::mt19937_64 gen(seed);
  std::vector<double> w(idx(n_experts));
  for (double& x : w) {
    // Box-Muller, cosine branch only: one normal per pair of uniforms.
    const double u1 = unit_open0(gen), u2 = unit_open0(gen);
    const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
    x = std::exp(sigma * z);
  }
  const double mean = std::accumulate(w.begin(), w.end(), 0.0) / n_experts;
  for (double& x : w) x /= mean;
  return w;
}

namespace {

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

// E[max] = a + integral_a^b (1 - F(x)) dx with F the product of the GPUs'
// CDFs (distinct shares with multiplicities), by Simpson's rule over
// [max mean - 7 sd, max mean + 9 sd] (F(a) < 1e-11, 1 - F(b) < 1e-18 per GPU).
double expected_max_share(const std::vector<std::pair<double, int>>& shares, double r) {
  double top = 0, sd_top = 0;
  for (const auto& [s, n] : shares) {
    top = std::max(top, s * r);
    sd_top = std::max(sd_top, std::sqrt(s * r));
  }
  const double a = std::max(0.0, top - 7 * sd_top), b = top + 9 * sd_top;
  // GPUs whose CDF is 1 - 1e-19 or more at `a` cannot be the maximum:
  // leave them out of the product (most of them under skew).
  std::vector<std::pair<double, int>> live;
  for (const auto& [s, n] : shares)
    if (s > 0 && (a - s * r) / std::sqrt(s * r) < 9) live.emplace_back(s, n);
  constexpr int kIntervals = 512;
  const double h = (b - a) / kIntervals;
  auto tail = [&](double x) {
    double log_f = 0;
    for (const auto& [s, n] : live) {
      const double cdf = normal_cdf((x - s * r) / std::sqrt(s * r));
      if (cdf <= 0) return 1.0;
      log_f += n * std::log(cdf);
    }
    return 1 - std::exp(log_f);
  };
  double sum = tail(a) + tail(b);
  for (int i = 1; i < kIntervals; ++i) sum += tail(a + i * h) * (i % 2 ? 4 : 2);
  return (a + sum * h / 3) / r;
}

}  // namespace

double expected_max_load(std::span<const double> gpu_load, double mean_rows) {
  if (gpu_load.empty()) throw std::invalid_argument("expected_max_load: no GPUs");
  if (!(mean_rows > 0)) throw std::invalid_argument("expected_max_load: mean_rows must be > 0");
  double mean = 0;
  for (double l : gpu_load) mean += l;
  mean /= static_cast<double>(gpu_load.size());
  std::map<double, int> distinct;
  for (double l : gpu_load) ++distinct[mean > 0 ? l / mean : 1.0];
  return expected_max_share({distinct.begin(), distinct.end()}, mean_rows);
}

}  // namespace codesim::models
