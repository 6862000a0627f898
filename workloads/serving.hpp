// File: workloads/serving.hpp
//
// The serving (inference) scenario section: one model served by two node
// pools, prefill and decode (disaggregation), each with its own parallel
// plan, under a traffic description and latency SLOs. Read strictly through
// sim/config.hpp as the `serving:` section of a scenario:
//
//   serving:
//     model: {include: ../models/deepseek-v3.yaml}
//     hardware: {...}        # GPU, node and price (explicit numbers)
//     calibration: {include: ../../workloads/calibration.yaml#serving}
//     prefill: {nodes: 4, ep: 32, attention_dp: 32, ...}
//     decode:  {nodes: 18, ep: 144, attention_dp: 144, ...}
//     mtp: {depth: 1, acceptance: 0.85}
//     traffic: {input_tokens_per_day: 608e9, ...}
//     slo: {tokens_per_s_per_user: 20, ttft: 5s}
//
// Units: every dimensioned value carries its unit in the file ("80GB",
// "3.35TB/s", "3.7us"). Token counts and rates are plain numbers (tokens,
// tokens per second). The published figures that these scenarios reproduce
// live only in tests; nothing here holds a result.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "models/counts.hpp"
#include "models/model_spec.hpp"
#include "sim/config.hpp"
#include "sim/units.hpp"
#include "topology/cluster.hpp"
#include "topology/routing.hpp"

namespace codesim::workloads {

// The accelerator and node the pools run on. Per-GPU numbers; bandwidths
// are per direction. Either name a catalog node preset (`node: h800`, see
// topology/catalog.hpp), which fills every field, single fields may still
// be given, or give the fields explicitly. With `node` and `fabric`, each
// pool's EP all-to-all is replayed on the flow engine over a fabric of the
// unit's nodes (workloads/fabric_comm.hpp) instead of the closed form, and
// `codesim serve` also replays the whole fleet on one fabric
// (workloads/serving_fleet.hpp).
struct ServingHardware;
void seed_serving_hardware(ServingHardware& hw);  // from the `node` preset

struct ServingHardware {
  std::string node;  // catalog node preset; "" = explicit fields
  std::string gpu = "H800";
  int gpus_per_node = 8;
  Bytes hbm_capacity;
  Bandwidth hbm_bandwidth;
  FlopRate fp8_peak;   // dense
  FlopRate bf16_peak;  // dense
  Bandwidth scale_out_bandwidth;  // per GPU (one NIC), per direction
  Bandwidth scale_up_bandwidth;   // per GPU inside a node, per direction
  Duration network_latency;       // one all-to-all's end-to-end network latency
  double usd_per_gpu_hour = 2.0;
  int sms = 132;  // streaming multiprocessors per GPU (the compute model's SM-bound kernels)
  std::optional<topology::FabricSpec> fabric;  // replay EP on this fabric (needs `node`)
  topology::RoutingPolicy routing = topology::RoutingPolicy::kAdaptive;
  // `codesim serve`, `codesim size` and `sweep --full`: also replay every
  // unit of both pools at once on one fabric of the whole fleet
  // (workloads/serving_fleet.hpp) and estimate the deployment at those
  // shared rates. Size ranks with units alone, then replays its cheapest
  // candidates this way and heads with the cheapest on the shared fabric
  // (cli/cmd_size.cpp); fast sweeps time units alone.
  bool fleet_replay = true;
  topology::NodeSpec node_spec;  // the resolved preset (when `node` is set)

