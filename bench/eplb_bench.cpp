// EPLB speed: the placement (models/eplb.hpp) for DeepSeek-V3's 256 routed
// experts, and one sampled step of the per-step imbalance sampler in the
// decode shape (25,000 tokens, top-8, 288 slots on 144 GPUs, lognormal
// popularity sigma = 1).
//
// Run: build/bench/eplb_bench
#include <benchmark/benchmark.h>

#include <vector>

#include "models/eplb.hpp"

namespace {

using codesim::models::eplb_rebalance;
using codesim::models::lognormal_popularity;
using codesim::models::sample_step_imbalance;

// Args: slots, nodes, GPUs (8 groups). 288/4/32: prefill (hierarchical);
// 288/18/144: decode (global).
void rebalance(benchmark::State& state) {
  const std::vector<double> load = lognormal_popularity(256, 1.0, 1);
  const int slots = static_cast<int>(state.range(0));
  const int nodes = static_cast<int>(state.range(1));
  const int gpus = static_cast<int>(state.range(2));
  for (auto _ : state) benchmark::DoNotOptimize(eplb_rebalance(load, slots, 8, nodes, gpus));
}
BENCHMARK(rebalance)->Args({288, 4, 32})->Args({288, 18, 144})->Unit(benchmark::kMicrosecond);

// One sample (one step) per iteration; items = routed rows.
void sample_decode_step(benchmark::State& state) {
  const std::vector<double> pop = lognormal_popularity(256, 1.0, 1);
  const auto p = eplb_rebalance(pop, 288, 8, 18, 144);
  const int64_t tokens = state.range(0);
  uint64_t seed = 0;
  for (auto _ : state) benchmark::DoNotOptimize(sample_step_imbalance(p, pop, tokens, 8, 1, ++seed));
  state.SetItemsProcessed(state.iterations() * tokens * 8);
}
BENCHMARK(sample_decode_step)->Arg(25'000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
