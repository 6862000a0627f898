#include "workloads/decode_limit.hpp"

#include <cstdio>

#include "models/counts.hpp"
#include "sim/strings.hpp"

namespace codesim::workloads {

double decode_limit_context(const ServingSpec& serving) {
  constexpr double kDefaultContext = 4096;
  return serving.mean_decode_context > 0 ? serving.mean_decode_context : kDefaultContext;
}

DecodeLimit decode_speed_limit(const DecodeLimitSpec& s) {
  DecodeLimit r;
  // Integer bytes: (1 + 2) x 32 x 9 x 7000 = 6,048,000 B for the paper's case.
  const uint64_t per_value = s.dispatch_bytes_per_value.count() + s.combine_bytes_per_value.count();
  const double values = s.tokens_per_device * s.experts_per_token * s.hidden;
  r.bytes_per_step = Bytes::from_double(static_cast<double>(per_value) * values);
  r.ep_step = r.bytes_per_step / s.bandwidth;
  r.layer = r.ep_step * int64_t{s.micro_batches};
  r.tpot = r.layer * int64_t{s.layers};
  r.tokens_per_s = 1.0 / r.tpot.seconds();
  return r;
}

DecodeLimitFull decode_limit_full(const DecodeLimitSpec& spec, const ServingSpec& serving, double context) {
  DecodeLimitFull f;
  f.paper = decode_speed_limit(spec);
  f.steps.push_back({"paper's assumptions (hidden " + std::to_string(spec.hidden) + ", latency 0, compute hidden)",
                     f.paper.tpot});

  // 1. The model's real hidden size, and the FP8 scales that travel with dispatch.
  const models::EpBytes ep = models::ep_bytes_per_token(serving.model);
  const double per_copy = ep.dispatch_per_copy.as_double() + ep.combine_per_copy.as_double();
  const Bytes step_bytes = Bytes::from_double(spec.tokens_per_device * spec.experts_per_token * per_copy);
  const int64_t calls = int64_t{spec.micro_batches} * spec.layers;
  Duration tpot = (step_bytes / spec.bandwidth) * calls;
  f.steps.push_back({"hidden " + std::to_string(serving.model.dim) + " and FP8 scales (" +
                         std::to_string(ep.dispatch_per_copy.count()) + " + " +
                         std::to_string(ep.combine_per_copy.count()) + " B per token-expert)",
                     tpot});

  // 2. Fixed cost per call, a dispatch and a combine per micro-batch: the
  //    network latency and software overhead of the RDMA path or, when the
  //    whole EP group is on one NVLink domain (NVL72), the NVLink path's
  //    (low_latency_call).
  const bool on_node = serving.decode.ep <= serving.hardware.gpus_per_node;
  const Duration fixed = on_node ? serving.calibration.a2a_nvlink_overhead
                                 : serving.hardware.network_latency + serving.calibration.a2a_overhead;
  tpot += fixed * (2 * calls);
  f.steps.push_back({on_node ? "+ the NVLink path's fixed cost " + to_string(fixed) +
                                   " per dispatch/combine (DeepEP low-latency kernels, measured on H800)"
                             : "+ latency " + to_string(serving.hardware.network_latency) + " and overhead " +
                                   to_string(serving.calibration.a2a_overhead) + " per dispatch/combine",
                     tpot});

  // 3. The bandwidth the all-to-all kernels actually reach: RDMA at the
  //    low-latency kernels' efficiency, NVLink at the node's achievable rate.
  const double eff = serving.calibration.decode_a2a_efficiency;
  const Bandwidth achieved = on_node ? serving.hardware.scale_up_bandwidth : spec.bandwidth * eff;
  tpot = (step_bytes / achieved) * calls + fixed * (2 * calls);
  f.steps.push_back({on_node ? "+ achieved NVLink bandwidth (" + to_string(achieved) + ")"
                             : "+ achieved all-to-all bandwidth (" +
                                   std::to_string(static_cast<int>(eff * 100 + 0.5)) + "% of nominal)",
                     tpot});

  // 4. The full step: expert placement (only off-node copies use the NIC),
  //    dense layers without all-to-all, and the compute of every micro-batch
  //    (weights and KV read from HBM), hidden only where it is shorter.
  StepModel model(serving, serving.decode, false);
  f.step = model.decode(spec.tokens_per_device, context, 0);
  f.tpot = f.step.total;
  auto ms = [](Duration d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f ms", d / Milliseconds(1));
    return std::string(buf);
  };
  f.steps.push_back({"full step model: compute " + ms(f.step.compute) + " per step (weights read per micro-batch, "
                         "KV, attention, kernel floors) vs all-to-all " + ms(f.step.comm) + " (exposed " + ms(f.step.exposed_comm) +
                         "); the busiest GPU gets " + sim::strprintf("%.2f", f.step.expert_imbalance) +
                         "x the mean routed rows",
                     f.tpot});
  f.tokens_per_s = 1.0 / f.tpot.seconds();
  f.slowdown = f.tpot / f.paper.tpot;
  return f;
}

}  // namespace codesim::workloads
