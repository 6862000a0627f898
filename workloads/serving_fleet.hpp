// File: workloads/serving_fleet.hpp
//
// The whole serving fleet on one fabric. Without it, each pool's EP
// all-to-all is replayed on a fabric of one unit's nodes alone
// (serving_step.hpp): units never share a switch or a link. Here every unit
// of both pools sits on one fabric of (prefill + decode) nodes, as the
// deployment would be cabled, and all their all-to-alls run at once:
//
//  * Placement: the prefill units first, then the decode units, each on
//    consecutive nodes (node i of the fabric = node i of the generator's
//    order, so a unit fills leaves in order and may straddle two).
//  * Traffic: every unit's dispatch + combine of the same probe tokens per
//    GPU starts at time 0 (the worst alignment: in production the units'
//    steps are not synchronised), in one replay; a second replay at twice
//    the tokens gives each unit's slope (ps per token per GPU), exactly as
//    the single-unit replay does. A pool is estimated with the mean of its
//    units' slopes (its capacity is the sum of their rates); the slowest
//    unit is reported beside it (the tail of TTFT and TPOT). The probes
//    are the same tokens per GPU in both pools, so a pool's share of a
//    congested link follows from its flow count (max-min per flow: a
//    decode GPU opens ~EP flows, a prefill GPU a few), not from the pools'
//    real duty cycles.
//  * What is not in it: the prefill-to-decode KV transfer. At the day-6
//    load a prefill GPU produces ~0.3 GB/s of KV (16K tokens x 70 KB per
//    4.4 s forward), under 1% of its NIC; it stays the closed form of
//    serving_estimate.hpp.
//
// On a non-blocking fabric (MPFT, MRFT, FT2 1:1) the shared slope equals
// the unit's own to the routing's collisions; under oversubscription, units
// that straddle leaves share the uplinks, and the step slows.
#pragma once

#include <optional>
#include <string>

#include "workloads/serving.hpp"
#include "workloads/serving_estimate.hpp"

namespace codesim::workloads {

struct FleetComm {
  bool replayed = false;
  std::string note;  // what was replayed, or why not
  int nodes = 0;
  int prefill_units = 0, decode_units = 0;
  uint64_t flows = 0;  // over both probes
  double wall_s = 0;   // host time of the replays
  // Bandwidth part of a dispatch + combine, ps per token per GPU: one unit
  // alone, and with the whole fleet at once the mean over the pool's units
  // (what the pool is then estimated with: its capacity is the sum of its
  // units' rates) and its slowest unit (the latency tail). -1: the pool's
  // all-to-all is not replayed.
  double prefill_alone_ps = -1, prefill_shared_ps = -1, prefill_slowest_ps = -1;
  double decode_alone_ps = -1, decode_shared_ps = -1, decode_slowest_ps = -1;
};

// Replays the pools sized in `e` (whole units; at least one each) on one
// fabric built from s.hardware.fabric. Needs hardware.node and
// hardware.fabric; otherwise (or when the fabric cannot hold the fleet, or
// the replay fails) returns replayed = false with the reason in `note`.
// Shared slopes already in s's plans (with_fleet) are ignored: the units
// alone are timed afresh.
FleetComm replay_fleet(const ServingSpec& s, const ServingEstimate& e);

// Whole units for a (possibly fractional, time-averaged) unit count: at
// least one, or none for a pool of none (one that cannot serve).
int whole_units(double units);

// replay_fleet, then estimate_serving at the shared rates with the pools
// re-sized (units counted as `units` says), repeated while
// the re-sized whole-unit counts differ from the replayed ones (at most
// `rounds` replays). `e` is the deployment estimated with units alone.
struct FleetEstimate {
  FleetComm fleet;                          // the last good replay (or the first, failed, one)
  std::optional<ServingEstimate> estimate;  // at its shared rates (none if no replay succeeded)
  ServingSpec spec;                         // the spec that estimate was made with
  int replays = 0;
  bool settled = false;  // the last estimate's whole units are the replayed fleet's
  std::string stopped;   // why a later round's replay failed (the re-sized fleet), if it did
  // "" when settled, else what the output says about it.
  std::string unsettled() const {
    if (settled) return "";
    return "the re-sized pools differ from the replayed fleet" + (stopped.empty() ? std::string() : ": " + stopped);
  }
};
FleetEstimate estimate_with_fleet(const ServingSpec& s, const ServingEstimate& e, UnitCount units,
                                  int rounds = 3);

// The latency tail of a pool estimated at its units' mean slope: the
// slowest decode unit's TPOT at the pool's batch, and the slowest prefill
// unit's mean TTFT (the pool's, scaled by the slowest unit's forward). A
// non-empty warning names what misses the SLOs; capacity is not re-judged.
struct FleetTail {
  Duration decode_tpot;
  Duration ttft;
  std::string warning;
};
FleetTail fleet_tail(const ServingSpec& shared, const ServingEstimate& e, const FleetComm& f);

// `s` with each pool's all-to-all timed at the fleet's shared slope, and,
// with `fix_units`, each pool's unit count fixed to e's (whole units):
// estimate_serving() of the result is then the same deployment with its
// units sharing the fabric; without, the pools are re-sized at those rates.
ServingSpec with_fleet(const ServingSpec& s, const ServingEstimate& e, const FleetComm& f, bool fix_units);

}  // namespace codesim::workloads
