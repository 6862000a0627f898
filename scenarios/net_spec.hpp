// File: scenarios/net_spec.hpp
//
// The `network` and `comm` sections of a scenario (codesim net):
//
//   network:
//     routing: ecmp            # ecmp | adaptive | spray | dmodk
//     seed: 0                  # ECMP hash salt
//     merge_quantum: 0ns       # completion merging (sim/flow_network.hpp)
//     message_overhead: 0ns    # per flow, before its first byte
//     flowlet_gap: 0ns         # adaptive: re-place flows every gap (0 = per flow)
//     rail_forwarding: false   # MRFT + PXN: forward whenever rails differ
//     pxn_sender_side: false   # forward before the network (NCCL PXN)
//     faults:                  # applied at `at` during the run
//       - {at: 1ms, target: switch, id: 64}          # fail switch #64 (vertex order)
//       - {at: 2ms, target: plane, id: 3, factor: 0.5}  # degrade a plane
//   comm:
//     pattern: all_to_all      # see CommPatternKind
//     size: 16MiB              # per pair (all-to-all) or buffer (others)
//     group: 0                 # the first N GPUs; 0 = every GPU
//     peers: 64                # all_to_all_peers only
#pragma once

#include <array>
#include <string_view>
#include <vector>

#include "sim/config.hpp"
#include "topology/routing.hpp"

namespace codesim::scenarios {

enum class FaultTarget { kLink, kSwitch, kPlane, kNic };
constexpr auto enum_names(FaultTarget) {
  return std::array{std::pair{FaultTarget::kLink, std::string_view("link")},
                    std::pair{FaultTarget::kSwitch, std::string_view("switch")},
                    std::pair{FaultTarget::kPlane, std::string_view("plane")},
                    std::pair{FaultTarget::kNic, std::string_view("nic")}};
}

struct NetFaultSpec {
  Duration at;
  FaultTarget target = FaultTarget::kLink;
  int id = 0;  // link: cable (edge) id; switch: n-th switch in vertex order; plane; nic: GPU id
  double factor = 0;  // 0 = fail; (0, 1) = degraded capacity; 1 = restore

  template <class V>
  void fields(V& v) {
    v.req("at", at, "when, e.g. 1ms");
    v.req("target", target, "link, switch, plane or nic");
    v.req("id", id, "cable id (link), n-th switch (switch), plane number (plane), GPU id (nic)");
    v.opt("factor", factor, "0 = failed, 0.5 = half capacity, 1 = restored");
  }
  void validate(config::Reader& r) {
    r.check(factor >= 0 && factor <= 1, "factor", "expected a number in [0, 1], got " + std::to_string(factor));
    r.check(id >= 0, "id", "expected a non-negative id");
  }
};

struct NetworkSpec {
  topology::RoutingPolicy routing = topology::RoutingPolicy::kEcmp;
  int seed = 0;
  Duration merge_quantum;
  Duration message_overhead;
  Duration flowlet_gap;  // sim::NetworkParams::flowlet_gap
  bool rail_forwarding = false;
  bool pxn_sender_side = false;
  std::vector<NetFaultSpec> faults;

  template <class V>
  void fields(V& v) {
    v.opt("routing", routing, "ecmp, adaptive, spray or dmodk");
    v.opt("seed", seed, "ECMP hash salt");
    v.opt("merge_quantum", merge_quantum, "merge flow completions within this time (0 = exact)");
    v.opt("message_overhead", message_overhead, "per-flow overhead before the first byte");
    v.opt("flowlet_gap", flowlet_gap,
          "adaptive routing: every this much sending time a flow is moved to a less loaded "
          "equal-cost path if there is one (flowlets); 0 = the path is chosen once per flow");
    v.opt("rail_forwarding", rail_forwarding, "forward over NVLink whenever NIC rails differ (PXN)");
    v.opt("pxn_sender_side", pxn_sender_side, "forward on the sending node (NCCL PXN) instead of the receiving one");
    v.opt("faults", faults, "link/switch/plane/nic failures or degradations during the run");
  }
  void validate(config::Reader& r) {
    r.check(merge_quantum >= Duration::zero(), "merge_quantum", "expected a non-negative duration");
    r.check(message_overhead >= Duration::zero(), "message_overhead", "expected a non-negative duration");
    // Each gap is one re-routing event per flow: below a microsecond a
    // replay of milliseconds would run for hours (real flowlet timeouts are
    // tens to hundreds of microseconds).
    r.check(flowlet_gap == Duration::zero() || flowlet_gap >= Microseconds(1), "flowlet_gap",
            "expected 0 (off) or at least 1us");
    r.check(seed >= 0, "seed", "expected a non-negative hash salt, got " + std::to_string(seed));
  }
};

enum class CommPatternKind {
  kAllToAll,
  kAllToAllPeers,
  kRingAllReduce,
  kTreeAllReduce,
  kReduceScatter,
  kAllGather,
  kSendRecv,
};
constexpr auto enum_names(CommPatternKind) {
  return std::array{std::pair{CommPatternKind::kAllToAll, std::string_view("all_to_all")},
                    std::pair{CommPatternKind::kAllToAllPeers, std::string_view("all_to_all_peers")},
                    std::pair{CommPatternKind::kRingAllReduce, std::string_view("ring_allreduce")},
                    std::pair{CommPatternKind::kTreeAllReduce, std::string_view("tree_allreduce")},
                    std::pair{CommPatternKind::kReduceScatter, std::string_view("reduce_scatter")},
                    std::pair{CommPatternKind::kAllGather, std::string_view("all_gather")},
                    std::pair{CommPatternKind::kSendRecv, std::string_view("send_recv")}};
}

struct CommSpec {
  CommPatternKind pattern = CommPatternKind::kAllToAll;
  Bytes size;
  int group = 0;
  int peers = 0;
  int src = 0;  // send_recv
  int dst = 1;

  template <class V>
  void fields(V& v) {
    v.req("pattern", pattern,
          "all_to_all, all_to_all_peers, ring_allreduce, tree_allreduce, reduce_scatter, all_gather, send_recv");
    v.req("size", size, "bytes per pair (all-to-all) or per rank buffer, e.g. 16MiB");
    v.opt("group", group, "the first N GPUs take part; 0 = all");
    v.opt("peers", peers, "all_to_all_peers: peers per GPU");
    v.opt("src", src, "send_recv: source GPU");
    v.opt("dst", dst, "send_recv: destination GPU");
  }
  void validate(config::Reader& r) {
    r.check(group >= 0, "group", "expected 0 (all GPUs) or a positive GPU count");
    r.check(pattern != CommPatternKind::kAllToAllPeers || peers > 0, "peers",
            "all_to_all_peers needs peers > 0");
  }
};

}  // namespace codesim::scenarios
