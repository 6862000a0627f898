// File: sim/collectives.hpp
//
// Collectives as flow patterns: a list of GPU-to-GPU transfers with
// dependencies between them ("transfer j starts when transfers i1, i2, ...
// have arrived"). Patterns know nothing about the fabric; routing decides
// the links when each transfer starts. GPUs are integer ids; a group is the
// list of participating GPU ids in rank order.
//
// Conventions (NCCL's nccl-tests PERFORMANCE.md, "algbw" and "busbw"):
//   algorithm bandwidth = algorithm_bytes / time, where algorithm_bytes is the
//   per-rank buffer size S (all-reduce, all-gather output, reduce-scatter
//   input; all-to-all: n x bytes per pair, the self chunk included);
//   bus bandwidth = algbw * bus_factor, bus_factor = 2(N-1)/N for
//   all-reduce, (N-1)/N for all-gather, reduce-scatter and all-to-all, 1 for
//   point-to-point, all_to_all_peers and all_to_allv (bytes actually sent).
//
// Closed forms the tests check (alpha = per-step latency, B = link rate):
//   ring all-reduce   2(N-1) steps of S/N bytes: 2(N-1) (alpha + S/(N B))
//   reduce-scatter / all-gather: N-1 steps of S/N bytes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "sim/units.hpp"

namespace codesim::sim {

struct Transfer {
  int32_t src = 0;
  int32_t dst = 0;
  Bytes size;
};

struct CommPattern {
  std::string name;
  std::vector<Transfer> transfers;
  // Dependencies in CSR form: deps of transfer i are
  // deps[dep_begin[i] .. dep_begin[i+1]). dep_begin is empty when no
  // transfer has dependencies (saves memory on 4M-transfer all-to-alls).
  std::vector<uint32_t> dep_begin;
  std::vector<uint32_t> deps;
  Bytes algorithm_bytes;
  double bus_factor = 1.0;
  int ranks = 0;

  // Appends a transfer; returns its index.
  uint32_t add(Transfer t, std::span<const uint32_t> after = {});
  std::span<const uint32_t> deps_of(size_t i) const {
    if (dep_begin.empty()) return {};
    return {deps.data() + dep_begin[i], dep_begin[i + 1] - dep_begin[i]};
  }
  Bytes total_bytes() const;
};

// GPUs per node, for patterns that treat NVLink and the scale-out NICs
// differently (node-limited EP routing). Keeps sim/ free of topology.
struct NodeLayout {
  int gpus_per_node = 8;
  int node_of(int gpu) const { return gpu / gpus_per_node; }
  int local_of(int gpu) const { return gpu % gpus_per_node; }
};

// A group of GPUs 0..n-1 (the common case).
std::vector<int> iota_group(int n);

CommPattern ring_allreduce(std::span<const int> group, Bytes size);
// Binary-tree reduce to rank 0, then broadcast back (not pipelined).
CommPattern tree_allreduce(std::span<const int> group, Bytes size);
CommPattern ring_reduce_scatter(std::span<const int> group, Bytes size);
CommPattern ring_all_gather(std::span<const int> group, Bytes size);
// Every ordered pair (i != j) sends bytes_per_pair, all at once.
CommPattern all_to_all(std::span<const int> group, Bytes bytes_per_pair);
// Each rank sends to `peers` peers: rank i -> group[(i + k * stride) % n],
// k = 1..peers, stride = max(1, n / (peers + 1)) so peers spread over nodes.
CommPattern all_to_all_peers(std::span<const int> group, int peers, Bytes bytes_per_pair);
// bytes[i * n + j]: bytes from rank i to rank j (diagonal ignored).
CommPattern all_to_allv(std::span<const int> group, std::span<const Bytes> bytes);
CommPattern send_recv(int src, int dst, Bytes size);
// DeepEP-style expert-parallel dispatch with node-limited routing
// (DeepSeek-V3 TR Sec. 3.2.2): for every (source GPU, destination node) one
// transfer over the scale-out network to the GPU of that node with the
// source's local index, carrying the sum of the bytes for that node; then
// NVLink transfers from that GPU to each destination GPU, each after the
// network transfer has arrived. Destinations in the source's own node get
// NVLink transfers directly. `bytes` is the GPU-to-GPU matrix (row = source).
CommPattern ep_dispatch(std::span<const int> group, std::span<const Bytes> bytes, NodeLayout layout);
// The reverse (combine): each destination GPU first sends over NVLink to the
// GPU of its node with the original source's local index, which then sends
// one network transfer per (node, source) back.
CommPattern ep_combine(std::span<const int> group, std::span<const Bytes> bytes, NodeLayout layout);

}  // namespace codesim::sim
