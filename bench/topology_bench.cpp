// Fabric generation speed. The largest fabric of ISCA'25 Table 3, the
// canonical dragonfly with 261,632 endpoints, must build in under 5 s and
// 2 GiB (issue 2). Peak memory: /usr/bin/time -v build/bench/topology_bench
// --benchmark_filter=Dragonfly (maximum resident set size).
#include <benchmark/benchmark.h>

#include "scenarios/scenario.hpp"
#include "topology/generators.hpp"
#include "topology/stats.hpp"

namespace {

using namespace codesim;

topology::ClusterSpec load(const char* file) {
  scenarios::Scenario s;
  config::Diagnostics d;
  if (!scenarios::load_scenario(std::string(CODESIM_SOURCE_ROOT) + "/scenarios/paper/" + file, {}, s, d) ||
      !s.cluster)
    throw std::runtime_error(d.str());
  return *s.cluster;
}

void build(benchmark::State& state, const char* file) {
  const topology::ClusterSpec c = load(file);
  for (auto _ : state) {
    topology::Fabric f = topology::build_fabric(c, "bench");
    benchmark::DoNotOptimize(f.graph);
    state.counters["vertices"] = static_cast<double>(boost::num_vertices(f.graph));
    state.counters["edges"] = static_cast<double>(boost::num_edges(f.graph));
  }
}

void stats(benchmark::State& state, const char* file) {
  const topology::ClusterSpec c = load(file);
  const topology::Fabric f = topology::build_fabric(c, "bench");
  for (auto _ : state) {
    topology::FabricStats s = topology::compute_stats(f);
    benchmark::DoNotOptimize(s);
  }
}

BENCHMARK_CAPTURE(build, Dragonfly261k, "table3-dragonfly.yaml")->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK_CAPTURE(build, FatTree3_65k, "table3-ft3.yaml")->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK_CAPTURE(build, SlimFly33k, "table3-slimfly.yaml")->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK_CAPTURE(stats, Dragonfly261k, "table3-dragonfly.yaml")->Unit(benchmark::kMillisecond)->Iterations(2);

}  // namespace

BENCHMARK_MAIN();