  template <class V>
  void fields(V& v) {
    v.opt("node", node, "catalog node preset (" + topology::node_names() + "): fills the fields below");
    if constexpr (std::is_same_v<V, config::Reader>) seed_serving_hardware(*this);
    auto field = [&](const char* key, auto& x, const char* doc) {
      if (node.empty())
        v.req(key, x, doc);
      else
        v.opt(key, x, doc);
    };
    v.opt("gpu", gpu, "GPU name (for reports)");
    v.opt("gpus_per_node", gpus_per_node, "GPUs per node");
    field("hbm_capacity", hbm_capacity, "HBM per GPU");
    field("hbm_bandwidth", hbm_bandwidth, "HBM bandwidth per GPU");
    field("fp8_peak", fp8_peak, "dense FP8 tensor-core peak per GPU");
    field("bf16_peak", bf16_peak, "dense BF16 tensor-core peak per GPU");
    field("scale_out_bandwidth", scale_out_bandwidth, "NIC bandwidth per GPU, per direction");
    field("scale_up_bandwidth", scale_up_bandwidth, "NVLink bandwidth per GPU, per direction");
    v.opt("network_latency", network_latency, "network latency of one all-to-all phase");
    v.opt("usd_per_gpu_hour", usd_per_gpu_hour, "rental price, USD per GPU-hour");
    v.opt("sms", sms, "streaming multiprocessors per GPU");
    v.opt("fabric", fabric, "scale-out fabric: replay the EP all-to-all on it, per unit and for the fleet (needs node)");
    v.opt("routing", routing, "routing policy of that replay: ecmp, adaptive, spray or dmodk");
    v.opt("fleet_replay", fleet_replay,
          "serve, size, sweep --full: replay all units of both pools together on one fabric of the whole fleet");
  }
  void validate(config::Reader& r) {
    r.check(node.empty() || topology::find_node(node) != nullptr, "node",
            "unknown node preset '" + node + "'; valid values are: " + topology::node_names());
    r.check(!fabric || !node.empty(), "fabric", "replaying on a fabric needs a catalog `node` preset");
    r.check(gpus_per_node > 0, "gpus_per_node", "must be > 0");
    if (!node.empty() && node_spec.gpus > 0 && gpus_per_node > 0)
      r.check(gpus_per_node % node_spec.gpus == 0 &&
                  std::max(node_spec.gpus, node_spec.scale_up_gpus) % gpus_per_node == 0,
              "gpus_per_node",
              "a serving node is GPUs on one NVLink domain: with node preset '" + node + "' (" +
                  std::to_string(node_spec.gpus) + " GPUs per server, " +
                  std::to_string(std::max(node_spec.gpus, node_spec.scale_up_gpus)) +
                  " per NVLink domain) it must be a multiple of " + std::to_string(node_spec.gpus) +
                  " that divides " + std::to_string(std::max(node_spec.gpus, node_spec.scale_up_gpus)) +
                  ", not " + std::to_string(gpus_per_node));
    r.check(hbm_capacity.count() > 0, "hbm_capacity", "must be > 0");
    r.check(hbm_bandwidth.bytes_per_second() > 0, "hbm_bandwidth", "must be > 0");
    r.check(fp8_peak.per_second() > 0, "fp8_peak", "must be > 0 (a FLOP rate such as 1979TFLOPS)");
    r.check(bf16_peak.per_second() > 0, "bf16_peak", "must be > 0 (a FLOP rate such as 989TFLOPS)");
    r.check(scale_out_bandwidth.bytes_per_second() > 0, "scale_out_bandwidth",
            "must be > 0 (the NIC bandwidth per GPU, per direction, such as 50GB/s)");
    r.check(scale_up_bandwidth.bytes_per_second() > 0, "scale_up_bandwidth",
            "must be > 0 (the NVLink bandwidth per GPU, per direction, such as 200GB/s)");
    r.check(network_latency >= Duration::zero(), "network_latency", "must be >= 0");
    r.check(usd_per_gpu_hour >= 0, "usd_per_gpu_hour", "must be >= 0");
    r.check(sms > 0, "sms", "must be > 0");
  }
};

// Efficiencies that turn hardware peaks into achieved rates. Each one has
// its source in the `serving:` section of workloads/calibration.yaml; none is fitted to the
// inference figures that the tests compare against.
struct ServingCalibration {
  // Defaults equal the file's serving: section (every key is required there).
  double gemm_efficiency = 0.66;       // achieved / peak FP8 on large GEMMs
  double attention_efficiency = 0.586;  // achieved / peak BF16 on the attention core
  double hbm_efficiency = 0.86;        // achieved / peak HBM on memory-bound GEMMs
  double attention_hbm_efficiency = 0.896;  // same, attention (KV reads)
  double system_efficiency = 0.41;     // achieved / kernel-roofline for whole steps (prefill's roofline)
  double decode_a2a_efficiency = 0.78;   // achieved / NIC bandwidth, low-latency kernels
  double prefill_a2a_efficiency = 0.86;  // same, normal (high-throughput) kernels
  int prefill_a2a_sms = 20;              // SMs prefill's normal EP kernels hold (per-op prefill)
  // Fixed cost per dispatch or combine call, on top of its bytes: the RDMA
  // path's beyond the network latency, the NVLink path's (decode's
  // low-latency kernels send on-node copies over NVLink) whole.
  Duration a2a_overhead = Microseconds(5);
  Duration a2a_nvlink_overhead = Microseconds(35);
  Bytes activation_reserve;            // HBM kept for activations, buffers, context
  // Routed-expert popularity at inference: lognormal weights exp(sigma z),
  // z ~ N(0,1), one draw per expert (seeded). 0 = every expert equally
  // popular. The busiest GPU's load follows from it: EPLB placement of the
  // pool's redundant experts (models/eplb.hpp), then the per-step spread of
  // a finite batch (workloads/serving_step.hpp).
  double expert_popularity_sigma = 0.0;
  int expert_popularity_seed = 1;
  Bandwidth kv_transfer_bandwidth;     // prefill -> decode KV move, per GPU

