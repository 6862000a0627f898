// File: workloads/decode_limit.hpp
//
// The decode speed limit of ISCA'25 Sec. 2.3.2 ("Insights into DeepSeek-V3"),
// under the paper's own assumptions, as a closed form:
//
//   EP step  = (dispatch_bytes + combine_bytes) x tokens_per_device
//              x experts_per_token x hidden / bandwidth
//   layer    = micro_batches x EP step      (compute fully hidden)
//   TPOT     = layers x layer
//   tokens/s = 1 / TPOT
//
// Every input is a field of the scenario's `decode_limit:` section (the
// paper's "7K" hidden, 50 GB/s, 32 tokens, 9 experts, 61 layers are in
// scenarios/paper/v3-decode-limit-*.yaml, not here). Times are integer
// picoseconds; with GB = 1e9 B the IB case is exact (120.96 us = 120,960,000 ps).
//
// decode_limit_full() runs the same case through the serving step model
// (workloads/serving_step.hpp): the model's real hidden size and FP8 scales,
// the fixed cost per all-to-all call (network latency and software overhead
// over RDMA; the NVLink path's when the EP group is one NVLink domain), the
// achieved bandwidth, and the compute of each micro-batch, which the paper
// assumes hidden. It reports each
// correction separately so the output can say by how much TPOT grows, and why.
#pragma once

#include <string>
#include <vector>

#include "sim/config.hpp"
#include "sim/units.hpp"
#include "workloads/serving.hpp"
#include "workloads/serving_step.hpp"

namespace codesim::workloads {

struct DecodeLimitSpec {
  double tokens_per_device = 32;
  int experts_per_token = 9;  // routed + shared, each on another device
  int hidden = 7000;
  Bytes dispatch_bytes_per_value = B(1);
  Bytes combine_bytes_per_value = B(2);
  Bandwidth bandwidth;  // per device, per direction
  int micro_batches = 2;
  int layers = 61;

  template <class V>
  void fields(V& v) {
    v.req("tokens_per_device", tokens_per_device, "tokens each device processes per micro-batch");
    v.req("experts_per_token", experts_per_token, "experts each token is sent to (routed + shared)");
    v.req("hidden", hidden, "hidden size used in the estimate (the paper's \"7K\")");
    v.req("dispatch_bytes_per_value", dispatch_bytes_per_value, "bytes per dispatched value (FP8: 1B)");
    v.req("combine_bytes_per_value", combine_bytes_per_value, "bytes per combined value (BF16: 2B)");
    v.req("bandwidth", bandwidth, "all-to-all bandwidth per device");
    v.req("micro_batches", micro_batches, "micro-batches per layer (dual micro-batch: 2)");
    v.req("layers", layers, "layers per token");
  }
  void validate(config::Reader& r) {
    r.check(tokens_per_device > 0, "tokens_per_device", "must be > 0");
    r.check(experts_per_token > 0, "experts_per_token", "must be > 0");
    r.check(hidden > 0, "hidden", "must be > 0");
    r.check(bandwidth.bytes_per_second() > 0, "bandwidth", "must be > 0");
    r.check(micro_batches > 0, "micro_batches", "must be > 0");
    r.check(layers > 0, "layers", "must be > 0");
  }
};

struct DecodeLimit {
  Bytes bytes_per_step;  // per device, dispatch + combine of one micro-batch
  Duration ep_step;
  Duration layer;
  Duration tpot;
  double tokens_per_s = 0;
};

DecodeLimit decode_speed_limit(const DecodeLimitSpec& spec);

// One correction on the way from the paper's limit to the full model.
struct LimitStep {
  std::string what;  // e.g. "hidden 7000 -> 7168, FP8 scales"
  Duration tpot;     // TPOT after this correction
};

struct DecodeLimitFull {
  DecodeLimit paper;              // the closed form above
  std::vector<LimitStep> steps;   // cumulative corrections, in order
  StepCost step;                  // the full decode step (one token per request)
  Duration tpot;                  // = step.total
  double tokens_per_s = 0;
  double slowdown = 0;            // tpot / paper.tpot
};

// The KV length the full-model comparison uses: the scenario's
// serving.mean_decode_context when set, else 4,096 tokens (the context the
// paper's speed-limit section and ISCA'25 Table 1 use for its KV figures).
double decode_limit_context(const ServingSpec& serving);

// `serving` supplies the model, hardware and calibration; its decode plan's
// EP size and redundant experts are used, with requests = tokens_per_device,
// KV length `context` tokens, no MTP.
DecodeLimitFull decode_limit_full(const DecodeLimitSpec& spec, const ServingSpec& serving, double context);

}  // namespace codesim::workloads
