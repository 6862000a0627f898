// Network engine speed: the two cases of issue 3, on a 2,048-GPU FT2
// (256 H800 nodes, 64 leaves, 32 spines of radix 64).
//
//   A2A_2048_FT2        full all-to-all, 2,048 x 2,047 = 4.19M flows of
//                       16 MiB, d-mod-k routing. Target < 5 s, < 1 GiB.
//   A2A_2048x64_ECMP    each GPU sends 16 MiB to 64 peers (131,072 flows),
//                       static ECMP hashing, so flows end at different
//                       times. Target < 3 s.
//
// SimGrid 3.32 took 277 s / 10.4 GiB and > 900 s for these
// (/work/shared/notes/simgrid-3.32.md). Peak memory: run one case under
// /usr/bin/time -v, e.g.
//   /usr/bin/time -v build/bench/net_bench --benchmark_filter=A2A_2048_FT2
// Counters: sim_ms (simulated completion time), events, solves,
// solved_vars (sum of re-solved flow groups), flows.
#include <benchmark/benchmark.h>

#include "sim/collectives.hpp"
#include "sim/task_graph.hpp"
#include "topology/catalog.hpp"
#include "topology/cluster.hpp"
#include "topology/generators.hpp"
#include "topology/routing.hpp"

using namespace codesim;

namespace {

topology::Fabric ft2_2048() {
  topology::ClusterSpec c;
  c.node = "h800";
  c.node_spec = *topology::find_node("h800");
  c.nodes = 256;
  c.fabric.kind = topology::FabricKind::kFt2;
  c.fabric.switch_spec = *topology::find_switch("quantum2");
  return topology::build_fabric(c, "ft2-2048");
}

void run_case(benchmark::State& state, sim::CommPattern (*make)(), topology::RoutingPolicy pol,
              Duration quantum) {
  const topology::Fabric f = ft2_2048();
  const sim::LinkTable links = topology::export_links(f);
  for (auto _ : state) {
    topology::Router router(f, {pol});
    sim::TaskGraph g;
    g.add_comm("a2a", 0, 1, make());
    sim::ReplayOptions opt;
    opt.network.merge_quantum = quantum;
    const sim::ReplayResult r = sim::replay(g, links, router, opt);
    state.counters["sim_ms"] = r.makespan.seconds() * 1e3;
    state.counters["events"] = static_cast<double>(r.network.events);
    state.counters["solves"] = static_cast<double>(r.network.solves);
    state.counters["solved_vars"] = static_cast<double>(r.network.solved_vars);
    state.counters["flows"] = static_cast<double>(r.network.flows_started);
  }
}

sim::CommPattern full_a2a() { return sim::all_to_all(sim::iota_group(2048), MiB(16)); }
sim::CommPattern peers64() { return sim::all_to_all_peers(sim::iota_group(2048), 64, MiB(16)); }

void A2A_2048_FT2(benchmark::State& s) { run_case(s, full_a2a, topology::RoutingPolicy::kDmodk, Duration::zero()); }
void A2A_2048x64_ECMP(benchmark::State& s) {
  run_case(s, peers64, topology::RoutingPolicy::kEcmp, Duration::zero());
}
void A2A_2048x64_ECMP_merge1us(benchmark::State& s) {
  run_case(s, peers64, topology::RoutingPolicy::kEcmp, Microseconds(1));
}

}  // namespace

BENCHMARK(A2A_2048_FT2)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();
BENCHMARK(A2A_2048x64_ECMP)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();
BENCHMARK(A2A_2048x64_ECMP_merge1us)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

BENCHMARK_MAIN();