  template <class V>
  void fields(V& v) {
    v.req("gemm_efficiency", gemm_efficiency, "achieved/peak FP8 GEMM rate (compute-bound)");
    v.req("attention_efficiency", attention_efficiency, "achieved/peak BF16 attention-core rate");
    v.req("hbm_efficiency", hbm_efficiency, "achieved/peak HBM bandwidth, GEMM weight reads");
    v.req("attention_hbm_efficiency", attention_hbm_efficiency, "achieved/peak HBM bandwidth, KV reads");
    v.req("system_efficiency", system_efficiency,
          "achieved/kernel-roofline for compute-bound work (launches, small kernels, sync)");
    v.req("decode_a2a_efficiency", decode_a2a_efficiency, "achieved/NIC bandwidth, low-latency EP kernels");
    v.req("prefill_a2a_efficiency", prefill_a2a_efficiency, "achieved/NIC bandwidth, normal EP kernels");
    v.opt("prefill_a2a_sms", prefill_a2a_sms,
          "SMs the normal EP kernels hold in prefill (the per-op kernel model's compute gets the rest)");
    v.req("a2a_overhead", a2a_overhead, "fixed cost per dispatch or combine call beyond the network latency (RDMA)");
    v.req("a2a_nvlink_overhead", a2a_nvlink_overhead,
          "fixed cost per low-latency dispatch or combine call of its NVLink (on-node) path");
    v.req("activation_reserve", activation_reserve, "HBM not available to weights or KV");
    v.opt("expert_popularity_sigma", expert_popularity_sigma,
          "lognormal sigma of per-expert routed load at inference (0: uniform)");
    v.opt("expert_popularity_seed", expert_popularity_seed, "seed of the expert popularity draw");
    v.req("kv_transfer_bandwidth", kv_transfer_bandwidth, "prefill-to-decode KV transfer rate per GPU");
  }
  void validate(config::Reader& r) {
    auto frac = [&](double x, std::string_view k) { r.check(x > 0 && x <= 1, k, "must be in (0, 1]"); };
    frac(gemm_efficiency, "gemm_efficiency");
    frac(attention_efficiency, "attention_efficiency");
    frac(hbm_efficiency, "hbm_efficiency");
    frac(attention_hbm_efficiency, "attention_hbm_efficiency");
    frac(system_efficiency, "system_efficiency");
    frac(decode_a2a_efficiency, "decode_a2a_efficiency");
    frac(prefill_a2a_efficiency, "prefill_a2a_efficiency");
    r.check(a2a_overhead >= Duration::zero(), "a2a_overhead", "must be >= 0");
    r.check(prefill_a2a_sms >= 0, "prefill_a2a_sms", "must be >= 0");
    r.check(a2a_nvlink_overhead >= Duration::zero(), "a2a_nvlink_overhead", "must be >= 0");
    r.check(expert_popularity_sigma >= 0 && expert_popularity_sigma <= 4, "expert_popularity_sigma",
            "must be in [0, 4]");
    r.check(expert_popularity_seed >= 0, "expert_popularity_seed", "must be >= 0");
  }
};

// Expert slots per GPU of an EP group: the routed experts and the
// redundant replicas, rounded up so that every GPU holds whole experts (the
// extra slots serve as replicas).
inline int expert_slots_per_gpu(int routed, int redundant, int ep) { return (routed + redundant + ep - 1) / ep; }

// How a pool's compute is timed (workloads/serving_step.hpp): the per-op
// kernel model training uses, or the group roofline whose compute-bound
// rates carry system_efficiency. auto: kernels for decode, roofline for
// prefill; attention TP > 1 is always on the roofline.
enum class ComputeTiming { kAuto, kKernels, kRoofline };
constexpr auto enum_names(ComputeTiming) {
  return std::array{std::pair{ComputeTiming::kAuto, std::string_view("auto")},
                    std::pair{ComputeTiming::kKernels, std::string_view("kernels")},
                    std::pair{ComputeTiming::kRoofline, std::string_view("roofline")}};
}

// How a pool's dual micro-batch overlap is timed (workloads/serving_step.hpp).
// stages: DeepSeek's day-6 pipelines, where each all-to-all hides only behind
// the compute its stage overlaps (needs per-op compute; roofline pools
// overlap ideally); ideal: every MoE layer costs max(compute, all-to-all).
enum class OverlapModel { kStages, kIdeal };
constexpr auto enum_names(OverlapModel) {
  return std::array{std::pair{OverlapModel::kStages, std::string_view("stages")},
                    std::pair{OverlapModel::kIdeal, std::string_view("ideal")}};
}

// One pool's parallel plan. A "unit" is one EP group: nodes x gpus_per_node
// GPUs holding one full copy of the model.
struct PoolPlan {
  int nodes = 1;              // nodes per unit
  int units = 0;              // 0: as many as the traffic needs (serve), searched (size)
  int ep = 8;                 // MoE expert-parallel size (GPUs per unit)
  int attention_tp = 1;       // attention tensor parallel; attention DP = ep / attention_tp
  int redundant_experts = 0;  // extra expert replicas (EPLB), spread over the EP group
  // Output head and embedding split by vocabulary over this many GPUs (1:
  // replicated); the head's input hidden states are all-gathered over
  // NVLink first. DeepSeek-V3's inference/model.py makes the head a
  // ColumnParallelLinear and the embedding a ParallelEmbedding over its
  // tensor-parallel world; with DP attention the node's GPUs are that group.
  int head_tp = 1;
  int micro_batches = 2;      // 2: dual micro-batch overlap of compute and all-to-all
  // prefill: new tokens per GPU per forward. Default: profile-data README,
  // prefill "batch 16K tokens per GPU" (DeepSeek's deployment).
  double tokens_per_gpu = 16384;
  double batch_per_gpu = 0;   // decode: requests per GPU (0: largest meeting KV and SLO)
  models::KvPrecision kv_precision = models::KvPrecision::kBf16;
  ComputeTiming compute = ComputeTiming::kAuto;
  OverlapModel overlap = OverlapModel::kStages;
  // Not a scenario key: set by serving_fleet.hpp when the whole fleet's
  // all-to-alls were replayed on one fabric. >= 0: the bandwidth part of a
  // dispatch + combine, ps per token per GPU, used instead of the unit's own
  // replay; with the line that says how it was timed.
  double shared_comm_ps_per_token = -1;
  std::string shared_comm_timing;

