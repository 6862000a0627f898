// Graph invariants of every fabric generator, on instances small enough to
// check by hand and by an independent max-flow (Boost's Boykov-Kolmogorov)
// for the bisection. Expected values are derived in the comments.
#include <gtest/gtest.h>

#include <map>

#include "topology/cluster.hpp"
#include "topology/generators.hpp"
#include "topology/stats.hpp"

namespace codesim::topology {
namespace {

ClusterSpec cluster(const std::string& yaml) {
  ClusterSpec c;
  config::Diagnostics d;
  EXPECT_TRUE(config::load_text(yaml, "test.yaml", c, d)) << d.str();
  return c;
}

// Degree of every fabric switch, by tier.
std::map<int, std::vector<int>> switch_degrees(const Fabric& f) {
  std::map<int, std::vector<int>> out;
  for (auto v : boost::make_iterator_range(boost::vertices(f.graph)))
    if (f.graph[v].kind == DeviceKind::kSwitch)
      out[f.graph[v].tier].push_back(static_cast<int>(boost::out_degree(v, f.graph)));
  return out;
}

double links_of(Bandwidth bw) { return bw / GBps(50); }  // in 400G ports

// Node-side structure shared by all H800 fabrics.
void expect_h800_nodes(const Fabric& f, int nodes) {
  ASSERT_EQ(f.num_gpus(), nodes * 8);
  ASSERT_EQ(f.nvswitch.size(), static_cast<size_t>(nodes));
  for (int g = 0; g < f.num_gpus(); ++g) {
    // GPU: one NVLink to its node's NVSwitch, one PCIe link to its PCIe switch.
    EXPECT_EQ(boost::out_degree(f.gpu[g], f.graph), 2u);
    ASSERT_EQ(f.gpu_nics[g].size(), 1u);
    // NIC: PCIe switch + one fabric switch.
    EXPECT_EQ(boost::out_degree(f.gpu_nics[g][0], f.graph), 2u);
    EXPECT_EQ(f.graph[f.gpu[g]].node, f.node_of(g));
  }
  for (auto nv : f.nvswitch) EXPECT_EQ(boost::out_degree(nv, f.graph), 8u);
}

TEST(Generators, Ft2RadixEight) {
  // k = 8: leaves have 4 down + 4 up; 32 endpoints = 4 nodes fill 8 leaves;
  // spines = 8 * 4 / 8 = 4, each joined once to every leaf.
  Fabric f = build_fabric(cluster("nodes: 4\nfabric: {kind: ft2, radix: 8}\n"), "ft2-8");
  expect_h800_nodes(f, 4);
  FabricStats s = compute_stats(f, true);
  EXPECT_EQ(s.endpoints, 32);
  EXPECT_EQ(s.switches, 12);
  EXPECT_EQ(s.switch_links, 32);
  auto deg = switch_degrees(f);
  for (int d : deg[0]) EXPECT_EQ(d, 8);
  for (int d : deg[1]) EXPECT_EQ(d, 8);
  EXPECT_EQ(s.diameter, 2);
  EXPECT_EQ(s.components, 1);
  // First and last endpoint sit on different leaves: one path per spine.
  EXPECT_EQ(s.paths.hops, 2);
  EXPECT_EQ(s.paths.count, 4);
  // Non-blocking: bisection = 16 endpoints' links; max-flow agrees.
  EXPECT_DOUBLE_EQ(links_of(f.bisection), 16);
  EXPECT_DOUBLE_EQ(links_of(s.bisection), 16);
}

TEST(Generators, Ft2OversubscribedBisectionMatchesMaxFlow) {
  // k = 8 at 3:1: 6 down, 2 up; 48 endpoints = 6 nodes on 8 leaves; 2 spines.
  // Analytic: 24 endpoints per half, 4 leaves x 2 uplinks = 8 links.
  Fabric f = build_fabric(cluster("nodes: 6\nfabric: {kind: ft2, radix: 8, oversubscription: 3}\n"), "ft2-os");
  FabricStats s = compute_stats(f, true);
  EXPECT_EQ(s.endpoints, 48);
  EXPECT_EQ(s.switches, 10);
  EXPECT_EQ(s.switch_links, 16);
  EXPECT_DOUBLE_EQ(links_of(f.bisection), 8);
  EXPECT_DOUBLE_EQ(links_of(s.bisection), 8);
}

TEST(Generators, Ft3RadixEight) {
  // k = 8: k^3/4 = 128 endpoints (16 nodes), 5k^2/4 = 80 switches,
  // 2 * 128 = 256 switch links; edge/agg/core degree 8; diameter 4.
  Fabric f = build_fabric(cluster("nodes: 16\nfabric: {kind: ft3, radix: 8}\n"), "ft3-8");
  expect_h800_nodes(f, 16);
  FabricStats s = compute_stats(f, true);
  EXPECT_EQ(s.endpoints, 128);
  EXPECT_EQ(s.switches, 80);
  EXPECT_EQ(s.switch_links, 256);
  auto deg = switch_degrees(f);
  EXPECT_EQ(deg[0].size(), 32u);
  EXPECT_EQ(deg[1].size(), 32u);
  EXPECT_EQ(deg[2].size(), 16u);
  for (auto& [tier, ds] : deg)
    for (int d : ds) EXPECT_EQ(d, 8) << "tier " << tier;
  EXPECT_EQ(s.diameter, 4);
  // First and last endpoints are in different pods: (k/2)^2 = 16 paths of 4 hops.
  EXPECT_EQ(s.paths.hops, 4);
  EXPECT_EQ(s.paths.count, 16);
  EXPECT_DOUBLE_EQ(links_of(f.bisection), 64);
  EXPECT_DOUBLE_EQ(links_of(s.bisection), 64);
}

TEST(Generators, MpftPlanesAreDisjointFt2s) {
  // 8 planes of a k = 8 FT2, 32 endpoints each: 32 nodes.
  Fabric f = build_fabric(cluster("nodes: 32\nfabric: {kind: mpft, radix: 8, planes: 8}\n"), "mpft");
  expect_h800_nodes(f, 32);
  FabricStats s = compute_stats(f, true);
  EXPECT_EQ(s.endpoints, 256);
  EXPECT_EQ(s.switches, 8 * 12);
  EXPECT_EQ(s.switch_links, 8 * 32);
  EXPECT_EQ(s.components, 8);
  EXPECT_EQ(s.diameter, 2);
  // Every NIC's leaf is in the plane of its GPU's in-node index.
  for (int g = 0; g < f.num_gpus(); ++g) {
    const VertexId nic = f.gpu_nics[g][0];
    EXPECT_EQ(f.graph[nic].plane, f.local_of(g));
    for (auto e : boost::make_iterator_range(boost::out_edges(nic, f.graph))) {
      const Device& d = f.graph[boost::target(e, f.graph)];
      if (d.kind == DeviceKind::kSwitch) {
        EXPECT_EQ(d.plane, f.local_of(g));
      }
    }
  }
  // The first endpoint (plane 0) reaches the last endpoint of plane 0 (node 31,
  // GPU 0) on another leaf of that plane: one path per plane spine.
  EXPECT_EQ(s.paths.hops, 2);
  EXPECT_EQ(s.paths.count, 4);
  // It cannot reach the last endpoint (plane 7) through the fabric.
  const SwitchGraph sg = switch_graph(f);
  EXPECT_EQ(shortest_paths(sg, sg.endpoint_switch.front(), sg.endpoint_switch.back()).hops, -1);
  EXPECT_DOUBLE_EQ(links_of(f.bisection), 8 * 16);
  EXPECT_DOUBLE_EQ(links_of(s.bisection), 8 * 16);
}

TEST(Generators, MrftLeavesAreRailAligned) {
  // k = 8, 4 nodes: 8 rails of 4 NICs, one leaf per rail, 4 spines shared.
  Fabric f = build_fabric(cluster("nodes: 4\nfabric: {kind: mrft, radix: 8}\n"), "mrft");
  FabricStats s = compute_stats(f, true);
  EXPECT_EQ(s.endpoints, 32);
  EXPECT_EQ(s.switches, 12);
  EXPECT_EQ(s.components, 1);
  EXPECT_EQ(s.diameter, 2);
  for (int g = 0; g < f.num_gpus(); ++g)
    for (auto e : boost::make_iterator_range(boost::out_edges(f.gpu_nics[g][0], f.graph))) {
      const Device& d = f.graph[boost::target(e, f.graph)];
      if (d.kind == DeviceKind::kSwitch) {
        EXPECT_EQ(d.local, f.local_of(g));  // leaf index = rail
      }
    }
  EXPECT_DOUBLE_EQ(links_of(s.bisection), 16);
}

TEST(Generators, RailOnly) {
  Fabric f = build_fabric(cluster("nodes: 8\nfabric: {kind: rail_only}\n"), "rail");
  FabricStats s = compute_stats(f, true);
  EXPECT_EQ(s.endpoints, 64);
  EXPECT_EQ(s.switches, 8);
  EXPECT_EQ(s.switch_links, 0);
  EXPECT_EQ(s.components, 8);
  EXPECT_EQ(s.diameter, 0);
  const auto degrees = switch_degrees(f);
  for (int d : degrees.at(0)) EXPECT_EQ(d, 8);
  // Every rail switch joins both halves of the nodes: 32 links.
  EXPECT_DOUBLE_EQ(links_of(f.bisection), 32);
  EXPECT_DOUBLE_EQ(links_of(s.bisection), 32);
}

TEST(Generators, DragonflyCanonical) {
  // p = 2, a = 4, h = 2, g = a*h + 1 = 9: 36 routers, 72 endpoints (9 nodes),
  // router degree p + (a-1) + h = 7, links 9 * 6 local + 9 * 8 / 2 global = 90.
  Fabric f = build_fabric(cluster("nodes: 9\nfabric: {kind: dragonfly, dragonfly: {p: 2, a: 4, h: 2}}\n"), "df");
  FabricStats s = compute_stats(f, true);
  EXPECT_EQ(s.endpoints, 72);
  EXPECT_EQ(s.switches, 36);
  EXPECT_EQ(s.switch_links, 90);
  const auto degrees = switch_degrees(f);
  for (int d : degrees.at(0)) EXPECT_EQ(d, 7);
  EXPECT_EQ(s.diameter, 3);
  // Every pair of groups is joined by exactly one global link.
  std::map<std::pair<int, int>, int> pair_links;
  for (auto e : boost::make_iterator_range(boost::edges(f.graph))) {
    const Device &a = f.graph[boost::source(e, f.graph)], &b = f.graph[boost::target(e, f.graph)];
    if (a.kind == DeviceKind::kSwitch && b.kind == DeviceKind::kSwitch && a.group != b.group)
      ++pair_links[{std::min(a.group, b.group), std::max(a.group, b.group)}];
  }
  EXPECT_EQ(pair_links.size(), 36u);
  for (auto& [pair, n] : pair_links) EXPECT_EQ(n, 1);
}

TEST(Generators, DragonflyBisectionMatchesMaxFlow) {
  // g = 8 groups (even): base 1 link per pair + 1 spare port per group, used
  // by links g <-> g+4. Groups 0-3 vs 4-7: 16 + 4 = 20 global links.
  Fabric f = build_fabric(
      cluster("nodes: 8\nfabric: {kind: dragonfly, dragonfly: {p: 2, a: 4, h: 2, groups: 8}}\n"), "df8");
  FabricStats s = compute_stats(f, true);
  EXPECT_EQ(s.switches, 32);
  EXPECT_EQ(s.switch_links, 8 * 6 + 8 * 8 / 2);
  EXPECT_DOUBLE_EQ(links_of(f.bisection), 20);
  EXPECT_DOUBLE_EQ(links_of(s.bisection), 20);
}

struct MmsCase {
  int q, routers, degree;
};
class SlimflyGalois : public ::testing::TestWithParam<MmsCase> {};

TEST_P(SlimflyGalois, RegularDiameterTwo) {
  // MMS over GF(q): 2q^2 routers, (3q - delta)/2-regular, diameter 2
  // (Besta & Hoefler SC'14; q = 5 is the Hoffman-Singleton graph).
  const MmsCase c = GetParam();
  const int p = (c.degree + 1) / 2;
  const int nodes = c.routers * p / 8;
  Fabric f = build_fabric(cluster("nodes: " + std::to_string(nodes) +
                                  "\nfabric: {kind: slimfly, slimfly: {q: " + std::to_string(c.q) + "}}\n"),
                          "sf");
  FabricStats s = compute_stats(f, true);
  EXPECT_EQ(s.switches, c.routers);
  EXPECT_EQ(s.switch_links, static_cast<int64_t>(c.routers) * c.degree / 2);
  for (auto v : boost::make_iterator_range(boost::vertices(f.graph)))
    if (f.graph[v].kind == DeviceKind::kSwitch) {
      int fabric_degree = 0;
      for (auto e : boost::make_iterator_range(boost::out_edges(v, f.graph)))
        fabric_degree += f.graph[boost::target(e, f.graph)].kind == DeviceKind::kSwitch;
      EXPECT_EQ(fabric_degree, c.degree);
    }
  EXPECT_EQ(s.diameter, 2);
  EXPECT_GT(s.bisection, Bandwidth{});
}

INSTANTIATE_TEST_SUITE_P(Mms, SlimflyGalois,
                         ::testing::Values(MmsCase{4, 32, 6}, MmsCase{5, 50, 7}, MmsCase{7, 98, 11},
                                           MmsCase{8, 128, 12}, MmsCase{9, 162, 13}, MmsCase{11, 242, 17},
                                           MmsCase{13, 338, 19}));

TEST(Generators, SlimflyIntegerRingTable3Size) {
  // q = 28 over Z/28Z: 1,568 routers of degree 3q/2 = 42 (exact counts of
  // Table 3); diameter is not guaranteed to be 2 without a field.
  SlimflyParams sp;
  sp.q = 28;
  EXPECT_EQ(sp.delta(), 0);
  EXPECT_EQ(sp.network_radix(), 42);
  EXPECT_EQ(sp.endpoints_per_router(), 21);
  Fabric f = build_fabric(
      cluster("nodes: 4116\nfabric: {kind: slimfly, slimfly: {q: 28, arithmetic: integer_ring}}\n"), "sf28");
  FabricStats s = compute_stats(f);
  EXPECT_EQ(s.switches, 1568);
  EXPECT_EQ(s.switch_links, 32928);
  EXPECT_EQ(s.endpoints, 32928);
  const auto degrees = switch_degrees(f);
  for (int d : degrees.at(0)) EXPECT_EQ(d, 42 + 21);
  EXPECT_GE(s.diameter, 2);
  EXPECT_LE(s.diameter, 3);
  RecordProperty("sf28_diameter", s.diameter);
}

TEST(Generators, Nvl72ScaleUpDomain) {
  // 18 GB200 trays of 4 GPUs = one 72-GPU NVLink domain; NICs hang off the
  // GPUs (no PCIe switch) into an FT2 at radix 64: 72 endpoints on 3 leaves.
  Fabric f = build_fabric(cluster("node: gb200_nvl72\nnodes: 18\nfabric: {kind: nvl72}\n"), "nvl72");
  ASSERT_EQ(f.nvswitch.size(), 1u);
  EXPECT_EQ(boost::out_degree(f.nvswitch[0], f.graph), 72u);
  for (int g = 0; g < f.num_gpus(); ++g) {
    EXPECT_EQ(boost::out_degree(f.gpu[g], f.graph), 2u);  // NVSwitch + NIC
    EXPECT_EQ(f.graph[f.gpu[g]].group, 0);
  }
  for (auto e : boost::make_iterator_range(boost::out_edges(f.nvswitch[0], f.graph)))
    EXPECT_DOUBLE_EQ(f.graph[e].bandwidth / GBps(900), 1.0);  // ISCA 2.3.2: 900 GB/s per direction
  FabricStats s = compute_stats(f);
  EXPECT_EQ(s.endpoints, 72);
  EXPECT_EQ(s.switches, 3 + 2);
}

// Sum of link latencies along a vertex path.
Duration path_latency(const Fabric& f, const std::vector<VertexId>& path) {
  Duration sum;
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    auto [e, ok] = boost::edge(path[i], path[i + 1], f.graph);
    EXPECT_TRUE(ok);
    sum += f.graph[e].latency;
  }
  return sum;
}
VertexId neighbor_of_kind(const Fabric& f, VertexId v, DeviceKind kind) {
  for (auto e : boost::make_iterator_range(boost::out_edges(v, f.graph)))
    if (f.graph[boost::target(e, f.graph)].kind == kind) return boost::target(e, f.graph);
  ADD_FAILURE() << "no neighbour of that kind";
  return v;
}

TEST(Generators, LinkLatenciesAddUpToTable5) {
  // ISCA Tab. 5 (T21): IB 2.8 us same leaf, 3.7 us cross leaf; NVLink 3.33 us.
  // The generator splits them into per-link latencies; the sums must return them.
  Fabric f = build_fabric(cluster("nodes: 16\nfabric: {kind: ft2}\n"), "lat");
  auto gpu_to_leaf = [&](int g) {
    VertexId nic = f.gpu_nics[g][0];
    return std::vector<VertexId>{f.gpu[g], neighbor_of_kind(f, f.gpu[g], DeviceKind::kPcieSwitch), nic,
                                 neighbor_of_kind(f, nic, DeviceKind::kSwitch)};
  };
  auto a = gpu_to_leaf(0), b = gpu_to_leaf(8);  // node 0 and node 1 share leaf 0 (4 nodes per leaf)
  ASSERT_EQ(a.back(), b.back());
  std::vector<VertexId> same = a;
  same.insert(same.end(), b.rbegin() + 1, b.rend());
  EXPECT_EQ(path_latency(f, same), Nanoseconds(2800));
  auto c = gpu_to_leaf(127);  // node 15, leaf 3
  ASSERT_NE(a.back(), c.back());
  std::vector<VertexId> cross = a;
  cross.push_back(neighbor_of_kind(f, a.back(), DeviceKind::kSwitch) /* a spine */);
  // Any spine joins every leaf once.
  cross.insert(cross.end(), c.rbegin(), c.rend());
  // spine is a tier-1 switch: check it, then the sum.
  ASSERT_EQ(f.graph[cross[4]].tier, 1);
  EXPECT_EQ(path_latency(f, cross), Nanoseconds(3700));
  std::vector<VertexId> nvlink{f.gpu[0], f.nvswitch[0], f.gpu[1]};
  EXPECT_EQ(path_latency(f, nvlink), Nanoseconds(3330));
}

TEST(Generators, CapacityIsValidated) {
  ClusterSpec c;
  config::Diagnostics d;
  EXPECT_FALSE(config::load_text("nodes: 257\nfabric: {kind: ft2}\n", "t.yaml", c, d));
  EXPECT_NE(d.str().find("2056 endpoints exceed the ft2 capacity of 2048 at radix 64"), std::string::npos)
      << d.str();
}

}  // namespace
}  // namespace codesim::topology
