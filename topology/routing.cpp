#include "topology/routing.hpp"

#include <algorithm>
#include <deque>
#include <limits>
#include <map>
#include <stdexcept>

#include "sim/config.hpp"

namespace codesim::topology {

using sim::LinkId;

namespace {

uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

constexpr uint16_t kUnreached = std::numeric_limits<uint16_t>::max();

}  // namespace

sim::LinkTable export_links(const Fabric& fabric) {
  const auto& g = fabric.graph;
  sim::LinkTable t;
  const size_t n = fabric.num_directed_links();
  t.capacity.resize(n);
  t.latency.resize(n);
  t.name.resize(n);
  for (auto [it, end] = boost::edges(g); it != end; ++it) {
    const auto& p = g[*it];
    const VertexId lo = std::min(boost::source(*it, g), boost::target(*it, g));
    const VertexId hi = std::max(boost::source(*it, g), boost::target(*it, g));
    for (int dir = 0; dir < 2; ++dir) {
      const size_t l = 2 * static_cast<size_t>(p.id) + static_cast<size_t>(dir);
      if (l >= n) throw std::logic_error("export_links: edge ids are not dense");
      t.capacity[l] = p.bandwidth;
      t.latency[l] = p.latency;
      const VertexId a = dir == 0 ? lo : hi, b = dir == 0 ? hi : lo;
      t.name[l] = std::string(config::enum_to_string(g[a].kind)) + std::to_string(a) + ">" +
                  std::string(config::enum_to_string(g[b].kind)) + std::to_string(b);
    }
  }
  return t;
}

std::vector<LinkId> links_of_vertex(const Fabric& fabric, VertexId v) {
  std::vector<LinkId> out;
  for (auto [it, end] = boost::out_edges(v, fabric.graph); it != end; ++it) {
    const int64_t l = directed_link(fabric.graph, *it, v);
    out.push_back(static_cast<LinkId>(l));
    out.push_back(static_cast<LinkId>(l ^ 1));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<LinkId> links_of_plane(const Fabric& fabric, int plane) {
  const auto& g = fabric.graph;
  std::vector<LinkId> out;
  for (auto [it, end] = boost::edges(g); it != end; ++it) {
    const auto& a = g[boost::source(*it, g)];
    const auto& b = g[boost::target(*it, g)];
    const bool a_sw = a.kind == DeviceKind::kSwitch, b_sw = b.kind == DeviceKind::kSwitch;
    if (!a_sw && !b_sw) continue;
    const bool in_plane = (a_sw && a.plane == plane) || (b_sw && b.plane == plane);
    if (!in_plane) continue;
    out.push_back(static_cast<LinkId>(2 * g[*it].id));
    out.push_back(static_cast<LinkId>(2 * g[*it].id + 1));
  }
  return out;
}

std::vector<LinkId> links_between(const Fabric& fabric, VertexId a, VertexId b) {
  std::vector<LinkId> out;
  auto [e, ok] = boost::edge(a, b, fabric.graph);
  if (!ok) return out;
  const int64_t l = directed_link(fabric.graph, e, a);
  out.push_back(static_cast<LinkId>(l));
  out.push_back(static_cast<LinkId>(l ^ 1));
  return out;
}

// ---------------------------------------------------------------------------

struct Router::Impl {
  struct Nic {
    VertexId v = 0;
    int owner = -1;  // GPU
    int sw = -1;     // switch index
    LinkId up = -1, down = -1;
    int comp = -1;   // scale-out component (a plane when planes are disjoint)
    int plane = -1;
    int ordinal = 0;  // index among NICs of its component and plane (d-mod-k's D)
    int local = 0;    // index among its node's NICs (its rail)
  };
  struct Adj {
    int to;
    LinkId link;
  };

  const Fabric& f;
  RoutingOptions opt;
  std::vector<int> sw_of_vertex;    // -1 for non-switches
  std::vector<int> nic_of_vertex;   // -1 for non-NICs
  std::vector<Nic> nics;
  std::vector<std::vector<int>> gpu_ports;  // nic indices of each GPU
  std::vector<int> node_of_gpu;
  std::vector<int> domain_of_gpu;  // NVLink domain (several nodes on NVL72)
  std::vector<std::vector<int>> node_nics;  // nic indices on each node
  std::vector<int> sw_tier;          // Device::tier of each switch
  std::vector<uint32_t> adj_begin;
  std::vector<Adj> adj;
  std::vector<std::vector<uint16_t>> dist_cache;
  std::unordered_map<uint64_t, std::vector<LinkId>> local_paths;  // key: a, b, kind
  std::vector<LinkId> buf, prefix, suffix;
  std::vector<std::pair<int, double>> layer, next_layer;

  Impl(const Fabric& fabric, RoutingOptions o) : f(fabric), opt(o) { build(); }

  void build() {
    const auto& g = f.graph;
    const size_t nv = boost::num_vertices(g);
    sw_of_vertex.assign(nv, -1);
    nic_of_vertex.assign(nv, -1);
    std::vector<VertexId> sw_vertex;
    for (VertexId v = 0; v < nv; ++v)
      if (g[v].kind == DeviceKind::kSwitch) {
        sw_of_vertex[v] = static_cast<int>(sw_vertex.size());
        sw_vertex.push_back(v);
      }
    for (VertexId v : sw_vertex) sw_tier.push_back(g[v].tier);
    // Switch adjacency (CSR), neighbours in vertex order for determinism.
    adj_begin.assign(sw_vertex.size() + 1, 0);
    std::vector<std::vector<Adj>> tmp(sw_vertex.size());
    for (size_t i = 0; i < sw_vertex.size(); ++i) {
      const VertexId u = sw_vertex[i];
      for (auto [it, end] = boost::out_edges(u, g); it != end; ++it) {
        const VertexId w = boost::target(*it, g);
        if (sw_of_vertex[w] < 0) continue;
        tmp[i].push_back(Adj{sw_of_vertex[w], static_cast<LinkId>(directed_link(g, *it, u))});
      }
      std::sort(tmp[i].begin(), tmp[i].end(), [](const Adj& a, const Adj& b) {
        return a.to != b.to ? a.to < b.to : a.link < b.link;
      });
    }
    for (size_t i = 0; i < tmp.size(); ++i) {
      adj_begin[i + 1] = adj_begin[i] + static_cast<uint32_t>(tmp[i].size());
      adj.insert(adj.end(), tmp[i].begin(), tmp[i].end());
    }
    // Components of the switch graph.
    std::vector<int> comp(sw_vertex.size(), -1);
    int ncomp = 0;
    for (size_t s = 0; s < sw_vertex.size(); ++s) {
      if (comp[s] >= 0) continue;
      std::deque<int> q{static_cast<int>(s)};
      comp[s] = ncomp;
      while (!q.empty()) {
        const int u = q.front();
        q.pop_front();
        for (uint32_t k = adj_begin[static_cast<size_t>(u)]; k < adj_begin[static_cast<size_t>(u) + 1]; ++k)
          if (comp[static_cast<size_t>(adj[k].to)] < 0) {
            comp[static_cast<size_t>(adj[k].to)] = ncomp;
            q.push_back(adj[k].to);
          }
      }
      ++ncomp;
    }
    // NICs, in GPU-major order.
    const int ng = f.num_gpus();
    gpu_ports.assign(static_cast<size_t>(ng), {});
    node_of_gpu.assign(static_cast<size_t>(ng), 0);
    domain_of_gpu.assign(static_cast<size_t>(ng), 0);
    node_nics.assign(static_cast<size_t>(std::max(f.nodes, 1)), {});
    // d-mod-k's D: a NIC's index among the NICs of its component and plane
    // (its rail in MRFT, whose rail-aligned leaves share the spines): the
    // host numbering of the tree its leaf belongs to. (A global index would
    // be node x 8 + rail on every MRFT rail, so D mod the leaf's uplinks
    // would reach only a few of them.)
    std::map<std::pair<int, int>, int> per_comp;
    for (int gi = 0; gi < ng; ++gi) {
      node_of_gpu[static_cast<size_t>(gi)] = f.gpus_per_node > 0 ? f.node_of(gi) : 0;
      const Device& dev = g[f.gpu[static_cast<size_t>(gi)]];
      domain_of_gpu[static_cast<size_t>(gi)] =
          dev.group >= 0 ? dev.group : node_of_gpu[static_cast<size_t>(gi)];
      if (static_cast<size_t>(gi) >= f.gpu_nics.size()) continue;
      for (VertexId nv_ : f.gpu_nics[static_cast<size_t>(gi)]) {
        Nic n;
        n.v = nv_;
        n.owner = gi;
        n.plane = g[nv_].plane;
        for (auto [it, end] = boost::out_edges(nv_, g); it != end; ++it) {
          const VertexId w = boost::target(*it, g);
          if (sw_of_vertex[w] < 0) continue;
          n.sw = sw_of_vertex[w];
          n.up = static_cast<LinkId>(directed_link(g, *it, nv_));
          n.down = static_cast<LinkId>(directed_link(g, *it, w));
          break;
        }
        if (n.sw < 0) continue;  // NIC not attached to the scale-out fabric
        n.comp = comp[static_cast<size_t>(n.sw)];
        n.ordinal = per_comp[{n.comp, n.plane}]++;
        const int idx = static_cast<int>(nics.size());
        nic_of_vertex[nv_] = idx;
        nics.push_back(n);
        gpu_ports[static_cast<size_t>(gi)].push_back(idx);
        const size_t node = static_cast<size_t>(node_of_gpu[static_cast<size_t>(gi)]);
        if (node >= node_nics.size()) node_nics.resize(node + 1);
        nics.back().local = static_cast<int>(node_nics[node].size());
        node_nics[node].push_back(idx);
      }
    }
    dist_cache.assign(sw_vertex.size(), {});
    // NVLink star: each GPU's one cable to its NVSwitch.
    gpu_of_vertex.assign(nv, -1);
    nvs_of.assign(static_cast<size_t>(ng), -1);
    nvs_up.assign(static_cast<size_t>(ng), -1);
    nvs_down.assign(static_cast<size_t>(ng), -1);
    for (int gi = 0; gi < ng; ++gi) {
      const VertexId gv = f.gpu[static_cast<size_t>(gi)];
      gpu_of_vertex[gv] = gi;
      int count = 0;
      for (auto [it, end] = boost::out_edges(gv, g); it != end; ++it) {
        if (g[*it].kind != LinkKind::kNvlink) continue;
        const VertexId w = boost::target(*it, g);
        ++count;
        if (g[w].kind != DeviceKind::kNvSwitch) count = 99;
        nvs_of[static_cast<size_t>(gi)] = static_cast<int>(w);
        nvs_up[static_cast<size_t>(gi)] = static_cast<LinkId>(directed_link(g, *it, gv));
        nvs_down[static_cast<size_t>(gi)] = static_cast<LinkId>(directed_link(g, *it, w));
      }
      if (count != 1) nvs_up[static_cast<size_t>(gi)] = -1;  // not a simple star: use BFS
    }
    // PCIe paths between each NIC and its GPU.
    nic_in.resize(nics.size());
    nic_out.resize(nics.size());
    for (size_t k = 0; k < nics.size(); ++k) {
      const VertexId gv = f.gpu[static_cast<size_t>(nics[k].owner)];
      if (const auto* p = slow_local_path(gv, nics[k].v, LinkKind::kPcie)) nic_in[k] = *p;
      if (const auto* p = slow_local_path(nics[k].v, gv, LinkKind::kPcie)) nic_out[k] = *p;
    }
    local_paths.clear();
  }
  std::vector<int> gpu_of_vertex, nvs_of;
  std::vector<LinkId> nvs_up, nvs_down, scratch;
  std::vector<std::vector<LinkId>> nic_in, nic_out;

  // Hop distances from every switch to switch `dst`; with `links`, failed
  // links are skipped (uncached).
  void bfs(int dst, const sim::LinkState* links, std::vector<uint16_t>& d) const {
    // Distances *to* dst: walk edges backwards (u -> w exists iff w -> u does;
    // the reverse directed link of `a.link` is a.link ^ 1).
    d.assign(adj_begin.size() - 1, kUnreached);
    std::deque<int> q{dst};
    d[static_cast<size_t>(dst)] = 0;
    while (!q.empty()) {
      const int u = q.front();
      q.pop_front();
      for (uint32_t k = adj_begin[static_cast<size_t>(u)]; k < adj_begin[static_cast<size_t>(u) + 1]; ++k) {
        const Adj& a = adj[k];
        if (links && !links->up(a.link ^ 1)) continue;  // w -> u must be up
        if (d[static_cast<size_t>(a.to)] != kUnreached) continue;
        d[static_cast<size_t>(a.to)] = static_cast<uint16_t>(d[static_cast<size_t>(u)] + 1);
        q.push_back(a.to);
      }
    }
  }
  const std::vector<uint16_t>& dist_to(int dst) {
    auto& d = dist_cache[static_cast<size_t>(dst)];
    if (d.empty()) bfs(dst, nullptr, d);
    return d;
  }

  // GPU<->GPU over NVLink or GPU<->NIC over PCIe: shortest path through
  // non-switch vertices using only edges of `kind`; cached.
  const std::vector<LinkId>* local_path(VertexId a, VertexId b, LinkKind kind) {
    // Fast paths (no hashing): GPU -> NVSwitch -> GPU, and a GPU's own NIC.
    if (kind == LinkKind::kNvlink && a < gpu_of_vertex.size() && b < gpu_of_vertex.size()) {
      const int ga = gpu_of_vertex[a], gb = gpu_of_vertex[b];
      if (ga >= 0 && gb >= 0 && nvs_up[static_cast<size_t>(ga)] >= 0 &&
          nvs_of[static_cast<size_t>(ga)] == nvs_of[static_cast<size_t>(gb)]) {
        scratch.assign({nvs_up[static_cast<size_t>(ga)], nvs_down[static_cast<size_t>(gb)]});
        return &scratch;
      }
    }
    if (kind == LinkKind::kPcie) {
      const int na = nic_of_vertex[a], nb = nic_of_vertex[b];
      if (nb >= 0 && f.gpu[static_cast<size_t>(nics[static_cast<size_t>(nb)].owner)] == a &&
          !nic_in[static_cast<size_t>(nb)].empty())
        return &nic_in[static_cast<size_t>(nb)];
      if (na >= 0 && f.gpu[static_cast<size_t>(nics[static_cast<size_t>(na)].owner)] == b &&
          !nic_out[static_cast<size_t>(na)].empty())
        return &nic_out[static_cast<size_t>(na)];
    }
    return slow_local_path(a, b, kind);
  }

  const std::vector<LinkId>* slow_local_path(VertexId a, VertexId b, LinkKind kind) {
    const uint64_t key = (static_cast<uint64_t>(a) << 33) ^ (static_cast<uint64_t>(b) << 2) ^
                         static_cast<uint64_t>(kind);
    auto it = local_paths.find(key);
    if (it != local_paths.end()) return it->second.empty() && a != b ? nullptr : &it->second;
    const auto& g = f.graph;
    std::unordered_map<VertexId, std::pair<VertexId, LinkId>> parent;
    std::deque<VertexId> q{a};
    parent[a] = {a, -1};
    bool found = a == b;
    while (!q.empty() && !found) {
      const VertexId u = q.front();
      q.pop_front();
      if (u != a && (g[u].kind == DeviceKind::kNic || g[u].kind == DeviceKind::kGpu)) continue;
      for (auto [e, end] = boost::out_edges(u, g); e != end; ++e) {
        if (g[*e].kind != kind) continue;
        const VertexId w = boost::target(*e, g);
        if (g[w].kind == DeviceKind::kSwitch || parent.count(w)) continue;
        parent[w] = {u, static_cast<LinkId>(directed_link(g, *e, u))};
        if (w == b) {
          found = true;
          break;
        }
        q.push_back(w);
      }
    }
    std::vector<LinkId> path;
    if (found)
      for (VertexId v = b; v != a; v = parent[v].first) path.push_back(parent[v].second);
    std::reverse(path.begin(), path.end());
    auto& slot = local_paths[key];
    slot = std::move(path);
    return found ? &slot : nullptr;
  }

  static bool all_up(const std::vector<LinkId>& p, const sim::LinkState& s) {
    for (LinkId l : p)
      if (!s.up(l)) return false;
    return true;
  }

  uint64_t flow_hash(const sim::FlowRequest& r) const {
    return splitmix(opt.seed ^ splitmix(static_cast<uint64_t>(r.src) * 0x1000003ULL ^
                                        static_cast<uint64_t>(r.dst) << 32 ^
                                        static_cast<uint64_t>(r.id) * 0x9e37ULL));
  }

  // Candidate next hops from switch u towards dist==0, over up links.
  void candidates(int u, const std::vector<uint16_t>& d, const sim::LinkState& s,
                  std::vector<Adj>& out) const {
    out.clear();
    const uint16_t du = d[static_cast<size_t>(u)];
    for (uint32_t k = adj_begin[static_cast<size_t>(u)]; k < adj_begin[static_cast<size_t>(u) + 1]; ++k) {
      const Adj& a = adj[k];
      if (d[static_cast<size_t>(a.to)] + 1 == du && s.up(a.link)) out.push_back(a);
    }
  }

  // candidates() towards switch `to` when d is its fault-free distance table:
  // the hop-reducing neighbours are fixed, so they are listed once per
  // destination (CSR over switches, in adjacency order) and only filtered by
  // link state here. Same output, in the same order, as candidates().
  void candidates_to(int u, int to, const std::vector<uint16_t>& d, const sim::LinkState& s,
                     std::vector<Adj>& out) {
    const size_t ti = static_cast<size_t>(to);
    if (ti >= dist_cache.size() || &d != &dist_cache[ti]) {
      candidates(u, d, s, out);
      return;
    }
    if (cand_begin.size() != dist_cache.size()) {
      cand_begin.resize(dist_cache.size());
      cand_list.resize(dist_cache.size());
    }
    std::vector<uint32_t>& begin = cand_begin[ti];
    std::vector<Adj>& list = cand_list[ti];
    if (begin.empty()) {
      const size_t nsw = adj_begin.size() - 1;
      begin.reserve(nsw + 1);
      for (size_t w = 0; w < nsw; ++w) {
        begin.push_back(static_cast<uint32_t>(list.size()));
        for (uint32_t k = adj_begin[w]; k < adj_begin[w + 1]; ++k)
          if (d[static_cast<size_t>(adj[k].to)] + 1 == d[w]) list.push_back(adj[k]);
      }
      begin.push_back(static_cast<uint32_t>(list.size()));
    }
    out.clear();
    const size_t ui = static_cast<size_t>(u);
    for (uint32_t k = begin[ui]; k < begin[ui + 1]; ++k)
      if (s.up(list[k].link)) out.push_back(list[k]);
  }

  // One switch path from `from` to `to` by the policy (not spray) into buf.
  bool switch_path(int from, int to, const std::vector<uint16_t>& d, const sim::FlowRequest& r,
                   const sim::LinkState& s, int dst_ordinal, std::vector<LinkId>& out) {
    if (d[static_cast<size_t>(from)] == kUnreached) return false;
    std::vector<Adj>& cand = cand_scratch;  // reused: no allocation per flow
    std::vector<Adj>& cand2 = cand2_scratch;
    int u = from;
    uint64_t divisor = 1;
    const uint64_t h = flow_hash(r);
    while (u != to) {
      candidates_to(u, to, d, s, cand);
      if (cand.empty()) return false;
      size_t pick = 0;
      const size_t n = cand.size();
      switch (opt.policy) {
        case RoutingPolicy::kEcmp:
        case RoutingPolicy::kSpray:
          pick = splitmix(h ^ static_cast<uint64_t>(u) * 0x51ed27ULL) % n;
          break;
        case RoutingPolicy::kDmodk:
          // Upward hops spread by successive digits of D (Zahavi's d-mod-k);
          // downward hops in a fat tree have one switch to go to, and
          // parallel cables to it are taken D mod n, so each destination
          // owns its down cable.
          if (sw_tier[static_cast<size_t>(cand[0].to)] > sw_tier[static_cast<size_t>(u)] ||
              sw_tier[static_cast<size_t>(cand[0].to)] == sw_tier[static_cast<size_t>(u)]) {
            pick = (static_cast<uint64_t>(dst_ordinal) / divisor) % n;
            divisor *= n;
          } else {
            pick = static_cast<uint64_t>(dst_ordinal) % n;
          }
          break;
        case RoutingPolicy::kAdaptive: {
          int64_t best = std::numeric_limits<int64_t>::max();
          const size_t rot = splitmix(h ^ static_cast<uint64_t>(u)) % n;
          for (size_t j = 0; j < n; ++j) {
            const Adj& a = cand[(j + rot) % n];
            int64_t score = s.assigned_flows(a.link);
            if (a.to != to) {  // look one hop ahead
              candidates(a.to, d, s, cand2);
              int64_t ahead = std::numeric_limits<int64_t>::max();
              for (const Adj& b : cand2) ahead = std::min(ahead, s.assigned_flows(b.link));
              if (!cand2.empty()) score = std::max(score, ahead);
            }
            if (score < best) {
              best = score;
              pick = (j + rot) % n;
            }
          }
          break;
        }
      }
      out.push_back(cand[pick].link);
      u = cand[pick].to;
    }
    return true;
  }

  // Even split over all equal-cost paths: each link gets its fraction.
  // `lat` gets the latency of one of the (equal-hop) paths.
  bool spray_dag(int from, int to, const std::vector<uint16_t>& d, const sim::LinkState& s,
                 double weight, sim::RouteBuilder& rb, Duration& lat) {
    if (d[static_cast<size_t>(from)] == kUnreached) return false;
    std::vector<Adj> cand;
    layer.assign(1, {from, 1.0});
    while (!layer.empty() && layer.front().first != to) {
      next_layer.clear();
      bool first = true;
      for (auto [u, frac] : layer) {
        candidates(u, d, s, cand);
        if (cand.empty()) return false;
        if (first) lat += link_latency[static_cast<size_t>(cand.front().link)];
        first = false;
        const double share = frac / static_cast<double>(cand.size());
        for (const Adj& a : cand) {
          const LinkId l = a.link;
          rb.add_path(std::span<const LinkId>(&l, 1), weight * share);
          auto it = std::find_if(next_layer.begin(), next_layer.end(),
                                 [&](const auto& p) { return p.first == a.to; });
          if (it == next_layer.end()) next_layer.emplace_back(a.to, share);
          else it->second += share;
        }
      }
      layer.swap(next_layer);
    }
    return true;
  }

  // The receiving NIC for a flow leaving through NIC `a` towards GPU `dst`:
  // the receiver's own NIC when it is in a's component (and, with
  // rail_forwarding, a's rail); else the NIC in a's plane on the receiver's
  // node (then NVLink forwarding); else any NIC of that component there.
  int pick_dst(int a, int dst, const sim::LinkState& s) {
    const Nic& na = nics[static_cast<size_t>(a)];
    const VertexId gd = f.gpu[static_cast<size_t>(dst)];
    const auto& candidates_b = node_nics[static_cast<size_t>(node_of_gpu[static_cast<size_t>(dst)])];
    // The receiver's own NIC wins wherever it sits in the list: look for it
    // first, without the forwarding-path checks the others need (once per
    // flow, so this is most of the routing time of a 4M-flow all-to-all).
    // With several ports per GPU in one component (two NICs on a single-
    // plane fat tree), the port with the sender port's index: each of the
    // sender's ports lands on its own receiving port, so a GPU receives on
    // all its ports, not all on the first.
    const size_t ports = gpu_ports[static_cast<size_t>(dst)].size();
    int own = -1;
    for (int b : candidates_b) {
      const Nic& nb = nics[static_cast<size_t>(b)];
      if (nb.owner == dst && nb.comp == na.comp && s.up(nb.down) &&
          (!opt.rail_forwarding || nb.plane == na.plane)) {
        if (ports <= 1 || nb.local % ports == na.local % ports) return b;
        if (own < 0) own = b;
      }
    }
    if (own >= 0) return own;
    // Among the NICs in a's plane, the one on a's rail (the same index on
    // its node, as NCCL's PXN lands a message): every sender NIC then has
    // its own landing NIC on each node, so a plane with several NICs per
    // node (MPFT with fewer planes than NICs) spreads the forwarded flows
    // over all of them instead of piling them on the plane's first NIC.
    int rail = -1, second = -1, third = -1;
    for (int b : candidates_b) {
      const Nic& nb = nics[static_cast<size_t>(b)];
      if (nb.comp != na.comp || !s.up(nb.down)) continue;
      const bool same_plane = nb.plane == na.plane;
      const std::vector<LinkId>* fwd = local_path(f.gpu[static_cast<size_t>(nb.owner)], gd, LinkKind::kNvlink);
      if (!fwd || !all_up(*fwd, s)) continue;
      if (same_plane && nb.local == na.local && rail < 0) rail = b;
      if (same_plane && second < 0) second = b;
      if (third < 0) third = b;
    }
    return rail >= 0 ? rail : second >= 0 ? second : third;
  }

  // Appends the in-node parts around the NIC pair; false if a piece is missing.
  bool ends(int src, int dst, int a, int b, const sim::LinkState& s, Duration& lat) {
    const Nic& na = nics[static_cast<size_t>(a)];
    const Nic& nb = nics[static_cast<size_t>(b)];
    prefix.clear();
    suffix.clear();
    const VertexId gs = f.gpu[static_cast<size_t>(src)], gd = f.gpu[static_cast<size_t>(dst)];
    const VertexId ga = f.gpu[static_cast<size_t>(na.owner)], gb = f.gpu[static_cast<size_t>(nb.owner)];
    auto append = [&](std::vector<LinkId>& v, const std::vector<LinkId>* p) {
      if (!p || !all_up(*p, s)) return false;
      v.insert(v.end(), p->begin(), p->end());
      return true;
    };
    if (ga != gs && !append(prefix, local_path(gs, ga, LinkKind::kNvlink))) return false;
    if (!append(prefix, local_path(ga, na.v, LinkKind::kPcie))) return false;
    prefix.push_back(na.up);
    suffix.push_back(nb.down);
    if (!append(suffix, local_path(nb.v, gb, LinkKind::kPcie))) return false;
    if (gb != gd && !append(suffix, local_path(gb, gd, LinkKind::kNvlink))) return false;
    for (LinkId l : prefix) lat += link_latency[static_cast<size_t>(l)];
    for (LinkId l : suffix) lat += link_latency[static_cast<size_t>(l)];
    return true;
  }

  // Routes one NIC pair with weight w; false when no switch path is up.
  bool emit_pair(const sim::FlowRequest& r, int a, int b, double w, const sim::LinkState& s,
                 sim::RouteBuilder& rb, Duration& max_lat) {
    Duration lat = Duration::zero();
    if (!ends(r.src, r.dst, a, b, s, lat)) return false;
    const Nic& na = nics[static_cast<size_t>(a)];
    const Nic& nb = nics[static_cast<size_t>(b)];
    std::vector<uint16_t> fresh;
    const std::vector<uint16_t>* d = &dist_to(nb.sw);
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (opt.policy == RoutingPolicy::kSpray) {
        const size_t mark = rb.num_paths();
        Duration l2 = lat;
        if (spray_dag(na.sw, nb.sw, *d, s, w, rb, l2)) {
          rb.add_path(prefix, w);
          rb.add_path(suffix, w);
          max_lat = std::max(max_lat, l2);
          return true;
        }
        if (rb.num_paths() != mark) return false;  // partial DAG written: give up on this pair
      } else {
        buf = prefix;
        if (switch_path(na.sw, nb.sw, *d, r, s, nb.ordinal, buf)) {
          buf.insert(buf.end(), suffix.begin(), suffix.end());
          for (size_t i = prefix.size(); i + suffix.size() < buf.size(); ++i)
            lat += link_latency[static_cast<size_t>(buf[i])];
          rb.add_path(buf, w);
          max_lat = std::max(max_lat, lat);
          return true;
        }
      }
      bfs(nb.sw, &s, fresh);  // equal-cost paths all down: recompute around failures
      d = &fresh;
    }
    return false;
  }

  void select(const sim::FlowRequest& r, const sim::LinkState& s, sim::RouteBuilder& rb) {
    const int src = r.src, dst = r.dst;
    if (src == dst) {
      rb.add_path({});
      return;
    }
    const int node_s = node_of_gpu[static_cast<size_t>(src)];
    const int node_d = node_of_gpu[static_cast<size_t>(dst)];
    if (node_s == node_d || f.gpu_nics.empty() ||
        domain_of_gpu[static_cast<size_t>(src)] == domain_of_gpu[static_cast<size_t>(dst)]) {
      const auto* p = local_path(f.gpu[static_cast<size_t>(src)], f.gpu[static_cast<size_t>(dst)], LinkKind::kNvlink);
      if (p && all_up(*p, s)) {
        rb.add_path(*p);
        return;
      }
    }
    // NIC pairs: own ports first.
    pairs.clear();
    if (opt.pxn_sender_side) {
      for (int b : gpu_ports[static_cast<size_t>(dst)]) {
        const Nic& nb = nics[static_cast<size_t>(b)];
        if (!s.up(nb.down)) continue;
        int best = -1;
        for (int a : node_nics[static_cast<size_t>(node_s)]) {
          const Nic& na = nics[static_cast<size_t>(a)];
          if (na.comp != nb.comp || !s.up(na.up)) continue;
          if (opt.rail_forwarding && na.plane != nb.plane) continue;
          if (best < 0 || na.owner == src) best = a;
        }
        if (best >= 0) pairs.emplace_back(best, b);
      }
    }
    if (pairs.empty())
      for (int a : gpu_ports[static_cast<size_t>(src)]) {
        if (!s.up(nics[static_cast<size_t>(a)].up)) continue;
        const int b = pick_dst(a, dst, s);
        if (b >= 0) pairs.emplace_back(a, b);
      }
    if (pairs.empty())  // every own port is cut off: forward to a node peer's NIC
      for (int a : node_nics[static_cast<size_t>(node_s)]) {
        if (nics[static_cast<size_t>(a)].owner == src || !s.up(nics[static_cast<size_t>(a)].up)) continue;
        const int b = pick_dst(a, dst, s);
        if (b >= 0) pairs.emplace_back(a, b);
      }
    if (pairs.empty()) return;  // undeliverable

    Duration lat = Duration::zero();
    if (opt.policy == RoutingPolicy::kSpray) {
      const double w = 1.0 / static_cast<double>(pairs.size());
      bool any = false;
      for (auto [a, b] : pairs) any = emit_pair(r, a, b, w, s, rb, lat) || any;
      if (!any) {
        rb.clear();
        return;
      }
      // Pairs that failed leave their weight unrouted; re-spread evenly.
      if (rb.num_paths() > 0) rb.set_latency(lat);
      return;
    }
    const size_t n = pairs.size();
    size_t first = 0;
    if (opt.policy == RoutingPolicy::kEcmp) {
      first = flow_hash(r) % n;
    } else if (opt.policy == RoutingPolicy::kDmodk) {
      first = static_cast<size_t>(dst) % n;
    } else {
      int64_t best = std::numeric_limits<int64_t>::max();
      for (size_t i = 0; i < n; ++i) {
        const int64_t score = std::max(s.assigned_flows(nics[static_cast<size_t>(pairs[i].first)].up),
                                       s.assigned_flows(nics[static_cast<size_t>(pairs[i].second)].down));
        if (score < best) {
          best = score;
          first = i;
        }
      }
    }
    for (size_t k = 0; k < n; ++k) {
      auto [a, b] = pairs[(first + k) % n];
      if (emit_pair(r, a, b, 1.0, s, rb, lat)) return;
    }
  }

  int64_t count_paths(int src, int dst) {
    if (node_of_gpu[static_cast<size_t>(src)] == node_of_gpu[static_cast<size_t>(dst)]) return 1;
    if (gpu_ports[static_cast<size_t>(src)].empty() || gpu_ports[static_cast<size_t>(dst)].empty()) return 0;
    const Nic& na = nics[static_cast<size_t>(gpu_ports[static_cast<size_t>(src)].front())];
    const Nic& nb = nics[static_cast<size_t>(gpu_ports[static_cast<size_t>(dst)].front())];
    const auto& d = dist_to(nb.sw);
    if (d[static_cast<size_t>(na.sw)] == kUnreached) return 0;
    // Number of shortest paths, by dynamic programming over distance layers.
    std::vector<int64_t> ways(d.size(), 0);
    ways[static_cast<size_t>(nb.sw)] = 1;
    std::vector<int> order(d.size());
    for (size_t i = 0; i < d.size(); ++i) order[i] = static_cast<int>(i);
    std::sort(order.begin(), order.end(), [&](int x, int y) { return d[static_cast<size_t>(x)] < d[static_cast<size_t>(y)]; });
    for (int u : order) {
      if (d[static_cast<size_t>(u)] == 0 || d[static_cast<size_t>(u)] == kUnreached) continue;
      for (uint32_t k = adj_begin[static_cast<size_t>(u)]; k < adj_begin[static_cast<size_t>(u) + 1]; ++k)
        if (d[static_cast<size_t>(adj[k].to)] + 1 == d[static_cast<size_t>(u)])
          ways[static_cast<size_t>(u)] += ways[static_cast<size_t>(adj[k].to)];
    }
    return ways[static_cast<size_t>(na.sw)];
  }

  std::vector<std::pair<int, int>> pairs;
  std::vector<Adj> cand_scratch, cand2_scratch;  // switch_path scratch
  std::vector<std::vector<uint32_t>> cand_begin;  // candidates_to cache, per destination switch
  std::vector<std::vector<Adj>> cand_list;
  std::vector<Duration> link_latency;
};

Router::Router(const Fabric& fabric, RoutingOptions options)
    : impl_(std::make_unique<Impl>(fabric, options)), options_(options) {
  impl_->link_latency = export_links(fabric).latency;
}
Router::~Router() = default;

void Router::select(const sim::FlowRequest& req, const sim::LinkState& links, sim::RouteBuilder& out) {
  impl_->select(req, links, out);
}

int64_t Router::count_equal_cost_paths(int src_gpu, int dst_gpu) {
  return impl_->count_paths(src_gpu, dst_gpu);
}

}  // namespace codesim::topology