  template <class V>
  void fields(V& v) {
    v.req("nodes", nodes, "nodes per unit (one EP group)");
    v.opt("units", units, "units in the pool (0: sized from the traffic)");
    v.req("ep", ep, "expert-parallel size = GPUs per unit");
    v.opt("attention_tp", attention_tp, "attention tensor-parallel size (DP = ep / tp)");
    v.opt("redundant_experts", redundant_experts, "redundant expert replicas (EPLB)");
    v.opt("head_tp", head_tp, "GPUs the output head and embedding are split over by vocabulary");
    v.opt("micro_batches", micro_batches, "micro-batches overlapped with all-to-all (1 or 2)");
    v.opt("tokens_per_gpu", tokens_per_gpu, "prefill: new tokens per GPU per forward");
    v.opt("batch_per_gpu", batch_per_gpu, "decode: requests per GPU (0: largest feasible)");
    v.opt("kv_precision", kv_precision, "KV-cache precision");
    v.opt("compute", compute,
          "how compute is timed: auto (decode on the per-op kernel model, prefill on the roofline), kernels or "
          "roofline");
    v.opt("overlap", overlap,
          "how dual micro-batch overlap is timed: stages (each all-to-all hidden only behind the compute of its "
          "pipeline stage; per-op compute only) or ideal (max of compute and all-to-all per layer)");
  }
  void validate(config::Reader& r) {
    r.check(nodes > 0, "nodes", "must be > 0");
    r.check(units >= 0, "units", "must be >= 0");
    r.check(ep > 0, "ep", "must be > 0");
    r.check(attention_tp > 0 && ep % attention_tp == 0, "attention_tp", "must divide ep");
    r.check(redundant_experts >= 0, "redundant_experts", "must be >= 0");
    r.check(head_tp >= 1 && ep % head_tp == 0, "head_tp", "must be >= 1 and divide ep");
    r.check(micro_batches == 1 || micro_batches == 2, "micro_batches", "must be 1 or 2");
    r.check(tokens_per_gpu > 0, "tokens_per_gpu", "must be > 0");
    r.check(batch_per_gpu >= 0, "batch_per_gpu", "must be >= 0");
    r.check(compute != ComputeTiming::kKernels || attention_tp == 1, "compute",
            "kernels needs attention_tp 1 (the per-op kernel model has no attention TP split)");
  }
};

// Multi-token prediction used as speculative decoding: `depth` draft tokens
// per step; the k-th is accepted with probability acceptance^k (each needs
// the previous one).
struct MtpSettings {
  int depth = 0;
  double acceptance = 0.0;
  template <class V>
  void fields(V& v) {
    v.req("depth", depth, "draft tokens per step (MTP modules used)");
    v.req("acceptance", acceptance, "acceptance rate of the first draft token");
  }
  void validate(config::Reader& r) {
    r.check(depth >= 0 && depth <= 4, "depth", "must be in 0..4");
    r.check(acceptance >= 0 && acceptance <= 1, "acceptance", "must be in [0, 1]");
  }
};

// A length distribution in tokens: lognormal with this mean and coefficient
// of variation (cv = 0: every request has the mean), clipped to [min, max].
struct LengthDist {
  double mean = 1000;
  double cv = 0;
  double min = 1;
  double max = 131072;
  template <class V>
  void fields(V& v) {
    v.req("mean", mean, "mean length, tokens");
    v.opt("cv", cv, "coefficient of variation (lognormal; 0 = constant)");
    v.opt("min", min, "shortest, tokens");
    v.opt("max", max, "longest, tokens");
  }
  void validate(config::Reader& r) {
    r.check(mean >= 1, "mean", "must be >= 1");
    r.check(cv >= 0, "cv", "must be >= 0");
    r.check(min >= 1 && max >= min, "max", "need 1 <= min <= max");
    r.check(mean >= min && mean <= max, "mean", "must lie in [min, max] (lengths are clipped to them)");
  }
};

// The load. Either a request rate or daily token totals (the rate then
// follows from the mean output length).
struct Traffic {
  double requests_per_s = 0;        // 0: from output_tokens_per_day / output mean
  // A check only: the prompts are input_length; when given, it must agree
  // with arrival_rate() x input_length.mean a day.
  double input_tokens_per_day = 0;
  double output_tokens_per_day = 0;
  double cache_hit_rate = 0;        // fraction of input tokens served from the prefix cache
  LengthDist input_length;
  LengthDist output_length;

