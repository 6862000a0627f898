// File: workloads/fabric_comm.hpp
//
// Collectives of training and serving, replayed on sim/'s flow engine over
// the scenario's fabric (topology/), instead of analytic bottleneck
// formulas (training.hpp CommModel, serving_step.hpp's closed form). Each distinct collective of the step
// is one flow-level replay in which EVERY GPU of the cluster takes part at
// once, as in DualPipe's steady state where all ranks run their all-to-alls
// concurrently; the time used for the collective is the slowest GPU's.
//
// Placement (the contract the patterns assume): pipeline rank r holds GPUs
// [r G, (r+1) G), G = GPUs / PP; inside a rank, EP group e holds GPUs
// [e EP, (e+1) EP) (EP / gpus_per_node whole nodes), so the replicas of an
// expert (its DP group) are the GPUs with the same offset in every EP group
// of the rank. Node = gpu / gpus_per_node.
//
// Patterns:
//  * EP dispatch (DeepEP, DeepSeek-V3 TR Sec. 3.2.2 and 4.3 of ISCA'25):
//    under balanced node-limited routing (gate_fanout), GPU s sends one
//    copy per token and remote destination node over the network to the GPU
//    of that node with s's local index (so the traffic stays in s's plane or
//    rail), which forwards it over NVLink to the destination GPUs; GPUs of
//    s's own node get NVLink copies directly. Expected bytes per flow:
//      network  s -> (m, local(s))   T c r / (g-1)      per other node m
//      NVLink   landing -> j         T c v / (g (n-1))  per non-landing GPU
//    with T tokens, c bytes per copy, r remote nodes and v NVLink copies per
//    token (gate_fanout), g nodes per group, n GPUs per node. DeepEP
//    pipelines the network receive and the NVLink forward in chunks; the
//    two are modelled as concurrent flows (no dependency).
//  * EP combine: the transpose (NVLink to the landing GPU, then network back).
//  * PP: every GPU of rank r sends one micro-batch tensor to the GPU with
//    the same offset in rank r+1, all at once. One tensor per GPU: the
//    pipeline (schedule.hpp, blocking_sends) already queues a rank's sends
//    one after another through its NIC, and links are full duplex, so the
//    opposite direction (gradients, DualPipe's second direction) does not
//    share these links.
//  * DP: NCCL-style rail-aligned rings, pipelined: NCCL moves a ring's N-1
//    steps in chunks, so each ring edge streams (N-1)/N of the buffer and the
//    ring ends (N-2) step latencies after its slowest edge. Dense parameters: the GPUs of a
//    rank; a ring over the nodes per local index (rail) carries 1/n of the
//    buffer, and a ring over the n GPUs of each node (NVLink) runs
//    concurrently with it (NCCL pipelines the two in chunks). Expert
//    parameters: a ring over the expert's replicas (same local index, one
//    per EP group). All ranks at once, each with its own byte counts.
//
// Rates: the fabric's links run at what transfers achieve, not the line
// rate: NIC and switch links at the catalog's effective per-port bandwidth
// (ISCA'25: 40 of 50 GB/s), NVLink at its achievable rate. DeepEP's kernel
// efficiency (calibration.yaml deepep_*_fraction) scales the EP network
// bytes by 1 / fraction, i.e. the RDMA kernels move data at that fraction of
// the rate the fabric grants them; NVLink forwarding is not scaled.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sim/collectives.hpp"
#include "sim/flow_network.hpp"
#include "sim/units.hpp"
#include "topology/fabric.hpp"
#include "topology/routing.hpp"

