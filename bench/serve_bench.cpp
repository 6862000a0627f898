// Serving benchmarks (speed targets of issue 6, not tests):
//   BM_SizeDay6          `codesim size` on the day-6 scenario      (< 10 s)
//   BM_SimulateHourDay6  one hour of traffic at the day-6 load     (< 60 s)
//   BM_DecodeStep        one decode-step evaluation (the DES inner loop)
//   BM_FleetReplayDay6   the day-6 fleet (248 nodes) on one fabric, both probes
// Run: build/bench/serve_bench
#include <benchmark/benchmark.h>

#include <string>

#include "scenarios/scenario.hpp"
#include "workloads/serving_estimate.hpp"
#include "workloads/serving_fleet.hpp"
#include "workloads/serving_sim.hpp"
#include "workloads/serving_size.hpp"

namespace {

using namespace codesim;
using namespace codesim::workloads;

ServingSpec day6() {
  scenarios::Scenario sc;
  config::Diagnostics d;
  const std::string path = std::string(CODESIM_SOURCE_ROOT) + "/scenarios/paper/v3-serve-day6.yaml";
  if (!scenarios::load_scenario(path, {}, sc, d) || !sc.serving) std::abort();
  return *sc.serving;
}

void BM_SizeDay6(benchmark::State& state) {
  const ServingSpec s = day6();
  for (auto _ : state) {
    SizeResult r = size_deployment(s);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_SizeDay6)->Unit(benchmark::kMillisecond);

void BM_SimulateHourDay6(benchmark::State& state) {
  ServingSpec s = day6();
  s.simulate.warmup = Seconds(int64_t{60});
  s.simulate.duration = Seconds(int64_t{3600});
  const ServingEstimate e = estimate_serving(s, UnitCount::kWhole);
  for (auto _ : state) {
    SimResult r = simulate_serving(s, e);
    benchmark::DoNotOptimize(r);
    state.counters["requests"] = static_cast<double>(r.arrived);
    state.counters["events"] = static_cast<double>(r.events);
  }
}
BENCHMARK(BM_SimulateHourDay6)->Unit(benchmark::kSecond)->Iterations(1);

void BM_DecodeStep(benchmark::State& state) {
  const ServingSpec s = day6();
  const StepModel m(s, s.decode, false);
  double b = 80;
  for (auto _ : state) {
    benchmark::DoNotOptimize(m.decode(b, 4989, 1));
    b = b < 100 ? b + 0.01 : 80;
  }
}
BENCHMARK(BM_DecodeStep);

void BM_FleetReplayDay6(benchmark::State& state) {
  const ServingSpec s = day6();
  const ServingEstimate e = estimate_serving(s, UnitCount::kWhole);
  for (auto _ : state) {
    FleetComm f = replay_fleet(s, e);
    benchmark::DoNotOptimize(f);
    state.counters["flows"] = static_cast<double>(f.flows);
    state.counters["nodes"] = f.nodes;
  }
}
BENCHMARK(BM_FleetReplayDay6)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
