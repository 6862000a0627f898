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
//    the tokens gives each pool's slope (ps per token per GPU) as the
//    slowest of its units, exactly as the single-unit replay does.
//  * What is not in it: the prefill-to-decode KV transfer. At the day-6
//    load a prefill GPU produces ~0.3 GB/s of KV (16K tokens x 70 KB per
//    4.4 s forward), under 1% of its NIC; it stays the closed form of
//    serving_estimate.hpp.
//
// On a non-blocking fabric (MPFT, MRFT, FT2 1:1) the shared slope equals
// the unit's own to the routing's collisions; under oversubscription, units
// that straddle leaves share the uplinks, and the step slows.
#pragma once

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
  // alone, and the slowest unit of the pool with the whole fleet at once
  // (-1: the pool's all-to-all is not replayed).
  double prefill_alone_ps = -1, prefill_shared_ps = -1;
  double decode_alone_ps = -1, decode_shared_ps = -1;
  double prefill_mean_ps = -1, decode_mean_ps = -1;  // mean over the pool's units
};

// Replays the pools sized in `e` (whole units; at least one each) on one
// fabric built from s.hardware.fabric. Needs hardware.node and
// hardware.fabric; otherwise (or when the fabric cannot hold the fleet, or
// the replay fails) returns replayed = false with the reason in `note`.
FleetComm replay_fleet(const ServingSpec& s, const ServingEstimate& e);

// `s` with each pool's all-to-all timed at the fleet's shared slope, and,
// with `fix_units`, each pool's unit count fixed to e's (whole units):
// estimate_serving() of the result is then the same deployment with its
// units sharing the fabric; without, the pools are re-sized at those rates.
ServingSpec with_fleet(const ServingSpec& s, const ServingEstimate& e, const FleetComm& f, bool fix_units);

}  // namespace codesim::workloads
