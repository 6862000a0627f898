#include "workloads/serving_fleet.hpp"

#include <algorithm>
#include <cmath>
#include <exception>

#include "sim/strings.hpp"
#include "topology/generators.hpp"
#include "workloads/fabric_comm.hpp"
#include "workloads/serving_step.hpp"

namespace codesim::workloads {

int whole_units(double units) {
  return units <= 0 ? 0 : std::max(1, static_cast<int>(std::ceil(units - 1e-9)));
}

FleetComm replay_fleet(const ServingSpec& shared_or_not, const ServingEstimate& e) {
  FleetComm f;
  // The units alone: drop any shared slope a previous replay left in the plans.
  ServingSpec s = shared_or_not;
  s.prefill.shared_comm_ps_per_token = s.decode.shared_comm_ps_per_token = -1;
  const ServingHardware& hw = s.hardware;
  const StepModel prefill(s, s.prefill, true), decode(s, s.decode, false);
  f.prefill_alone_ps = prefill.flow_ps_per_token();
  f.decode_alone_ps = decode.flow_ps_per_token();
  if (!hw.fabric || hw.node.empty()) {
    f.note = "no hardware.fabric (with a node preset): the closed form times each unit's all-to-all";
    return f;
  }
  if (!prefill.replays_comm() && !decode.replays_comm()) {
    f.note = "no EP all-to-all to replay (dense model or EP 1)";
    return f;
  }
  f.prefill_units = whole_units(e.prefill_units);
  f.decode_units = whole_units(e.decode_units);
  f.nodes = f.prefill_units * s.prefill.nodes + f.decode_units * s.decode.nodes;
  if (f.nodes == 0) {
    f.note = "no units to replay (neither pool can serve)";
    return f;
  }
  const topology::ClusterSpec cluster = serving_cluster(hw, f.nodes);
  if (std::string why = topology::check_fabric(cluster); !why.empty()) {
    f.note = "the fabric cannot hold the fleet of " + std::to_string(f.nodes) + " nodes (" + why +
             "); each unit is timed alone";
    return f;
  }
  try {
    FabricComm fc = serving_fabric_comm(hw, cluster, "serving fleet");
    // Completions closer than 1e-5 of the shortest unit's probe (10 ns at
    // most) end together (NetworkParams::merge_quantum): on one plane under
    // adaptive routing, flows of equal share finish picoseconds apart by
    // floating-point rounding, and each such instant re-solved the whole
    // fleet. Day-6 on MRFT: 32,068 -> 167 solves per replay, 75.7 -> 4.3 s,
    // the same slopes to the last digit (and on a 2:1 FT2).
    {
      constexpr double kMergeFraction = 1e-5;  // of the shortest probe: far below any slope's digits
      constexpr double kMaxMergePs = 1e4;      // 10 ns
      double shortest = 0;
      for (double ps : {f.prefill_alone_ps, f.decode_alone_ps})
        if (ps > 0) shortest = shortest > 0 ? std::min(shortest, ps) : ps;
      const double q =
          std::min(kMaxMergePs, kMergeFraction * shortest * static_cast<double>(StepModel::kCommProbeTokens));
      if (q >= 1) fc.network.merge_quantum = Duration::from_ps(static_cast<int64_t>(q));
    }
    CommLayout layout;
    layout.gpus = fc.fabric->num_gpus();
    layout.gpus_per_node = hw.gpus_per_node;
    // One pattern per unit: prefill units on the first nodes, then decode.
    auto patterns = [&](int64_t tokens) {
      std::vector<sim::CommPattern> ps;
      int first = 0;
      auto add = [&](const StepModel& m, const PoolPlan& plan, int units, const char* name) {
        for (int u = 0; u < units; ++u) {
          sim::CommPattern p;
          p.name = name;
          if (m.replays_comm()) m.add_unit_flows(p, layout, first, tokens);
          ps.push_back(std::move(p));
          first += plan.nodes * hw.gpus_per_node;
        }
      };
      add(prefill, s.prefill, f.prefill_units, "prefill_ep");
      add(decode, s.decode, f.decode_units, "decode_ep");
      return ps;
    };
    const int64_t probe = StepModel::kCommProbeTokens;
    CommReplay ra, rb;
    const std::vector<Duration> a = replay_concurrent(fc, patterns(probe), ra);
    const std::vector<Duration> b = replay_concurrent(fc, patterns(2 * probe), rb);
    f.flows = ra.flows + rb.flows;
    f.wall_s = ra.wall_s + rb.wall_s;
    if (ra.undelivered + rb.undelivered > 0) {
      f.note = "the fleet replay left " + std::to_string(ra.undelivered + rb.undelivered) +
               " flows undelivered (no route); each unit is timed alone";
      return f;
    }
    // Per unit, (end(2T) - end(T)) / T; per pool, the mean over its units
    // (the pool's capacity is the sum of its units' rates, and one step
    // model stands for a typical unit) and the slowest (the latency tail).
    bool flat = false;
    auto slope = [&](size_t from, size_t count, double& worst) {
      double sum = 0;
      worst = -1;
      for (size_t i = from; i < from + count; ++i) {
        const double v = static_cast<double>((b[i] - a[i]).ps()) / static_cast<double>(probe);
        flat = flat || v <= 0;
        worst = std::max(worst, v);
        sum += v;
      }
      return count ? sum / static_cast<double>(count) : -1;
    };
    const auto np = static_cast<size_t>(f.prefill_units), nd = static_cast<size_t>(f.decode_units);
    if (prefill.replays_comm()) f.prefill_shared_ps = slope(0, np, f.prefill_slowest_ps);
    if (decode.replays_comm()) f.decode_shared_ps = slope(np, nd, f.decode_slowest_ps);
    if (flat) {
      f.prefill_shared_ps = f.prefill_slowest_ps = f.decode_shared_ps = f.decode_slowest_ps = -1;
      f.note = "the fleet replay's time did not grow with tokens; each unit is timed alone";
      return f;
    }
  } catch (const std::exception& ex) {
    f.note = std::string("the fleet replay failed (") + ex.what() + "); each unit is timed alone";
    return f;
  }
  f.replayed = true;
  auto ratio = [](double shared, double alone) {
    return shared > 0 && alone > 0 ? sim::strprintf("%.3fx", shared / alone) : std::string("n/a");
  };
  f.note = sim::strprintf("%d prefill + %d decode units (%d nodes) on one ", f.prefill_units, f.decode_units,
                          f.nodes) +
           std::string(config::enum_to_string(hw.fabric->kind)) + " fabric, all all-to-alls at once (" +
           std::string(config::enum_to_string(hw.routing)) + " routing, " + std::to_string(f.flows) +
           " flows): time per token vs the unit alone, mean over the units (slowest unit), prefill " +
           ratio(f.prefill_shared_ps, f.prefill_alone_ps) + " (" +
           ratio(f.prefill_slowest_ps, f.prefill_alone_ps) + "), decode " +
           ratio(f.decode_shared_ps, f.decode_alone_ps) + " (" + ratio(f.decode_slowest_ps, f.decode_alone_ps) + ")";
  return f;
}

ServingSpec with_fleet(const ServingSpec& s, const ServingEstimate& e, const FleetComm& f, bool fix_units) {
  ServingSpec out = s;
  if (!f.replayed) return out;
  if (fix_units) {
    out.prefill.units = whole_units(e.prefill_units);
    out.decode.units = whole_units(e.decode_units);
  }
  const std::string where = "flow engine over the fleet's shared " +
                            std::string(config::enum_to_string(s.hardware.fabric->kind)) + " fabric of " +
                            std::to_string(f.nodes) + " nodes (" +
                            std::string(config::enum_to_string(s.hardware.routing)) + " routing)";
  if (f.prefill_shared_ps >= 0) {
    out.prefill.shared_comm_ps_per_token = f.prefill_shared_ps;
    out.prefill.shared_comm_timing = where;
  }
  if (f.decode_shared_ps >= 0) {
    out.decode.shared_comm_ps_per_token = f.decode_shared_ps;
    out.decode.shared_comm_timing = where;
  }
  return out;
}

FleetEstimate estimate_with_fleet(const ServingSpec& s, const ServingEstimate& e, UnitCount units, int rounds) {
  FleetEstimate out;
  ServingEstimate at = e;
  for (int i = 0; i < rounds; ++i) {
    FleetComm f = replay_fleet(s, at);
    ++out.replays;
    if (!f.replayed) {
      // A later round's larger fleet may not fit or replay: keep the last
      // good replay and its estimate, unsettled, and say why it stopped.
      if (out.estimate) out.stopped = f.note;
      else out.fleet = std::move(f);
      out.settled = false;
      return out;
    }
    out.fleet = std::move(f);
    out.spec = with_fleet(s, at, out.fleet, false);
    at = estimate_serving(out.spec, units);
    out.estimate = at;
    out.settled = whole_units(at.prefill_units) == out.fleet.prefill_units &&
                  whole_units(at.decode_units) == out.fleet.decode_units;
    if (out.settled) break;
  }
  return out;
}

FleetTail fleet_tail(const ServingSpec& shared, const ServingEstimate& e, const FleetComm& f) {
  FleetTail t;
  if (!f.replayed) return t;
  ServingSpec slow = shared;
  if (f.decode_slowest_ps >= 0) slow.decode.shared_comm_ps_per_token = f.decode_slowest_ps;
  if (f.prefill_slowest_ps >= 0) slow.prefill.shared_comm_ps_per_token = f.prefill_slowest_ps;
  const RequestShape shape = request_shape(shared);
  if (e.decode.serves && e.decode.batch_per_gpu > 0) {
    const StepModel d(slow, slow.decode, false);
    t.decode_tpot = d.decode(e.decode.batch_per_gpu, shape.decode_context, shared.mtp.depth).total /
                    e.decode.accepted_per_step;
  }
  const StepModel p(slow, slow.prefill, true);
  const Duration forward = p.prefill(e.prefill.tokens_per_gpu, shape.computed, shape.cached).total;
  if (e.prefill.step.total > Duration::zero())
    t.ttft = e.ttft * (forward.seconds() / e.prefill.step.total.seconds());
  auto add = [&](const std::string& w) { t.warning += (t.warning.empty() ? "" : "; ") + w; };
  if (const std::optional<Duration> limit = shared.slo.tpot_limit(); limit && t.decode_tpot > *limit)
    add(sim::strprintf("the slowest decode unit's TPOT is %.2f ms at the pool's batch (target %.2f ms)",
                       t.decode_tpot / Milliseconds(1), *limit / Milliseconds(1)));
  if (shared.slo.ttft && t.ttft > *shared.slo.ttft)
    add(sim::strprintf("the slowest prefill unit's mean TTFT is %.2f s (target %.2f s)", t.ttft.seconds(),
                       shared.slo.ttft->seconds()));
  return t;
}

}  // namespace codesim::workloads
