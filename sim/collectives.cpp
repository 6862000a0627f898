#include "sim/collectives.hpp"

#include <algorithm>
#include <map>
#include <numeric>
#include <stdexcept>

namespace codesim::sim {

uint32_t CommPattern::add(Transfer t, std::span<const uint32_t> after) {
  const uint32_t id = static_cast<uint32_t>(transfers.size());
  if (!after.empty() && dep_begin.empty()) dep_begin.assign(transfers.size() + 1, 0);
  transfers.push_back(t);
  if (!dep_begin.empty()) {
    deps.insert(deps.end(), after.begin(), after.end());
    dep_begin.push_back(static_cast<uint32_t>(deps.size()));
  }
  return id;
}

Bytes CommPattern::total_bytes() const {
  Bytes b;
  for (const auto& t : transfers) b += t.size;
  return b;
}

std::vector<int> iota_group(int n) {
  std::vector<int> g(static_cast<size_t>(n));
  std::iota(g.begin(), g.end(), 0);
  return g;
}

namespace {

// Ring of `steps` steps, chunk bytes each: rank i sends to i+1; step k of
// rank i waits for step k-1 of rank i-1 (the chunk it forwards) and for its
// own step k-1 (one send at a time per rank, as NCCL's ring does).
CommPattern ring(std::string name, std::span<const int> group, int steps, Bytes chunk) {
  CommPattern p;
  p.name = std::move(name);
  const int n = static_cast<int>(group.size());
  p.ranks = n;
  if (n < 2) return p;
  std::vector<uint32_t> prev(static_cast<size_t>(n));
  for (int k = 0; k < steps; ++k) {
    std::vector<uint32_t> cur(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      const Transfer t{group[static_cast<size_t>(i)], group[static_cast<size_t>((i + 1) % n)], chunk};
      if (k == 0) {
        cur[static_cast<size_t>(i)] = p.add(t);
      } else {
        const uint32_t d[2] = {prev[static_cast<size_t>((i + n - 1) % n)], prev[static_cast<size_t>(i)]};
        cur[static_cast<size_t>(i)] = p.add(t, d);
      }
    }
    prev = std::move(cur);
  }
  return p;
}

Bytes chunk_of(Bytes size, int n) { return Bytes::from_double(size.as_double() / n); }

}  // namespace

CommPattern ring_allreduce(std::span<const int> group, Bytes size) {
  const int n = static_cast<int>(group.size());
  CommPattern p = ring("ring_allreduce", group, 2 * (n - 1), chunk_of(size, n));
  p.algorithm_bytes = size;
  p.bus_factor = n > 0 ? 2.0 * (n - 1) / n : 0;
  return p;
}

CommPattern ring_reduce_scatter(std::span<const int> group, Bytes size) {
  const int n = static_cast<int>(group.size());
  CommPattern p = ring("reduce_scatter", group, n - 1, chunk_of(size, n));
  p.algorithm_bytes = size;
  p.bus_factor = n > 0 ? (n - 1.0) / n : 0;
  return p;
}

CommPattern ring_all_gather(std::span<const int> group, Bytes size) {
  const int n = static_cast<int>(group.size());
  CommPattern p = ring("all_gather", group, n - 1, chunk_of(size, n));
  p.algorithm_bytes = size;
  p.bus_factor = n > 0 ? (n - 1.0) / n : 0;
  return p;
}

CommPattern tree_allreduce(std::span<const int> group, Bytes size) {
  CommPattern p;
  p.name = "tree_allreduce";
  const int n = static_cast<int>(group.size());
  p.ranks = n;
  p.algorithm_bytes = size;
  p.bus_factor = n > 0 ? 2.0 * (n - 1) / n : 0;
  if (n < 2) return p;
  // Reduce: leaves first (highest rank first so children precede parents).
  std::vector<std::vector<uint32_t>> into(static_cast<size_t>(n));  // arrivals at each rank
  std::vector<uint32_t> up(static_cast<size_t>(n), 0);
  for (int i = n - 1; i >= 1; --i) {
    const int parent = (i - 1) / 2;
    up[static_cast<size_t>(i)] =
        p.add(Transfer{group[static_cast<size_t>(i)], group[static_cast<size_t>(parent)], size},
              into[static_cast<size_t>(i)]);
    into[static_cast<size_t>(parent)].push_back(up[static_cast<size_t>(i)]);
  }
  // Broadcast: the root starts when its reduce is complete.
  std::vector<std::vector<uint32_t>> ready(static_cast<size_t>(n));
  ready[0] = into[0];
  for (int i = 1; i < n; ++i) {
    const int parent = (i - 1) / 2;
    const uint32_t t = p.add(Transfer{group[static_cast<size_t>(parent)], group[static_cast<size_t>(i)], size},
                             ready[static_cast<size_t>(parent)]);
    ready[static_cast<size_t>(i)] = {t};
  }
  return p;
}

CommPattern all_to_all(std::span<const int> group, Bytes bytes_per_pair) {
  CommPattern p;
  p.name = "all_to_all";
  const int n = static_cast<int>(group.size());
  p.ranks = n;
  p.transfers.reserve(static_cast<size_t>(n) * static_cast<size_t>(std::max(n - 1, 0)));
  // Rank i sends to i+1, i+2, ... (the shifted order NCCL and DeepEP use).
  for (int i = 0; i < n; ++i)
    for (int k = 1; k < n; ++k)
      p.add(Transfer{group[static_cast<size_t>(i)], group[static_cast<size_t>((i + k) % n)], bytes_per_pair});
  // nccl-tests alltoall: the buffer holds n chunks (one to itself), and
  // busbw = algbw (n-1)/n counts only what crosses between ranks.
  p.algorithm_bytes = bytes_per_pair * static_cast<uint64_t>(n);
  p.bus_factor = n > 0 ? (n - 1.0) / n : 0;
  return p;
}

CommPattern all_to_all_peers(std::span<const int> group, int peers, Bytes bytes_per_pair) {
  CommPattern p;
  p.name = "all_to_all_peers";
  const int n = static_cast<int>(group.size());
  p.ranks = n;
  if (n < 2) return p;
  peers = std::min(peers, n - 1);
  const int stride = std::max(1, n / (peers + 1));
  p.transfers.reserve(static_cast<size_t>(n) * static_cast<size_t>(peers));
  for (int i = 0; i < n; ++i)
    for (int k = 1; k <= peers; ++k) {
      int j = (i + k * stride) % n;
      if (j == i) j = (j + 1) % n;
      p.add(Transfer{group[static_cast<size_t>(i)], group[static_cast<size_t>(j)], bytes_per_pair});
    }
  p.algorithm_bytes = bytes_per_pair * static_cast<uint64_t>(peers);
  p.bus_factor = 1.0;
  return p;
}

CommPattern all_to_allv(std::span<const int> group, std::span<const Bytes> bytes) {
  const size_t n = group.size();
  if (bytes.size() != n * n) throw std::invalid_argument("all_to_allv: matrix is not n x n");
  CommPattern p;
  p.name = "all_to_allv";
  p.ranks = static_cast<int>(n);
  Bytes max_row;
  for (size_t i = 0; i < n; ++i) {
    Bytes row;
    for (size_t k = 1; k < n; ++k) {
      const size_t j = (i + k) % n;
      if (bytes[i * n + j].count() == 0) continue;
      p.add(Transfer{group[i], group[j], bytes[i * n + j]});
      row += bytes[i * n + j];
    }
    max_row = std::max(max_row, row);
  }
  p.algorithm_bytes = max_row;
  p.bus_factor = 1.0;
  return p;
}

CommPattern send_recv(int src, int dst, Bytes size) {
  CommPattern p;
  p.name = "send_recv";
  p.ranks = 2;
  p.add(Transfer{src, dst, size});
  p.algorithm_bytes = size;
  p.bus_factor = 1.0;
  return p;
}

CommPattern ep_dispatch(std::span<const int> group, std::span<const Bytes> bytes, NodeLayout layout) {
  const size_t n = group.size();
  if (bytes.size() != n * n) throw std::invalid_argument("ep_dispatch: matrix is not n x n");
  CommPattern p;
  p.name = "ep_dispatch";
  p.ranks = static_cast<int>(n);
  Bytes max_row;
  for (size_t i = 0; i < n; ++i) {
    const int s = group[i];
    std::map<int, std::vector<size_t>> by_node;  // destination node -> ranks
    Bytes row;
    for (size_t j = 0; j < n; ++j) {
      if (j == i || bytes[i * n + j].count() == 0) continue;
      by_node[layout.node_of(group[j])].push_back(j);
      row += bytes[i * n + j];
    }
    max_row = std::max(max_row, row);
    for (const auto& [node, ranks] : by_node) {
      if (node == layout.node_of(s)) {
        for (size_t j : ranks) p.add(Transfer{s, group[j], bytes[i * n + j]});
        continue;
      }
      Bytes total;
      for (size_t j : ranks) total += bytes[i * n + j];
      const int relay = node * layout.gpus_per_node + layout.local_of(s);
      const uint32_t net = p.add(Transfer{s, relay, total});
      for (size_t j : ranks)
        if (group[j] != relay) p.add(Transfer{relay, group[j], bytes[i * n + j]}, std::span(&net, 1));
    }
  }
  p.algorithm_bytes = max_row;
  p.bus_factor = 1.0;
  return p;
}

CommPattern ep_combine(std::span<const int> group, std::span<const Bytes> bytes, NodeLayout layout) {
  const size_t n = group.size();
  if (bytes.size() != n * n) throw std::invalid_argument("ep_combine: matrix is not n x n");
  CommPattern p;
  p.name = "ep_combine";
  p.ranks = static_cast<int>(n);
  std::vector<Bytes> row(n);
  for (size_t j = 0; j < n; ++j) {  // j: the rank receiving the combined tokens
    const int d = group[j];
    std::map<int, std::vector<size_t>> by_node;  // source node -> ranks
    for (size_t i = 0; i < n; ++i) {
      if (i == j || bytes[i * n + j].count() == 0) continue;
      by_node[layout.node_of(group[i])].push_back(i);
      row[i] += bytes[i * n + j];
    }
    for (const auto& [node, ranks] : by_node) {
      if (node == layout.node_of(d)) {
        for (size_t i : ranks) p.add(Transfer{group[i], d, bytes[i * n + j]});
        continue;
      }
      const int relay = node * layout.gpus_per_node + layout.local_of(d);
      std::vector<uint32_t> gathered;
      Bytes total;
      for (size_t i : ranks) {
        total += bytes[i * n + j];
        if (group[i] != relay) gathered.push_back(p.add(Transfer{group[i], relay, bytes[i * n + j]}));
      }
      p.add(Transfer{relay, d, total}, gathered);
    }
  }
  p.algorithm_bytes = *std::max_element(row.begin(), row.end());
  p.bus_factor = 1.0;
  return p;
}

}  // namespace codesim::sim
