#include "workloads/fabric_comm.hpp"

#include <algorithm>
#include <cstdint>
#include <chrono>
#include <numeric>
#include <random>
#include <stdexcept>

#include "models/counts.hpp"
#include "sim/collectives.hpp"
#include "sim/task_graph.hpp"
#include "workloads/training.hpp"

namespace codesim::workloads {
namespace {

// The fabric's links at the rates transfers achieve (see the header).
sim::LinkTable achievable_links(const FabricComm& fc) {
  const topology::Fabric& f = *fc.fabric;
  sim::LinkTable t = topology::export_links(f);
  for (auto [it, end] = boost::edges(f.graph); it != end; ++it) {
    const auto& p = f.graph[*it];
    Bandwidth target;
    if (p.kind == topology::LinkKind::kNvlink)
      target = fc.nvlink_achievable;
    else if (p.kind != topology::LinkKind::kPcie)
      target = fc.nic_effective_per_port;
    if (target.bytes_per_second() <= 0) continue;
    for (int dir = 0; dir < 2; ++dir) {
      Bandwidth& c = t.capacity[2 * static_cast<size_t>(p.id) + static_cast<size_t>(dir)];
      c = std::min(c, target);
    }
  }
  return t;
}

CommReplay run(const FabricComm& fc, const sim::TaskGraph& g, sim::ReplayResult* out = nullptr) {
  const sim::LinkTable links = achievable_links(fc);
  topology::Router router(*fc.fabric, fc.routing);
  sim::ReplayOptions opt;
  opt.network = fc.network;
  opt.network.record_utilisation = false;
  const auto t0 = std::chrono::steady_clock::now();
  sim::ReplayResult r = sim::replay(g, links, router, opt);
  CommReplay c;
  c.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  c.time = r.makespan - Time::zero();
  c.flows = r.network.flows_started;
  c.undelivered = r.undelivered_flows;
  if (out) *out = std::move(r);
  return c;
}

void check_layout(const CommLayout& l, const topology::Fabric& f) {
  if (l.gpus != f.num_gpus() || l.pp < 1 || l.gpus % l.pp != 0 || l.gpus_per_node < 1)
    throw std::invalid_argument("fabric comm: layout does not match the fabric (" + std::to_string(l.gpus) +
                                " GPUs in the plan, " + std::to_string(f.num_gpus()) + " in the fabric)");
}

}  // namespace

namespace {
// The range contract of the add_*_flows builders (see the header).
void check_range(const CommLayout& l, int first, int count) {
  const int ep = std::max(1, l.ep);
  if (l.gpus_per_node < 1 || first < 0 || count < 0 || first % l.gpus_per_node != 0 || count % ep != 0 ||
      first + count > l.gpus)
    throw std::invalid_argument("fabric comm: GPU range [" + std::to_string(first) + ", " +
                                std::to_string(first + count) + ") must start on a node boundary, hold whole EP "
                                "groups of " + std::to_string(ep) + " and lie inside the " +
                                std::to_string(l.gpus) + " GPUs of the fabric");
}
}  // namespace

void add_ep_flows(sim::CommPattern& p, const CommLayout& l, int first, int count, int64_t tokens, Bytes per_copy,
                  const RoutingFanout& fanout, bool transpose, double network_scale) {
  check_range(l, first, count);
  const int n = l.gpus_per_node;
  const int ep = std::max(1, l.ep);
  const int g = std::max(1, l.ep_nodes);
  const int domain = std::max(n, l.gpus_per_domain);
  const int per_node = std::min(n, ep);  // GPUs of a group on one node
  const double t = static_cast<double>(tokens);
  const Bytes net_bytes =
      g > 1 ? per_copy * (t * fanout.remote_nodes / (g - 1)) : Bytes{};
  const double nvl_copies = fanout.gpus * (1.0 - 1.0 / std::max(1, per_node));
  const Bytes nvl_bytes =
      per_node > 1 ? per_copy * (t * nvl_copies / (static_cast<double>(g) * (per_node - 1))) : Bytes{};
  auto add = [&](int a, int b, Bytes size) {
    if (size.count() == 0 || a == b) return;
    p.add(transpose ? sim::Transfer{b, a, size} : sim::Transfer{a, b, size});
  };
  for (int s = first; s < first + count; ++s) {
    const int group_first = first + (s - first) / ep * ep;
    const int own_node = s / n;
    const int first_node = group_first / n;
    for (int m = first_node; m < first_node + g; ++m) {
      // The landing GPU of node m: s itself, or the GPU with s's local index.
      const int landing = m == own_node ? s : m * n + (s % n);
      if (m != own_node) add(s, landing, landing / domain == s / domain ? net_bytes : net_bytes * network_scale);
      const int node_first = std::max(group_first, m * n);
      for (int j = node_first; j < node_first + per_node; ++j)
        if (j != landing) add(landing, j, nvl_bytes);
    }
  }
}

void add_ep_direct_flows(sim::CommPattern& p, const CommLayout& l, int first, int count, int64_t tokens,
                         Bytes per_copy, int top_k, double network_scale) {
  check_range(l, first, count);
  const int n = l.gpus_per_node;
  const int ep = std::max(1, l.ep);
  const Bytes pair = per_copy * (static_cast<double>(tokens) * top_k / ep);
  for (int s = first; s < first + count; ++s) {
    const int group = first + (s - first) / ep * ep;
    for (int j = group; j < group + ep; ++j) {
      if (j == s) continue;
      const Bytes b = j / n == s / n ? pair : pair * network_scale;
      if (b.count() > 0) p.add({s, j, b});
    }
  }
}

CommReplay replay_ep(const FabricComm& fc, const CommLayout& l, int64_t tokens, Bytes per_copy,
                     const RoutingFanout& fanout, bool transpose, double network_scale) {
  check_layout(l, *fc.fabric);
  sim::CommPattern p;
  p.name = transpose ? "ep_combine" : "ep_dispatch";
  p.ranks = l.gpus;
  add_ep_flows(p, l, 0, l.gpus, tokens, per_copy, fanout, transpose, network_scale);
  sim::TaskGraph graph;
  graph.add_comm(p.name, 0, 0, std::move(p));
  return run(fc, graph);
}

CommReplay replay_ep_direct(const FabricComm& fc, const CommLayout& l, int64_t tokens, Bytes per_copy,
                            int top_k, double network_scale) {
  check_layout(l, *fc.fabric);
  sim::CommPattern p;
  p.name = "ep_low_latency";
  p.ranks = l.gpus;
  add_ep_direct_flows(p, l, 0, l.gpus, tokens, per_copy, top_k, network_scale);
  sim::TaskGraph graph;
  graph.add_comm(p.name, 0, 0, std::move(p));
  return run(fc, graph);
}

std::vector<Duration> replay_concurrent(const FabricComm& fc, std::vector<sim::CommPattern> patterns,
                                        CommReplay& total) {
  sim::TaskGraph graph;
  std::vector<size_t> task_of;  // pattern -> task (empty patterns have none)
  int stream = 0;
  for (auto& p : patterns) {
    if (p.transfers.empty()) {
      task_of.push_back(SIZE_MAX);
      continue;
    }
    p.ranks = fc.fabric->num_gpus();
    task_of.push_back(graph.tasks.size());
    const int owner = p.transfers.front().src;
    std::string name = p.name;
    graph.add_comm(name, owner, stream++, std::move(p));
  }
  std::vector<Duration> end(patterns.size());
  if (graph.tasks.empty()) {
    total = CommReplay{};
    return end;
  }
  sim::ReplayResult res;
  total = run(fc, graph, &res);
  for (size_t i = 0; i < task_of.size(); ++i)
    if (task_of[i] != SIZE_MAX) end[i] = res.tasks[task_of[i]].end - Time::zero();
  return end;
}

DeepEpBenchmark deepep_internode_benchmark(const FabricComm& fc, int ep, int gpus_per_node, int64_t tokens,
                                           int64_t hidden, int experts, int top_k, int topk_groups,
                                           uint64_t seed) {
  const int gpn = std::max(1, gpus_per_node);
  const int nodes = ep / gpn;
  if (nodes < 2 || ep % gpn != 0 || experts % ep != 0 || top_k < 1 || top_k > experts || topk_groups < 1 ||
      topk_groups > nodes || tokens < 1 || ep > fc.fabric->num_gpus())
    throw std::invalid_argument("deepep benchmark: needs whole nodes (at least 2), experts divisible over the "
                                "GPUs, 1 <= top_k <= experts, 1 <= topk_groups <= nodes and a fabric of >= ep GPUs");
  // The test's routing statistics. Only the ranks of the scores matter, so
  // any iid continuous draw reproduces its |N(0,1)| + 1.
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const int per_node = experts / nodes, per_gpu = experts / ep;
  std::vector<double> score(static_cast<size_t>(experts)), node_max(static_cast<size_t>(nodes));
  std::vector<int> order(static_cast<size_t>(experts)), node_order(static_cast<size_t>(nodes));
  std::vector<char> node_on(static_cast<size_t>(nodes)), gpu_on(static_cast<size_t>(ep));
  double node_sum = 0, gpu_sum = 0;
  for (int64_t t = 0; t < tokens; ++t) {
    for (auto& s : score) s = u(rng);
    for (int n = 0; n < nodes; ++n)
      node_max[static_cast<size_t>(n)] =
          *std::max_element(score.begin() + n * per_node, score.begin() + (n + 1) * per_node);
    std::iota(node_order.begin(), node_order.end(), 0);
    std::partial_sort(node_order.begin(), node_order.begin() + topk_groups, node_order.end(),
                      [&](int a, int b) { return node_max[static_cast<size_t>(a)] > node_max[static_cast<size_t>(b)]; });
    std::fill(node_on.begin(), node_on.end(), 0);
    for (int i = 0; i < topk_groups; ++i) node_on[static_cast<size_t>(node_order[static_cast<size_t>(i)])] = 1;
    std::iota(order.begin(), order.end(), 0);
    auto eligible_end = std::partition(order.begin(), order.end(),
                                       [&](int e) { return node_on[static_cast<size_t>(e / per_node)] != 0; });
    std::partial_sort(order.begin(), order.begin() + top_k, eligible_end,
                      [&](int a, int b) { return score[static_cast<size_t>(a)] > score[static_cast<size_t>(b)]; });
    std::fill(node_on.begin(), node_on.end(), 0);
    std::fill(gpu_on.begin(), gpu_on.end(), 0);
    for (int i = 0; i < top_k; ++i) {
      const int e = order[static_cast<size_t>(i)];
      node_on[static_cast<size_t>(e / per_node)] = 1;
      gpu_on[static_cast<size_t>(e / per_gpu)] = 1;
    }
    node_sum += std::count(node_on.begin(), node_on.end(), 1);
    gpu_sum += std::count(gpu_on.begin(), gpu_on.end(), 1);
  }
  DeepEpBenchmark b;
  b.nodes_per_token = node_sum / static_cast<double>(tokens);
  b.gpus_per_token = gpu_sum / static_cast<double>(tokens);
  RoutingFanout fanout;
  fanout.remote_nodes = b.nodes_per_token * (1.0 - 1.0 / nodes);  // the source's node is one of them
  fanout.gpus = b.gpus_per_token;

  CommLayout l;
  l.gpus = fc.fabric->num_gpus();
  l.gpus_per_node = gpn;
  l.ep = ep;
  l.ep_nodes = nodes;
  const models::EpBytes copy = models::ep_copy_bytes(hidden);
  const Bytes fp8 = copy.dispatch_per_copy, bf16 = copy.combine_per_copy;
  auto time_of = [&](Bytes per_copy, bool transpose) {
    sim::CommPattern p;
    p.name = transpose ? "deepep_combine" : "deepep_dispatch";
    add_ep_flows(p, l, 0, ep, tokens, per_copy, fanout, transpose);
    CommReplay total;
    return replay_concurrent(fc, {std::move(p)}, total).front();
  };
  b.dispatch = time_of(fp8, false);
  b.combine = time_of(bf16, true);
  const double sent = static_cast<double>(tokens) * b.nodes_per_token;
  if (b.dispatch > Duration::zero()) b.dispatch_GBps = sent * fp8.as_double() / b.dispatch.seconds() / 1e9;
  if (b.combine > Duration::zero()) b.combine_GBps = sent * bf16.as_double() / b.combine.seconds() / 1e9;
  return b;
}

CommReplay replay_pp(const FabricComm& fc, const CommLayout& l, Bytes bytes) {
  check_layout(l, *fc.fabric);
  const int per_rank = l.gpus / l.pp;
  sim::CommPattern p;
  p.name = "pp_send_recv";
  p.ranks = l.gpus;
  for (int r = 0; r + 1 < l.pp; ++r)
    for (int i = 0; i < per_rank; ++i) {
      const int a = r * per_rank + i, b = (r + 1) * per_rank + i;
      p.add({a, b, bytes});
    }
  sim::TaskGraph graph;
  if (!p.transfers.empty()) graph.add_comm(p.name, 0, 0, std::move(p));
  return run(fc, graph);
}

std::vector<Duration> replay_dp(const FabricComm& fc, const CommLayout& l, int dp, int dp_expert,
                                const std::vector<Bytes>& dense, const std::vector<Bytes>& expert,
                                CommReplay& total, const std::vector<int>& mirror) {
  check_layout(l, *fc.fabric);
  const int per_rank = l.gpus / l.pp;
  const int n = std::max(1, l.ring_gpus > 0 ? l.ring_gpus : l.gpus_per_node);
  sim::TaskGraph graph;
  std::vector<int> rank_of_task;
  int stream = 0;
  // A pipelined ring (NCCL moves a ring's steps in chunks, so every edge
  // streams (N-1)/N of the buffer at once): one flow per edge, plus N-2
  // further step latencies after the stream (the first is the flow's own).
  std::vector<Duration> extra;
  auto add_ring = [&](int rank, std::vector<int> members, Bytes size) {
    const size_t ring = members.size();
    if (ring < 2 || size.count() == 0) return;
    sim::CommPattern p;
    p.name = "dp_ring";
    p.ranks = static_cast<int>(ring);
    const Bytes per_edge = size * ((ring - 1.0) / static_cast<double>(ring));
    for (size_t i = 0; i < ring; ++i) p.add({members[i], members[(i + 1) % ring], per_edge});
    graph.add_comm("dp_ring", members[0], stream++, std::move(p));
    rank_of_task.push_back(rank);
    extra.push_back(fc.step_latency * static_cast<int64_t>(ring - 2));
  };
  // A ring over GPUs of several islands, as NCCL runs it: one flat ring
  // over all n members, split into m channels (m members per island), each
  // carrying 1/m of the buffer and leaving every island from a different
  // GPU, so the islands' m NICs share the inter-island bytes, (n-1)/n of
  // the buffer per island. A channel enters an island at the member on the
  // rail it arrived on and leaves it on the rail of the next island's entry
  // (alternate islands walk their members in reverse), so every inter-island
  // hop stays on one rail (only an odd island count's closing hop changes
  // rail). Members are in island order. Irregular groups (islands with
  // different member counts) and one-island groups get one flat ring.
  auto add_group = [&](int rank, const std::vector<int>& members, Bytes size) {
    std::vector<std::vector<int>> by_island;
    for (int gpu : members) {
      if (by_island.empty() || by_island.back().front() / n != gpu / n) by_island.emplace_back();
      by_island.back().push_back(gpu);
    }
    const size_t m = by_island.empty() ? 0 : by_island.front().size();
    const bool regular =
        std::all_of(by_island.begin(), by_island.end(), [&](const auto& v) { return v.size() == m; });
    if (!regular || by_island.size() < 2 || m < 2) {
      add_ring(rank, members, size);
      return;
    }
    for (size_t j = 0; j < m; ++j) {
      std::vector<int> channel;
      for (size_t i = 0; i < by_island.size(); ++i)
        for (size_t k = 0; k < m; ++k) {
          // Even islands: j, j+1, ..., j-1; odd ones: j-1, j-2, ..., j.
          const size_t idx = i % 2 == 0 ? (j + k) % m : (j + 2 * m - 1 - k) % m;
          channel.push_back(by_island[i][idx]);
        }
      add_ring(rank, std::move(channel), size * (1.0 / static_cast<double>(m)));
    }
  };
  const int tp = std::max(1, per_rank / std::max(1, dp));
  auto twin = [&](int r) { return mirror.empty() ? r : mirror[static_cast<size_t>(r)]; };
  for (int r = 0; r < l.pp; ++r) {
    if (twin(r) < r) continue;  // the pair's rings were added with its lower rank
    // The ranks whose GPUs form the groups: r, and its mirror if any.
    std::vector<int> firsts = {r * per_rank};
    if (twin(r) != r) firsts.push_back(twin(r) * per_rank);
    // Dense: per TP index, the dp GPUs of the rank(s) with that index.
    for (int ti = 0; ti < tp && dp * static_cast<int>(firsts.size()) > 1; ++ti) {
      std::vector<int> group;
      for (int first : firsts)
        for (int k = 0; k < dp; ++k) group.push_back(first + ti + k * tp);
      add_group(r, group, dense[static_cast<size_t>(r)]);
    }
    // Experts: one ring over the replicas of each expert slot.
    if (dp_expert * static_cast<int>(firsts.size()) > 1) {
      const int ep = std::max(1, l.ep);
      for (int off = 0; off < ep; ++off) {
        std::vector<int> reps;
        for (int first : firsts)
          for (int k = 0; k < dp_expert; ++k) reps.push_back(first + off + k * ep);
        add_group(r, reps, expert[static_cast<size_t>(r)]);
      }
    }
  }
  std::vector<Duration> per(static_cast<size_t>(l.pp));
  if (graph.tasks.empty()) {
    total = CommReplay{};
    return per;
  }
  sim::ReplayResult res;
  total = run(fc, graph, &res);
  for (size_t k = 0; k < rank_of_task.size(); ++k) {
    Duration& d = per[static_cast<size_t>(rank_of_task[k])];
    d = std::max(d, res.tasks[k].end - Time::zero() + extra[k]);
  }
  for (int r = 0; r < l.pp; ++r)
    if (twin(r) < r) per[static_cast<size_t>(r)] = per[static_cast<size_t>(twin(r))];
  return per;
}

}  // namespace codesim::workloads
