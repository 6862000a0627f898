#include "workloads/serving_estimate.hpp"

#include <algorithm>
#include <cmath>

#include "sim/strings.hpp"

namespace codesim::workloads {

RequestShape request_shape(const ServingSpec& s) {
  const Traffic& t = s.traffic;
  RequestShape r;
  r.input = t.input_length.mean;
  r.output = t.output_length.mean;
  // Attention work grows with the square of the prompt, so the per-token
  // means are weighted by E[L^2] / E[L] = mean (1 + cv^2).
  const double weighted = t.input_length.mean * (1 + t.input_length.cv * t.input_length.cv);
  r.cached = t.cache_hit_rate * weighted;
  r.computed = (1 - t.cache_hit_rate) * weighted;
  const double cv_o = t.output_length.cv;
  r.decode_context = s.mean_decode_context > 0
                         ? s.mean_decode_context
                         : t.input_length.mean + t.output_length.mean * (1 + cv_o * cv_o) / 2;
  return r;
}

PrefillEstimate estimate_prefill(const ServingSpec& s, const PoolPlan& plan) {
  PrefillEstimate p;
  const RequestShape shape = request_shape(s);
  StepModel model(s, plan, true);
  p.comm_timing = model.comm_timing();
  p.compute_timing = model.compute_timing();
  p.expert_placement = model.expert_placement();
  p.memory = model.memory();
  p.tokens_per_gpu = plan.tokens_per_gpu;
  p.step = model.prefill(p.tokens_per_gpu, shape.computed, shape.cached);
  p.new_tokens_per_s_per_gpu = p.tokens_per_gpu / p.step.total.seconds();
  p.input_tokens_per_s_per_node =
      p.new_tokens_per_s_per_gpu * s.hardware.gpus_per_node / (1 - s.traffic.cache_hit_rate);
  const Bytes kv = models::kv_cache_bytes_per_token(s.model, s.decode.kv_precision);
  p.kv_transfer = Bytes::from_double(kv.as_double() * shape.input) / s.calibration.kv_transfer_bandwidth;
  p.fixed_forward = model.prefill(1, shape.computed, shape.cached).total;
  return p;
}

DecodeEstimate estimate_decode(const ServingSpec& s, const PoolPlan& plan) {
  DecodeEstimate e;
  const RequestShape shape = request_shape(s);
  StepModel model(s, plan, false);
  e.comm_timing = model.comm_timing();
  e.compute_timing = model.compute_timing();
  e.expert_placement = model.expert_placement();
  e.memory = model.memory();
  e.accepted_per_step = StepModel::accepted_per_step(s.mtp.depth, s.mtp.acceptance);
  const double ctx = shape.decode_context;
  e.kv_capacity = model.kv_capacity_requests(ctx);
  auto fill = [&](double b) {
    e.batch_per_gpu = b;
    e.step = model.decode(b, ctx, s.mtp.depth);
    e.tpot = e.step.total / e.accepted_per_step;
    e.tokens_per_s_per_user = e.accepted_per_step / e.step.total.seconds();
    e.tokens_per_s_per_gpu = b * e.tokens_per_s_per_user;
    e.tokens_per_s_per_node = e.tokens_per_s_per_gpu * s.hardware.gpus_per_node;
  };
  if (!e.memory.fits) {
    e.limited_by = "weights do not fit in HBM";
    return e;
  }
  const std::optional<Duration> limit = s.slo.tpot_limit();
  auto tpot_of = [&](double b) { return model.decode(b, ctx, s.mtp.depth).total / e.accepted_per_step; };
  if (plan.batch_per_gpu > 0) {
    fill(plan.batch_per_gpu);
    e.limited_by = "fixed";
    e.serves = plan.batch_per_gpu <= e.kv_capacity * (1 + 1e-9);
    e.feasible = e.serves && (!limit || e.tpot <= *limit);
    if (!e.serves) {
      e.limited_by = "fixed batch exceeds the KV cache";
      // A batch the KV cache cannot hold has no throughput to size a pool by.
      e.tokens_per_s_per_gpu = e.tokens_per_s_per_node = 0;
    } else if (limit && e.tpot > *limit) {
      e.limited_by = "fixed batch misses the TPOT target";
    }
    return e;
  }
  if (e.kv_capacity < 1) {
    e.limited_by = "KV cache holds less than one request";
    return e;
  }
  e.serves = true;
  if (!limit || tpot_of(e.kv_capacity) <= *limit) {
    fill(e.kv_capacity);
    e.limited_by = "kv_cache";
    e.feasible = true;
    return e;
  }
  if (tpot_of(1.0) > *limit) {
    fill(1.0);
    e.limited_by = "TPOT target missed even at one request per GPU";
    return e;
  }
  // TPOT grows with the batch: bisect for the largest batch meeting the limit.
  double lo = 1.0, hi = e.kv_capacity;
  for (int i = 0; i < 60 && hi - lo > 1e-3; ++i) {
    const double mid = 0.5 * (lo + hi);
    (tpot_of(mid) <= *limit ? lo : hi) = mid;
  }
  fill(lo);
  e.limited_by = "slo";
  e.feasible = true;
  return e;
}

namespace {
// A whole-unit fleet following a load that crosses several unit boundaries:
// the fractional part of load / capacity is spread evenly over [0, 1), so
// ceil() adds 1/2 a unit on average (serving.hpp, UnitCount::kFollowing).
constexpr double kFollowingIdleUnits = 0.5;
}  // namespace

ServingEstimate estimate_serving(const ServingSpec& s, UnitCount units) {
  return estimate_serving(s, estimate_prefill(s, s.prefill), estimate_decode(s, s.decode), units);
}

ServingEstimate estimate_serving(const ServingSpec& s, const PrefillEstimate& prefill, const DecodeEstimate& decode,
                                 UnitCount units) {
  ServingEstimate r;
  r.shape = request_shape(s);
  r.prefill = prefill;
  r.decode = decode;
  r.arrival_rate = s.traffic.arrival_rate();
  r.input_tokens_per_s = r.arrival_rate * r.shape.input;
  r.output_tokens_per_s = r.arrival_rate * r.shape.output;
  const int gpn = s.hardware.gpus_per_node;

  // Prefill pool. Units batch whatever is queued when they start a forward
  // (continuous batching). A forward's time grows from T0 (one new token per
  // GPU: weights and latency) to S (a full batch) linearly in its tokens, so
  // at utilisation rho a unit's forward lasts T = T0 / (1 - rho (1 - T0/S)):
  // T0 at no load, S at rho = 1. The k units share one queue and start at
  // independent phases, so an arriving request waits for the first of k
  // busy units to free, T / (k + 1) on average, then its own forward:
  // TTFT ~ T (1 + 1 / (k + 1)). A TTFT target sets the fewest units.
  const Duration S = r.prefill.step.total;
  const Duration T0 = std::min(r.prefill.fixed_forward, S);
  const double fixed = T0.seconds() / std::max(S.seconds(), 1e-300);
  const double unit_cap = r.prefill.input_tokens_per_s_per_node * s.prefill.nodes;
  auto forward_at = [&](double util) {
    const double x = std::clamp(util, 0.0, 1.0) * (1 - fixed);
    return x >= 1 ? S : std::min(S, T0 / (1 - x));
  };
  auto wait_factor = [](double k) { return 1 + 1 / (std::max(k, 1.0) + 1); };
  // Units sized from the traffic (UnitCount); at least one, but a
  // fractional fleet may hold less.
  auto count = [&](double x) {
    switch (units) {
      case UnitCount::kWhole: return std::max(1.0, std::ceil(x - 1e-9));
      case UnitCount::kFollowing: return std::max(1.0, x + kFollowingIdleUnits);
      case UnitCount::kFractional: break;
    }
    return x;
  };
  // Weights that do not fit leave no pool to size (units stay 0, or the
  // scenario's, and the estimate fails the SLOs).
  const bool prefill_serves = r.prefill.memory.fits && unit_cap > 0;
  // Mean TTFT with k units: it falls as k grows (lower utilisation, shorter
  // forwards, a shorter wait for the first free unit) towards T0, so a TTFT
  // target above T0 is met by enough units and one at or below T0 by none.
  auto ttft_with = [&](double k) {
    return forward_at(r.input_tokens_per_s / (unit_cap * std::max(k, 1e-12))) * wait_factor(k);
  };
  bool ttft_ok = true;
  if (s.prefill.units > 0) {
    r.prefill_units = s.prefill.units;
  } else if (!prefill_serves) {
    r.prefill_units = 0;
  } else {
    const double k_load = r.input_tokens_per_s / unit_cap;  // units at utilisation 1
    double k = k_load;
    if (s.slo.ttft && ttft_with(k) > *s.slo.ttft) {
      if (*s.slo.ttft <= T0) {
        ttft_ok = false;
        k = 2 * k_load;  // (reported as missed; sized at utilisation 0.5)
      } else {
        // The fewest units meeting the target: double, then bisect.
        double lo = std::max(k_load, 1e-9), hi = std::max(2 * lo, 1.0);
        while (ttft_with(hi) > *s.slo.ttft && hi < 1e12) hi *= 2;
        for (int it = 0; it < 100 && hi - lo > 1e-9 * hi; ++it) {
          const double mid = 0.5 * (lo + hi);
          (ttft_with(mid) > *s.slo.ttft ? lo : hi) = mid;
        }
        k = hi;
      }
    }
    r.prefill_units = count(k);
  }
  if (prefill_serves) {
    r.prefill_utilization = r.input_tokens_per_s / (unit_cap * std::max(r.prefill_units, 1e-12));
    r.ttft = forward_at(r.prefill_utilization) * wait_factor(r.prefill_units);
  }

  // Decode pool.
  const double dec_unit_cap = r.decode.tokens_per_s_per_node * s.decode.nodes;
  if (s.decode.units > 0) {
    r.decode_units = s.decode.units;
  } else if (dec_unit_cap > 0) {
    r.decode_units = count(r.output_tokens_per_s / dec_unit_cap);
  }
  r.prefill_nodes = r.prefill_units * s.prefill.nodes;
  r.decode_nodes = r.decode_units * s.decode.nodes;
  r.total_nodes = r.prefill_nodes + r.decode_nodes;
  if (r.prefill_nodes > 0) r.input_tokens_per_s_per_prefill_node = r.input_tokens_per_s / r.prefill_nodes;
  if (r.decode_nodes > 0) r.output_tokens_per_s_per_decode_node = r.output_tokens_per_s / r.decode_nodes;
  r.gpus = static_cast<int>(std::lround(r.total_nodes * gpn));
  const double node_day = gpn * 24.0 * s.hardware.usd_per_gpu_hour;
  r.cost_per_day_usd = r.total_nodes * node_day;
  if (r.input_tokens_per_s > 0)
    r.usd_per_m_input = r.prefill_nodes * node_day / (r.input_tokens_per_s * 86400 / 1e6);
  if (r.output_tokens_per_s > 0)
    r.usd_per_m_output = r.decode_nodes * node_day / (r.output_tokens_per_s * 86400 / 1e6);

  r.meets_slo = true;
  auto fail = [&](const std::string& why) {
    r.meets_slo = false;
    if (!r.why_not.empty()) r.why_not += "; ";
    r.why_not += why;
  };
  if (!r.prefill.memory.fits) fail("prefill weights do not fit in HBM");
  if (!r.decode.feasible) fail("decode: " + r.decode.limited_by);
  if (!ttft_ok)
    fail("TTFT target " + to_string(*s.slo.ttft) + " is at or below the prefill's fixed forward time " + to_string(T0) +
         " (one new token per GPU): no number of units meets it");
  else if (s.slo.ttft && prefill_serves && r.ttft > *s.slo.ttft)
    fail("TTFT target missed: mean " + to_string(r.ttft) + " with " + sim::strprintf("%.2f", r.prefill_units) +
         " units (prefill forward " + to_string(S) + " at full batch)");
  if (r.prefill_utilization > 1) fail("prefill pool overloaded");
  if (dec_unit_cap * r.decode_units < r.output_tokens_per_s * (1 - 1e-9)) fail("decode pool overloaded");
  return r;
}

}  // namespace codesim::workloads