  template <class V>
  void fields(V& v) {
    v.opt("requests_per_s", requests_per_s, "arrival rate (Poisson); 0: from output_tokens_per_day");
    v.opt("input_tokens_per_day", input_tokens_per_day,
          "input tokens per day (incl. cache hits); a check: must match the rate x input_length.mean");
    v.opt("output_tokens_per_day", output_tokens_per_day, "output tokens per day");
    v.opt("cache_hit_rate", cache_hit_rate, "fraction of input tokens hitting the prefix cache");
    v.req("input_length", input_length, "prompt length distribution");
    v.req("output_length", output_length, "output length distribution");
  }
  void validate(config::Reader& r) {
    r.check(cache_hit_rate >= 0 && cache_hit_rate < 1, "cache_hit_rate", "must be in [0, 1)");
    r.check(requests_per_s >= 0, "requests_per_s", "must be >= 0 (0: from output_tokens_per_day)");
    r.check(output_tokens_per_day >= 0, "output_tokens_per_day", "must be >= 0");
    r.check(input_tokens_per_day >= 0, "input_tokens_per_day", "must be >= 0");
    r.check(requests_per_s > 0 || output_tokens_per_day > 0, "requests_per_s",
            "set requests_per_s or output_tokens_per_day");
    // The prompts are input_length: a daily input total that another mean
    // would give is a contradiction, not a second load (2%: the figures'
    // rounding; the lognormal's clipping is not counted).
    if (input_tokens_per_day > 0 && arrival_rate() > 0 && input_length.mean >= 1) {
      const double implied = input_tokens_per_day / 86400.0 / arrival_rate();
      char buf[256];
      std::snprintf(buf, sizeof buf,
                    "implies %.0f tokens per prompt at %.4g requests/s, but input_length.mean is %.0f; make them "
                    "agree or drop input_tokens_per_day (the prompt length drives the model)",
                    implied, arrival_rate(), input_length.mean);
      r.check(std::abs(implied / input_length.mean - 1.0) <= 0.02, "input_tokens_per_day", buf);
    }
  }
  // Mean arrival rate, requests per second.
  double arrival_rate() const {
    return requests_per_s > 0 ? requests_per_s : output_tokens_per_day / 86400.0 / output_length.mean;
  }
};

// Latency targets; an absent one is not enforced.
struct Slo {
  std::optional<Duration> ttft;
  std::optional<Duration> tpot;
  std::optional<double> tokens_per_s_per_user;
  template <class V>
  void fields(V& v) {
    v.opt("ttft", ttft, "time to first token (mean, steady state)");
    v.opt("tpot", tpot, "time per output token");
    v.opt("tokens_per_s_per_user", tokens_per_s_per_user, "decode speed each user sees");
  }
  void validate(config::Reader& r) {
    r.check(!ttft || *ttft > Duration::zero(), "ttft", "must be > 0 (leave it out for no target)");
    r.check(!tpot || *tpot > Duration::zero(), "tpot", "must be > 0 (leave it out for no target)");
    r.check(!tokens_per_s_per_user || *tokens_per_s_per_user > 0, "tokens_per_s_per_user",
            "must be > 0 (leave it out for no target)");
  }
  // The tightest TPOT implied by tpot and tokens_per_s_per_user.
  std::optional<Duration> tpot_limit() const {
    std::optional<Duration> t = tpot;
    if (tokens_per_s_per_user && *tokens_per_s_per_user > 0) {
      Duration u = Seconds(1.0 / *tokens_per_s_per_user);
      if (!t || u < *t) t = u;
    }
    return t;
  }
};

// How a pool's units are counted when sized from the traffic.
//  whole: ceil(load / unit capacity), a steady load;
//  following: a fleet of whole units that follows a load varying over the
//    day across several unit boundaries: at each moment ceil(load / unit
//    capacity) units, whose fractional part is then spread evenly, so on
//    average half a unit per pool stands idle: load / capacity + 1/2 (at
//    least 1). A lower bound on the idle capacity of a real fleet (no
//    headroom, no hysteresis);
//  fractional: load / capacity, a perfectly elastic fleet (an upper bound
//    on utilisation).
enum class UnitCount { kWhole, kFollowing, kFractional };
constexpr auto enum_names(UnitCount) {
  return std::array{std::pair{UnitCount::kWhole, std::string_view("whole")},
                    std::pair{UnitCount::kFollowing, std::string_view("following")},
                    std::pair{UnitCount::kFractional, std::string_view("fractional")}};
}

// The deployment search of `codesim size`.
struct SizeSearch {
  std::vector<int> prefill_ep = {8, 16, 32, 64};
  std::vector<int> decode_ep = {16, 32, 64, 72, 144, 288};
  std::vector<double> decode_batch = {};  // empty: the largest feasible batch only
  // MTP draft depths to try (empty: mtp.depth only); each at mtp.acceptance.
  std::vector<int> mtp_depth = {};
  // Decode KV-cache precisions to try (empty: decode.kv_precision only).
  std::vector<models::KvPrecision> kv_precision = {};
  UnitCount units = UnitCount::kWhole;  // how pool units are counted (above)
  int runners_up = 4;
  template <class V>
  void fields(V& v) {
    v.opt("prefill_ep", prefill_ep, "prefill EP sizes to try (multiples of gpus_per_node)");
    v.opt("decode_ep", decode_ep, "decode EP sizes to try");
    v.opt("decode_batch", decode_batch, "decode requests per GPU to try (empty: largest feasible)");
    v.opt("mtp_depth", mtp_depth, "MTP draft depths to try, each at mtp.acceptance (empty: mtp.depth)");
    v.opt("kv_precision", kv_precision, "decode KV-cache precisions to try (empty: decode.kv_precision)");
    v.opt("units", units,
          "how pool units are counted: whole (steady load), following (whole units over a varying load: half a unit "
          "idle per pool on average) or fractional (perfectly elastic)");
    v.opt("runners_up", runners_up, "how many runners-up to print");
  }
  void validate(config::Reader& r) {
    for (int d : mtp_depth) r.check(d >= 0 && d <= 4, "mtp_depth", "every depth must be in 0..4");
    for (double b : decode_batch)
      r.check(b >= 0, "decode_batch", "every batch must be >= 0 requests per GPU (0: the largest feasible)");
    r.check(runners_up >= 0, "runners_up", "must be >= 0");
    for (int e : prefill_ep) r.check(e >= 1, "prefill_ep", "every EP size must be >= 1 GPU, got " + std::to_string(e));
    for (int e : decode_ep) r.check(e >= 1, "decode_ep", "every EP size must be >= 1 GPU, got " + std::to_string(e));
  }
};

// Request-level simulation settings.
struct SimulateSettings {
  Duration duration = Seconds(int64_t{600});
  Duration warmup = Seconds(int64_t{60});
  int64_t seed = 1;
  template <class V>
  void fields(V& v) {
    v.opt("duration", duration, "simulated time after warm-up");
    v.opt("warmup", warmup, "simulated time before statistics are collected");
    v.opt("seed", seed, "random seed (the serving stream is derived from it)");
  }
};

// A second model whose KV-cache concurrency is printed beside the served one
// (MLA vs GQA): the same GPU, `context`-token requests, its own unit.
struct KvComparison {
  models::ModelSpec model;
  int nodes = 1;
  int attention_tp = 8;  // a dense GQA model is served TP over the unit
  double context = 4096;
  template <class V>
  void fields(V& v) {
    v.req("model", model, "the model to compare (include: ../models/NAME.yaml)");
    v.opt("nodes", nodes, "nodes per unit holding one copy of it");
    v.opt("attention_tp", attention_tp, "tensor-parallel size of its attention and FFN");
    v.opt("context", context, "tokens per request");
  }
};

struct ServingSpec {
  models::ModelSpec model;
  ServingHardware hardware;
  ServingCalibration calibration;
  PoolPlan prefill;
  PoolPlan decode;
  MtpSettings mtp;
  Traffic traffic;
  Slo slo;
  SizeSearch search;
  SimulateSettings simulate;
  double mean_decode_context = 0;  // 0: from the traffic (input + output/2)
  double kv_context = 4096;        // context of the "concurrent requests per GPU" figure
  std::optional<KvComparison> kv_comparison;

