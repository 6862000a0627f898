#include "topology/stats.hpp"

#include <algorithm>
#include <array>

#include "topology/detail/max_flow.hpp"

namespace codesim::topology {

SwitchGraph switch_graph(const Fabric& fabric) {
  const Graph& g = fabric.graph;
  SwitchGraph sg;
  sg.index.assign(boost::num_vertices(g), -1);
  for (auto v : boost::make_iterator_range(boost::vertices(g)))
    if (g[v].kind == DeviceKind::kSwitch) {
      sg.index[v] = static_cast<int>(sg.vertex.size());
      sg.vertex.push_back(v);
    }
  const int n = sg.size();
  sg.endpoints.assign(n, 0);
  sg.offset.assign(n + 1, 0);
  // NIC vertices are created in endpoint order, so vertex order is endpoint order.
  std::vector<std::pair<VertexId, int>> nic_switch;
  for (auto e : boost::make_iterator_range(boost::edges(g))) {
    VertexId a = boost::source(e, g), b = boost::target(e, g);
    const int ia = sg.index[a], ib = sg.index[b];
    if (ia >= 0 && ib >= 0) {
      ++sg.offset[ia + 1];
      ++sg.offset[ib + 1];
    } else if (ia >= 0 || ib >= 0) {
      const VertexId other = ia >= 0 ? b : a;
      if (g[other].kind == DeviceKind::kNic) {
        const int s = ia >= 0 ? ia : ib;
        ++sg.endpoints[s];
        nic_switch.emplace_back(other, s);
      }
    }
  }
  std::sort(nic_switch.begin(), nic_switch.end());
  sg.endpoint_switch.reserve(nic_switch.size());
  for (const auto& [nic, s] : nic_switch) sg.endpoint_switch.push_back(s);
  for (int i = 0; i < n; ++i) sg.offset[i + 1] += sg.offset[i];
  sg.target.resize(sg.offset[n]);
  sg.capacity.resize(sg.offset[n]);
  std::vector<int64_t> fill(sg.offset.begin(), sg.offset.end() - 1);
  for (auto e : boost::make_iterator_range(boost::edges(g))) {
    const int ia = sg.index[boost::source(e, g)], ib = sg.index[boost::target(e, g)];
    if (ia < 0 || ib < 0) continue;
    const double bw = g[e].bandwidth.bytes_per_second();
    sg.target[fill[ia]] = ib;
    sg.capacity[fill[ia]++] = bw;
    sg.target[fill[ib]] = ia;
    sg.capacity[fill[ib]++] = bw;
  }
  return sg;
}

int switch_diameter(const SwitchGraph& sg) {
  // Bit-parallel BFS: 256 sources per sweep, one bit each.
  constexpr int kWords = 4;
  using Mask = std::array<uint64_t, kWords>;
  const int n = sg.size();
  std::vector<int> sources;
  for (int i = 0; i < n; ++i)
    if (sg.endpoints[i] > 0) sources.push_back(i);
  if (sources.size() <= 1) return sources.empty() ? -1 : 0;
  std::vector<Mask> visited(n), frontier(n), next(n);
  int diameter = 0;
  for (size_t first = 0; first < sources.size(); first += 64 * kWords) {
    const size_t batch = std::min(sources.size() - first, static_cast<size_t>(64 * kWords));
    std::fill(visited.begin(), visited.end(), Mask{});
    std::fill(frontier.begin(), frontier.end(), Mask{});
    for (size_t b = 0; b < batch; ++b) {
      const uint64_t bit = uint64_t{1} << (b % 64);
      visited[sources[first + b]][b / 64] |= bit;
      frontier[sources[first + b]][b / 64] |= bit;
    }
    int level = 0;
    for (;;) {
      bool any = false;
      ++level;
      for (int v = 0; v < n; ++v) {
        Mask acc{};
        for (int64_t a = sg.offset[v]; a < sg.offset[v + 1]; ++a) {
          const Mask& f = frontier[sg.target[a]];
          for (int w = 0; w < kWords; ++w) acc[w] |= f[w];
        }
        bool nonzero = false;
        for (int w = 0; w < kWords; ++w) {
          acc[w] &= ~visited[v][w];
          nonzero |= acc[w] != 0;
        }
        next[v] = acc;
        if (nonzero) {
          any = true;
          if (sg.endpoints[v] > 0) diameter = std::max(diameter, level);
        }
      }
      if (!any) break;
      for (int v = 0; v < n; ++v)
        for (int w = 0; w < kWords; ++w) visited[v][w] |= next[v][w];
      std::swap(frontier, next);
    }
  }
  return diameter;
}

int endpoint_components(const SwitchGraph& sg) {
  const int n = sg.size();
  std::vector<int> comp(n, -1);
  int count = 0;
  std::vector<int> stack;
  for (int s = 0; s < n; ++s) {
    if (comp[s] >= 0 || sg.endpoints[s] == 0) continue;
    ++count;
    comp[s] = s;
    stack.assign(1, s);
    while (!stack.empty()) {
      const int v = stack.back();
      stack.pop_back();
      for (int64_t a = sg.offset[v]; a < sg.offset[v + 1]; ++a)
        if (comp[sg.target[a]] < 0) {
          comp[sg.target[a]] = s;
          stack.push_back(sg.target[a]);
        }
    }
  }
  return count;
}

PathCount shortest_paths(const SwitchGraph& sg, int from, int to) {
  const int n = sg.size();
  std::vector<int> dist(n, -1);
  std::vector<int64_t> count(n, 0);
  std::vector<int> queue{from};
  dist[from] = 0;
  count[from] = 1;
  for (size_t head = 0; head < queue.size(); ++head) {
    const int v = queue[head];
    if (dist[to] >= 0 && dist[v] >= dist[to]) break;
    for (int64_t a = sg.offset[v]; a < sg.offset[v + 1]; ++a) {
      const int u = sg.target[a];
      if (dist[u] < 0) {
        dist[u] = dist[v] + 1;
        queue.push_back(u);
      }
      if (dist[u] == dist[v] + 1) count[u] += count[v];
    }
  }
  return {dist[to], dist[to] < 0 ? 0 : count[to]};
}

Bandwidth max_flow_bisection(const Fabric& fabric, const SwitchGraph& sg) {
  const int n = sg.size();
  std::vector<detail::FlowArc> arcs;
  for (int v = 0; v < n; ++v)
    for (int64_t a = sg.offset[v]; a < sg.offset[v + 1]; ++a)
      if (v < sg.target[a]) arcs.push_back({v, sg.target[a], sg.capacity[a], sg.capacity[a]});
  // Endpoint port bandwidth: the NIC-to-switch link of the first endpoint.
  double port = 0;
  if (!fabric.gpu_nics.empty() && !fabric.gpu_nics[0].empty()) {
    const VertexId nic = fabric.gpu_nics[0][0];
    for (auto e : boost::make_iterator_range(boost::out_edges(nic, fabric.graph)))
      if (fabric.graph[boost::target(e, fabric.graph)].kind == DeviceKind::kSwitch)
        port = fabric.graph[e].bandwidth.bytes_per_second();
  }
  const int src = n, dst = n + 1;
  const size_t total = sg.endpoint_switch.size(), half = total / 2;
  std::vector<double> in(n, 0), out(n, 0);
  for (size_t e = 0; e < total; ++e) (e < half ? in : out)[sg.endpoint_switch[e]] += port;
  for (int v = 0; v < n; ++v) {
    if (in[v] > 0) arcs.push_back({src, v, in[v], 0});
    if (out[v] > 0) arcs.push_back({v, dst, out[v], 0});
  }
  return Bandwidth::from_bytes_per_second(detail::max_flow(n + 2, arcs, src, dst));
}

FabricStats compute_stats(const Fabric& fabric, bool exact_bisection) {
  const SwitchGraph sg = switch_graph(fabric);
  FabricStats s;
  s.switches = sg.size();
  s.switch_links = static_cast<int64_t>(sg.target.size() / 2);
  s.endpoints = static_cast<int64_t>(sg.endpoint_switch.size());
  s.gpus = fabric.num_gpus();
  s.vertices = static_cast<int64_t>(boost::num_vertices(fabric.graph));
  s.edges = static_cast<int64_t>(boost::num_edges(fabric.graph));
  s.diameter = switch_diameter(sg);
  s.components = endpoint_components(sg);
  // Paths from the first endpoint to the last one it can reach through the
  // fabric (in MPFT / rail-only, the last one of its plane or rail).
  const int64_t ne = s.endpoints;
  for (int64_t e = ne - 1; e > 0 && e >= ne - 256; --e) {
    s.paths = shortest_paths(sg, sg.endpoint_switch.front(), sg.endpoint_switch[e]);
    if (s.paths.hops >= 0) break;
  }
  const bool known = fabric.bisection > Bandwidth{};
  s.bisection = (exact_bisection || !known) ? max_flow_bisection(fabric, sg) : fabric.bisection;
  return s;
}

}  // namespace codesim::topology
