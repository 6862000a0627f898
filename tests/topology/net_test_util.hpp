// Helpers for the network tests: small clusters from the catalog and one
// collective replayed on them.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "sim/task_graph.hpp"
#include "topology/catalog.hpp"
#include "topology/cluster.hpp"
#include "topology/generators.hpp"
#include "topology/routing.hpp"

namespace codesim::nettest {

// H800 nodes (8 GPUs, 8 x 400G CX7, NVLink 200 GB/s per direction) on
// Quantum-2 (radix 64, 400G, IB 2.8/3.7 us) switches.
inline topology::Fabric make_fabric(topology::FabricKind kind, int nodes, int planes = 1) {
  topology::ClusterSpec c;
  c.node = "h800";
  c.node_spec = *topology::find_node("h800");
  c.nodes = nodes;
  c.fabric.kind = kind;
  c.fabric.switch_model = "quantum2";
  c.fabric.switch_spec = *topology::find_switch("quantum2");
  c.fabric.planes = planes;
  const std::string why = topology::check_fabric(c);
  EXPECT_EQ(why, "");
  return topology::build_fabric(c, "test");
}

struct PatternRun {
  sim::ReplayResult result;
  double seconds = 0;
  double algbw_GBps = 0;  // algorithm bandwidth, GB/s
};

inline PatternRun run_pattern(const topology::Fabric& f, sim::CommPattern p,
                              topology::RoutingOptions ro, sim::NetworkParams np = {},
                              const std::vector<sim::LinkFault>& faults = {}) {
  const sim::LinkTable links = topology::export_links(f);
  topology::Router router(f, ro);
  sim::TaskGraph g;
  const Bytes alg = p.algorithm_bytes;
  g.add_comm("pattern", 0, 1, std::move(p));
  PatternRun r;
  r.result = sim::replay(g, links, router, sim::ReplayOptions{np}, faults);
  r.seconds = r.result.makespan.seconds();
  r.algbw_GBps = r.seconds > 0 ? alg.as_double() / r.seconds / 1e9 : 0;
  return r;
}

// End-to-end latency of a zero-byte message src -> dst (sum of the link
// latencies of its route), so closed forms test the bandwidth terms exactly
// whatever the catalog's latency split is.
inline double latency_s(const topology::Fabric& f, int src, int dst,
                        topology::RoutingPolicy pol = topology::RoutingPolicy::kDmodk) {
  return run_pattern(f, sim::send_recv(src, dst, Bytes()), {pol}).seconds;
}

}  // namespace codesim::nettest