  template <class V>
  void fields(V& v) {
    v.req("model", model, "the served model (usually include: ../models/NAME.yaml)");
    v.req("hardware", hardware, "GPU and node");
    v.req("calibration", calibration, "efficiencies (include: workloads/calibration.yaml#serving)");
    v.req("prefill", prefill, "prefill pool plan");
    v.req("decode", decode, "decode pool plan");
    v.opt("mtp", mtp, "multi-token prediction (speculative decoding)");
    v.req("traffic", traffic, "load");
    v.opt("slo", slo, "latency targets");
    v.opt("search", search, "deployment search space for `codesim size`");
    v.opt("simulate", simulate, "request-level simulation settings");
    v.opt("mean_decode_context", mean_decode_context,
          "mean KV length per decode step, tokens (0: input mean + output mean / 2)");
    v.opt("kv_context", kv_context, "request length for the concurrent-requests-per-GPU figure");
    v.opt("kv_comparison", kv_comparison, "another model to compare KV concurrency with");
  }
  // "" or why the request-level simulation would not fit a workstation: its
  // time and memory grow with the requests of the run (a day of the day-6
  // load, 1.6e8 requests: about 100 s and 1.3 GB, measured on this project's
  // 2-core machine), so a run is capped at kMaxSimulatedRequests.
  static constexpr double kMaxSimulatedRequests = 2e8;
  // Checked when a simulation is asked for (serve --simulate, sweep --full),
  // not when the scenario loads: the analytic commands simulate nothing.
  std::string simulate_problem() const {
    if (simulate.duration <= Duration::zero()) return "simulate.duration must be > 0";
    if (simulate.warmup < Duration::zero()) return "simulate.warmup must be >= 0";
    if (!std::isfinite(traffic.arrival_rate())) return "the request rate must be finite";
    const double requests = traffic.arrival_rate() * (simulate.duration + simulate.warmup).seconds();
    if (requests > kMaxSimulatedRequests) {
      char buf[200];
      std::snprintf(buf, sizeof buf,
                    "%.3g s at %.4g requests/s is %.3g requests; the request-level simulation takes at most %.3g",
                    (simulate.duration + simulate.warmup).seconds(), traffic.arrival_rate(), requests,
                    kMaxSimulatedRequests);
      return buf;
    }
    return "";
  }
  void validate(config::Reader& r) {
    r.check(mean_decode_context >= 0, "mean_decode_context", "must be >= 0 (0: from the traffic)");
    r.check(simulate.duration > Duration::zero(), "simulate.duration", "must be > 0");
    r.check(simulate.warmup >= Duration::zero(), "simulate.warmup", "must be >= 0");
    r.check(kv_context >= 1, "kv_context", "must be >= 1 token");
    r.check(prefill.ep == prefill.nodes * hardware.gpus_per_node, "prefill.ep",
            "must equal prefill.nodes x hardware.gpus_per_node (one EP group per unit)");
    r.check(decode.ep == decode.nodes * hardware.gpus_per_node, "decode.ep",
            "must equal decode.nodes x hardware.gpus_per_node (one EP group per unit)");
    // Drafting needs the model's own MTP module (no separate draft model is modelled).
    const bool drafts = mtp.depth > 0 ||
                        std::any_of(search.mtp_depth.begin(), search.mtp_depth.end(), [](int x) { return x > 0; });
    r.check(!drafts || model.mtp_depth > 0, mtp.depth > 0 ? "mtp.depth" : "search.mtp_depth",
            "MTP drafting needs a model with an MTP module (model.mtp_depth is 0); use depth 0");
    r.check(!drafts || mtp.acceptance > 0, "mtp.acceptance",
            "MTP drafting (mtp.depth or search.mtp_depth > 0) needs mtp.acceptance > 0");
    for (const auto& [pool, key] : {std::pair{&prefill, "prefill.head_tp"}, std::pair{&decode, "decode.head_tp"}})
      r.check(hardware.gpus_per_node % pool->head_tp == 0, key,
              "must divide hardware.gpus_per_node (the head is split over NVLink inside a node)");
    // `codesim size` tries only whole nodes; a list written with none would
    // search nothing (the defaults are H800-sized: size says so if they miss).
    const int gpn = std::max(1, hardware.gpus_per_node);
    const config::Node* written = r.has("search") ? r.node().find("search") : nullptr;
    // (A list equal to the default is taken as the default: `codesim show`
    // writes the defaults out.)
    const SizeSearch defaults;
    for (const auto& [eps, key, dflt] : {std::tuple{&search.prefill_ep, "search.prefill_ep", &defaults.prefill_ep},
                                         std::tuple{&search.decode_ep, "search.decode_ep", &defaults.decode_ep}}) {
      if (!written || !written->is_map() || !written->find(std::string_view(key).substr(7)) || *eps == *dflt)
        continue;
      std::string listed;
      bool any = false;
      for (int e : *eps) {
        listed += (listed.empty() ? "" : ", ") + std::to_string(e);
        any = any || (e > 0 && e % gpn == 0);
      }
      r.check(eps->empty() || any, key,
              "none of " + listed + " is a multiple of hardware.gpus_per_node (" + std::to_string(gpn) +
                  "): every EP size must be whole nodes");
    }
  }
};

}  // namespace codesim::workloads
