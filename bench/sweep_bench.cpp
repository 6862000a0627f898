// Sweep throughput of the fast models: points per second per core for the
// training model (target: >= 1,000 training points per minute per core).
// Run: build/bench/sweep_bench
#include <benchmark/benchmark.h>

#include "scenarios/evaluators.hpp"
#include "scenarios/sweep.hpp"

namespace {

void BM_TrainPoint(benchmark::State& state) {
  using namespace codesim;
  scenarios::register_builtin_evaluators();
  const std::string root = CODESIM_SOURCE_ROOT;
  config::Node base;
  config::Diagnostics d;
  if (!config::load_file(root + "/scenarios/paper/v3-train-2048-h800-mpft.yaml", base, d)) {
    state.SkipWithError(d.str().c_str());
    return;
  }
  const auto* eval = scenarios::find_evaluator("train");
  for (auto _ : state) {
    auto r = (*eval)(base, "");
    benchmark::DoNotOptimize(r);
  }
  state.counters["points_per_min"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * 60.0, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_TrainPoint)->Unit(benchmark::kMillisecond);

void BM_ServePoint(benchmark::State& state) {
  using namespace codesim;
  scenarios::register_builtin_evaluators();
  const std::string root = CODESIM_SOURCE_ROOT;
  config::Node base;
  config::Diagnostics d;
  if (!config::load_file(root + "/scenarios/paper/v3-serve-day6.yaml", base, d)) {
    state.SkipWithError(d.str().c_str());
    return;
  }
  const auto* eval = scenarios::find_evaluator("serve");
  for (auto _ : state) {
    auto r = (*eval)(base, "");
    benchmark::DoNotOptimize(r);
  }
  state.counters["points_per_min"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * 60.0, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ServePoint)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