namespace codesim::workloads {

struct RoutingFanout;

// What the flow-engine replays need besides the plan: the fabric, how it is
// routed, and the engine's parameters. Shared (read-only) between runs.
struct FabricComm {
  std::shared_ptr<const topology::Fabric> fabric;
  topology::RoutingOptions routing;
  sim::NetworkParams network;
  Bandwidth nic_effective_per_port;  // 0 = line rate
  Bandwidth nvlink_achievable;       // 0 = line rate
  Duration step_latency;             // per ring step after the first (DP rings)
};

struct CommReplay {
  Duration time;            // slowest GPU (or ring) of the collective
  uint64_t flows = 0;       // flows the replay started
  uint64_t undelivered = 0;
  double wall_s = 0;        // host time of the replay
};

// Step-level layout of the GPUs (see the placement contract above).
struct CommLayout {
  int gpus = 0;
  int gpus_per_node = 8;
  int pp = 1;
  int ep = 1;
  int ep_nodes = 1;  // nodes per EP group (g)
  // GPUs the DP rings treat as one NVLink island (a ring's channels share
  // the island's NICs, one leaving from each member); 0 = gpus_per_node. A
  // rank whose GPUs do not fill whole islands gets one flat ring.
  int ring_gpus = 0;
  // GPUs of one NVLink domain (0: gpus_per_node). EP network copies between
  // nodes of one domain travel NVLink, so DeepEP's RDMA scaling skips them.
  int gpus_per_domain = 0;
};

// EP dispatch (transpose = false) or combine (true) of `tokens` tokens per
// GPU, `per_copy` bytes per token copy, for every EP group of the cluster
// at once. `network_scale` multiplies the bytes of the network flows only:
// 1 / the DeepEP kernel's fraction of the NIC rate, which applies to RDMA
// and not to the NVLink forwarding.
CommReplay replay_ep(const FabricComm& fc, const CommLayout& layout, int64_t tokens, Bytes per_copy,
                     const RoutingFanout& fanout, bool transpose, double network_scale = 1.0);

// DeepEP's low-latency kernels (decoding): no node de-duplication; every
// token copy goes straight to its expert's GPU, over the network (scaled by
// `network_scale`) when that GPU is on another node, else over NVLink. Under
// balanced routing each of the EP GPUs of the group gets T k / EP copies
// from each GPU.
CommReplay replay_ep_direct(const FabricComm& fc, const CommLayout& layout, int64_t tokens, Bytes per_copy,
                            int top_k, double network_scale = 1.0);

// The flows of the two EP patterns above over the GPUs [first, first +
// count) only (count a multiple of layout.ep, first at a node boundary),
// appended to `p`: several units' all-to-alls can then share one replay.
void add_ep_flows(sim::CommPattern& p, const CommLayout& layout, int first, int count, int64_t tokens,
                  Bytes per_copy, const RoutingFanout& fanout, bool transpose, double network_scale = 1.0);
void add_ep_direct_flows(sim::CommPattern& p, const CommLayout& layout, int first, int count, int64_t tokens,
                         Bytes per_copy, int top_k, double network_scale = 1.0);

// Replays `patterns` at once, each as its own task (all start at time 0 and
// share the fabric); returns each pattern's end time (zero for an empty one).
std::vector<Duration> replay_concurrent(const FabricComm& fc, std::vector<sim::CommPattern> patterns,
                                        CommReplay& total);

// DeepEP's normal-kernel benchmark (its tests/test_internode.py, whose
// results are the README's internode table, T17 of the reference): one EP
// group of `ep` GPUs (`gpus_per_node` per node, at least 2 nodes), each GPU
// dispatching `tokens` tokens of `hidden` channels in FP8 (1 B + a 4 B scale
// per 128) and combining them back in BF16. Routing as the test draws it:
// iid random scores for `experts` experts placed contiguously, the node's
// maximum as its group score, the top `topk_groups` nodes, then the top
// `top_k` experts among them. The replay is replay_ep's (one network copy
// per remote node, NVLink forwarding) at the fabric's rates, no kernel
// efficiency; the bandwidth is counted as the test counts it: tokens x the
// distinct nodes each goes to (its own included) x bytes per copy, over the
// slowest GPU's time. The fabric must have at least `ep` GPUs; the others
// stay idle.
struct DeepEpBenchmark {
  double nodes_per_token = 0;  // distinct nodes a token goes to, its own included
  double gpus_per_token = 0;   // distinct GPUs
  Duration dispatch, combine;  // slowest GPU of the group
  double dispatch_GBps = 0, combine_GBps = 0;  // DeepEP's "RDMA" bandwidth
};
DeepEpBenchmark deepep_internode_benchmark(const FabricComm& fc, int ep, int gpus_per_node, int64_t tokens,
                                           int64_t hidden, int experts, int top_k, int topk_groups,
                                           uint64_t seed = 1);

// PP: one tensor of `bytes` from every GPU of rank r to rank r+1, all r at once.
CommReplay replay_pp(const FabricComm& fc, const CommLayout& layout, Bytes bytes);

// DP ring reduce-scatter (or all-gather: the same flows) of every rank at
// once: rank r moves dense[r] bytes over its dense DP group (dp GPUs of the
// rank) and expert[r] over its expert DP group (dp_expert replicas). With
// `mirror` (DualPipe: mirror[r] = PP-1-r holds the same stages), the groups
// of r and mirror[r] are one group over both ranks' GPUs (2 dp dense, 2
// dp_expert expert replicas), replayed once for the pair.
// Returns per rank the time of its dense and expert rings (run concurrently).
std::vector<Duration> replay_dp(const FabricComm& fc, const CommLayout& layout, int dp, int dp_expert,
                                const std::vector<Bytes>& dense, const std::vector<Bytes>& expert,
                                CommReplay& total, const std::vector<int>& mirror = {});

}  // namespace codesim::workloads
