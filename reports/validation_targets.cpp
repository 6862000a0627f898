// The built-in validation targets of `codesim validate`: published figures
// (shared/reference/deepseek-v3-published.md, T-numbers) and the function
// that recomputes each one from the bundled scenarios. See
// reports/README.md for how to add one. Targets are grouped by the layer
// that computes them; a target without `compute` is listed as "not modelled
// yet" until its layer exists.
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "models/counts.hpp"
#include "models/model_io.hpp"
#include "reports/validation.hpp"
#include "sim/strings.hpp"
#include "scenarios/evaluators.hpp"
#include "scenarios/sweep.hpp"
#include "scenarios/scenario.hpp"
#include "topology/cost.hpp"
#include "topology/generators.hpp"
#include "workloads/decode_limit.hpp"
#include "workloads/fabric_comm.hpp"
#include "workloads/schedule.hpp"
#include "workloads/serving_step.hpp"

namespace codesim::reports {

namespace {

bool load_model(const ValidationContext& ctx, const std::string& file, models::ModelSpec& spec,
                std::string& error) {
  config::Diagnostics d;
  if (models::load_model_spec(ctx.path("scenarios/models/" + file), {}, spec, d)) return true;
  error = d.str();
  return false;
}

bool load(const ValidationContext& ctx, const std::string& file, scenarios::Scenario& s, std::string& error) {
  config::Diagnostics d;
  if (scenarios::load_scenario(ctx.path(file), {}, s, d)) return true;
  error = d.str();
  return false;
}

// ---------------------------------------------------------------------------
// models/: KV cache, parameters, training FLOPs (T1-T6, T31)

void add_model_targets(ValidationRegistry& reg) {
  auto kv = [](std::string file) -> ValidationFn {
    return [file](const ValidationContext& ctx, double& sim, std::string& err) {
      models::ModelSpec m;
      if (!load_model(ctx, file, m, err)) return false;
      sim = static_cast<double>(models::kv_cache_bytes_per_token(m, models::KvPrecision::kBf16).count());
      return true;
    };
  };
  const std::string why_exact = "integer count of cached values x 2 B";
  reg.add({"T1", "MLA KV cache per token, BF16, DeepSeek-V3", "B", 70'272, "ISCA'25 Tab.1 [P]",
           Tolerance::exact(), why_exact, kv("deepseek-v3.yaml"), {}});
  reg.add({"T2/qwen-2.5-72b", "GQA KV cache per token, BF16, Qwen-2.5-72B", "B", 327'680, "ISCA'25 Tab.1 [P]",
           Tolerance::exact(), why_exact, kv("qwen-2.5-72b.yaml"), {}});
  reg.add({"T2/llama-3.1-405b", "GQA KV cache per token, BF16, LLaMA-3.1-405B", "B", 516'096,
           "ISCA'25 Tab.1 [P]", Tolerance::exact(), why_exact, kv("llama-3.1-405b.yaml"), {}});

  auto kv_ratio = [](std::string file) -> ValidationFn {
    return [file](const ValidationContext& ctx, double& sim, std::string& err) {
      models::ModelSpec m, v3;
      if (!load_model(ctx, file, m, err) || !load_model(ctx, "deepseek-v3.yaml", v3, err)) return false;
      sim = models::kv_cache_bytes_per_token(m, models::KvPrecision::kBf16) /
            models::kv_cache_bytes_per_token(v3, models::KvPrecision::kBf16);
      return true;
    };
  };
  const std::string why_ratio = "the multiplier is printed with 2 decimals";
  reg.add({"T3/qwen-2.5-72b", "KV cache multiplier vs DeepSeek-V3, Qwen-2.5-72B", "x", 4.66, "ISCA'25 Tab.1 [P]",
           Tolerance::absolute(0.01), why_ratio, kv_ratio("qwen-2.5-72b.yaml"), {}});
  reg.add({"T3/llama-3.1-405b", "KV cache multiplier vs DeepSeek-V3, LLaMA-3.1-405B", "x", 7.34,
           "ISCA'25 Tab.1 prints 7.28x; its own 516.096/70.272 = 7.344 [D]", Tolerance::absolute(0.01), why_ratio,
           kv_ratio("llama-3.1-405b.yaml"), {}});

  auto flops = [](std::string file) -> ValidationFn {
    return [file](const ValidationContext& ctx, double& sim, std::string& err) {
      models::ModelSpec m;
      if (!load_model(ctx, file, m, err)) return false;
      sim = models::train_flops_per_token(m, 4096).causal().count() / 1e9;
      return true;
    };
  };
  const std::string why_flops =
      "the paper's convention (6N + causal attention) is reproduced; 2 % covers norms, gates and rounding "
      "of the printed GFLOP";
  reg.add({"T4", "Training FLOPs per token, DeepSeek-V3, seq 4096, causal", "GFLOP", 250, "ISCA'25 Tab.2 [P]",
           Tolerance::relative(0.02), why_flops, flops("deepseek-v3.yaml"), {}});
  reg.add({"T5", "Non-causal / causal training FLOPs, DeepSeek-V3", "x", 432.0 / 385.0,
           "ISCA'25 Tab.4 (432/385 TFLOPS) [P]", Tolerance::relative(0.01),
           "ratio of two 3-digit published rates",
           [](const ValidationContext& ctx, double& sim, std::string& err) {
             models::ModelSpec m;
             if (!load_model(ctx, "deepseek-v3.yaml", m, err)) return false;
             const auto f = models::train_flops_per_token(m, 4096);
             sim = f.noncausal() / f.causal();
             return true;
           },
           {}});
  reg.add({"T6/deepseek-v2", "Training FLOPs per token, DeepSeek-V2, seq 4096", "GFLOP", 155, "ISCA'25 Tab.2 [P]",
           Tolerance::relative(0.02), why_flops, flops("deepseek-v2.yaml"), {}});
  reg.add({"T6/llama-3.1-405b", "Training FLOPs per token, LLaMA-3.1-405B, seq 4096", "GFLOP", 2448,
           "ISCA'25 Tab.2 [P]", Tolerance::relative(0.02), why_flops, flops("llama-3.1-405b.yaml"), {}});
  reg.add({"T6/qwen-2.5-72b", "Training FLOPs per token, Qwen-2.5-72B, seq 4096", "GFLOP", 394,
           "ISCA'25 Tab.2 [P]", Tolerance::relative(0.02), why_flops, flops("qwen-2.5-72b.yaml"),
           "6N + attention from the public Qwen2.5-72B config gives ~430-445 (reference Sec. 5 item 8)"});

  auto params = [](int64_t models::ParamCounts::*field) -> ValidationFn {
    return [field](const ValidationContext& ctx, double& sim, std::string& err) {
      models::ModelSpec m;
      if (!load_model(ctx, "deepseek-v3.yaml", m, err)) return false;
      sim = static_cast<double>(models::count_params(m).*field) / 1e9;
      return true;
    };
  };
  const std::string why_params = "published to 3-4 significant digits";
  reg.add({"T31/total", "DeepSeek-V3 total parameters (no MTP)", "B params", 671.03,
           "config_671B.json [D]; TR: 671B", Tolerance::relative(0.005), why_params,
           params(&models::ParamCounts::total), {}});
  reg.add({"T31/activated", "DeepSeek-V3 activated parameters excl. embedding", "B params", 36.63,
           "config_671B.json [D]; README: 36.7B", Tolerance::relative(0.005), why_params,
           params(&models::ParamCounts::activated_non_embedding), {}});
  reg.add({"T31/mtp", "DeepSeek-V3 MTP module unique parameters", "B params", 11.61,
           "config_671B.json [D]; README_WEIGHTS: 11.5B", Tolerance::relative(0.005), why_params,
           params(&models::ParamCounts::mtp_module), {}});
}

// ---------------------------------------------------------------------------
// workloads/decode_limit: the decode speed limit (T7-T9)

void add_decode_limit_targets(ValidationRegistry& reg) {
  enum class Q { kEpStep, kLayer, kTpot, kTokens };
  auto limit = [](std::string file, Q q) -> ValidationFn {
    return [file, q](const ValidationContext& ctx, double& sim, std::string& err) {
      scenarios::Scenario s;
      if (!load(ctx, file, s, err)) return false;
      if (!s.decode_limit) {
        err = file + " has no decode_limit section";
        return false;
      }
      const auto l = workloads::decode_speed_limit(*s.decode_limit);
      switch (q) {
        case Q::kEpStep: sim = l.ep_step / Microseconds(1); break;
        case Q::kLayer: sim = l.layer / Microseconds(1); break;
        case Q::kTpot: sim = l.tpot / Milliseconds(1); break;
        case Q::kTokens: sim = l.tokens_per_s; break;
      }
      return true;
    };
  };
  const std::string ib = "scenarios/paper/v3-decode-limit-ib.yaml";
  const std::string nvl = "scenarios/paper/v3-decode-limit-nvl72.yaml";
  const std::string src = "ISCA'25 Sec. 2.3.2 [P]";
  const std::string exact = "closed form on integer picoseconds, GB = 1e9, 7K = 7000";
  reg.add({"T7", "EP all-to-all time per step over CX7 IB", "us", 120.96, src, Tolerance::exact(), exact,
           limit(ib, Q::kEpStep), {}});
  reg.add({"T8/layer", "Decode time per layer (2 micro-batches), IB", "us", 241.92, src, Tolerance::exact(), exact,
           limit(ib, Q::kLayer), {}});
  reg.add({"T8/tpot", "Decode TPOT limit (61 layers), IB", "ms", 14.76, src, Tolerance::absolute(0.005),
           "printed with 2 decimals (14.757 ms)", limit(ib, Q::kTpot), {}});
  reg.add({"T8/tokens", "Decode speed limit, IB", "tok/s", 67, src, Tolerance::absolute(1),
           "printed as an integer (1/14.757 ms = 67.8)", limit(ib, Q::kTokens), {}});
  reg.add({"T9/step", "EP all-to-all time per step, GB200 NVL72 (900 GB/s)", "us", 6.72, src, Tolerance::exact(),
           exact, limit(nvl, Q::kEpStep), {}});
  reg.add({"T9/tpot", "Decode TPOT limit, GB200 NVL72", "ms", 0.82, src, Tolerance::absolute(0.005),
           "printed with 2 decimals (0.820 ms)", limit(nvl, Q::kTpot), {}});
  reg.add({"T9/tokens", "Decode speed limit, GB200 NVL72", "tok/s", 1200, src, Tolerance::relative(0.02),
           "printed as \"~1200\" (2 significant digits; 1/0.81984 ms = 1219.8)", limit(nvl, Q::kTokens), {}});
}

// ---------------------------------------------------------------------------
// topology/: Table 3 sizes and costs (T10, T11)

// Each Table 3 fabric is built once per run, whichever rows ask for it.
struct Table3Figures {
  int64_t endpoints = 0, switches = 0, switch_links = 0;
  double fabric_usd = 0;
};

class Table3Cache {
 public:
  bool get(const ValidationContext& ctx, const std::string& file, Table3Figures& out, std::string& err) {
    auto it = cache_.find(file);
    if (it == cache_.end()) {
      scenarios::Scenario s;
      if (!load(ctx, file, s, err)) return false;
      if (!s.cluster) {
        err = file + " has no cluster section";
        return false;
      }
      const topology::Fabric f = topology::build_fabric(*s.cluster, s.name);
      Table3Figures fig;
      const auto& g = f.graph;
      auto is_switch = [&](topology::VertexId v) { return g[v].kind == topology::DeviceKind::kSwitch; };
      for (auto [v, vend] = boost::vertices(g); v != vend; ++v) fig.switches += is_switch(*v);
      for (auto [e, eend] = boost::edges(g); e != eend; ++e) {
        const bool a = is_switch(boost::source(*e, g)), b = is_switch(boost::target(*e, g));
        if (a && b) ++fig.switch_links;
        const auto na = g[boost::source(*e, g)].kind, nb = g[boost::target(*e, g)].kind;
        if ((a && nb == topology::DeviceKind::kNic) || (b && na == topology::DeviceKind::kNic)) ++fig.endpoints;
      }
      std::string price_error;
      const auto cost = topology::price_fabric(f, s.cluster->price_list, price_error);
      if (!cost) {
        err = price_error;
        return false;
      }
      fig.fabric_usd = cost->fabric_usd();
      it = cache_.emplace(file, fig).first;
    }
    out = it->second;
    return true;
  }

 private:
  std::map<std::string, Table3Figures> cache_;
};

void add_topology_targets(ValidationRegistry& reg) {
  auto cache = std::make_shared<Table3Cache>();
  struct Row {
    const char* key;
    const char* name;
    int64_t endpoints, switches, links;
    double cost_musd, per_endpoint_kusd;
  };
  // ISCA'25 Table 3 [P] (radix-64 switches).
  const Row rows[] = {{"ft2", "FT2", 2'048, 96, 2'048, 9, 4.39},
                      {"mpft", "MPFT", 16'384, 768, 16'384, 72, 4.39},
                      {"ft3", "FT3", 65'536, 5'120, 131'072, 491, 7.5},
                      {"slimfly", "Slim Fly", 32'928, 1'568, 32'928, 146, 4.4},
                      {"dragonfly", "Dragonfly", 261'632, 16'352, 384'272, 1'522, 5.8}};
  enum class Q { kEndpoints, kSwitches, kLinks, kCost, kPerEndpoint };
  auto fn = [cache](std::string file, Q q) -> ValidationFn {
    return [cache, file, q](const ValidationContext& ctx, double& sim, std::string& err) {
      Table3Figures f;
      if (!cache->get(ctx, file, f, err)) return false;
      switch (q) {
        case Q::kEndpoints: sim = static_cast<double>(f.endpoints); break;
        case Q::kSwitches: sim = static_cast<double>(f.switches); break;
        case Q::kLinks: sim = static_cast<double>(f.switch_links); break;
        case Q::kCost: sim = f.fabric_usd / 1e6; break;
        case Q::kPerEndpoint: sim = f.endpoints ? f.fabric_usd / static_cast<double>(f.endpoints) / 1e3 : 0; break;
      }
      return true;
    };
  };
  const std::string src = "ISCA'25 Tab.3 [P]";
  const std::string why_count = "counted on the generated graph (links = switch-to-switch cables)";
  const std::string why_cost =
      "unit prices are fitted to Table 3 (scenarios/prices/default.yaml); the paper's own figures scatter ~2-3 % "
      "around any single switch + cable price";
  for (const auto& r : rows) {
    const std::string file = std::string("scenarios/paper/table3-") + r.key + ".yaml";
    const std::string id = std::string("T10/") + r.key;
    const std::string n = r.name;
    reg.add({id + "/endpoints", n + " endpoints", "", static_cast<double>(r.endpoints), src, Tolerance::exact(),
             why_count, fn(file, Q::kEndpoints), {}});
    reg.add({id + "/switches", n + " switches", "", static_cast<double>(r.switches), src, Tolerance::exact(),
             why_count, fn(file, Q::kSwitches), {}});
    reg.add({id + "/links", n + " switch-to-switch links", "", static_cast<double>(r.links), src,
             Tolerance::exact(), why_count, fn(file, Q::kLinks), {}});
  }
  for (const auto& r : rows) {
    const std::string file = std::string("scenarios/paper/table3-") + r.key + ".yaml";
    const std::string id = std::string("T11/") + r.key;
    const std::string n = r.name;
    reg.add({id + "/cost", n + " fabric cost", "M$", r.cost_musd, src, Tolerance::relative(0.03), why_cost,
             fn(file, Q::kCost), {}});
    reg.add({id + "/per-endpoint", n + " fabric cost per endpoint", "k$", r.per_endpoint_kusd, src,
             Tolerance::relative(0.03), why_cost, fn(file, Q::kPerEndpoint), {}});
  }
}

// ---------------------------------------------------------------------------
// DeepEP's normal internode kernels in isolation (T17): its benchmark
// (tests/test_internode.py: 4,096 tokens per GPU, hidden 7,168, 256 experts,
// top-4 node groups, top-8, FP8 dispatch, BF16 combine) replayed on the flow
// engine over H800 nodes on an 8-plane MPFT, at the catalog's rates (NIC
// 40 GB/s effective, ISCA'25 4.3; NVLink 160 GB/s achievable, TR 3.2.2) and
// with no kernel efficiency: a prediction, not a fit (the training step's
// deepep_*_fraction are fitted to train.json, where the kernels share the GPU).

// H800 nodes (catalog preset) on an 8-plane MPFT of Quantum-2 switches,
// adaptive routing, links at the catalog's rates.
workloads::FabricComm deepep_cluster(int nodes) {
  topology::ClusterSpec c;
  c.node = "h800";
  topology::seed_node_preset(c);
  c.nodes = std::max(2, nodes);
  c.fabric.kind = topology::FabricKind::kMpft;
  c.fabric.planes = 8;
  c.fabric.switch_model = "quantum2";
  topology::seed_switch_preset(c.fabric);
  workloads::FabricComm fc;
  fc.fabric = std::make_shared<const topology::Fabric>(topology::build_fabric(c, "deepep-bench"));
  fc.routing.policy = topology::RoutingPolicy::kAdaptive;
  fc.nic_effective_per_port = c.node_spec.nic_spec.effective_bandwidth;
  fc.nvlink_achievable = c.node_spec.gpu_spec.nvlink_achievable;
  return fc;
}

// f(ep), computed once per ep for all the rows (and threads) that read it.
template <class R, class F>
std::function<R(int)> once_per_ep(F f) {
  struct Cache {
    std::mutex mu;
    std::map<int, R> by_ep;
  };
  auto cache = std::make_shared<Cache>();
  return [cache, f](int ep) {
    std::lock_guard lock(cache->mu);
    if (auto it = cache->by_ep.find(ep); it != cache->by_ep.end()) return it->second;
    return cache->by_ep[ep] = f(ep);
  };
}

void add_deepep_targets(ValidationRegistry& reg) {
  const auto bench = once_per_ep<workloads::DeepEpBenchmark>([](int ep) {
    return workloads::deepep_internode_benchmark(deepep_cluster(ep / 8), ep, 8, 4096, 7168, 256, 8,
                                                 std::min(ep / 8, 4));
  });
  const std::string src = "DeepEP README (Apr 2025) [P]";
  const std::string why = "T17's tolerance: kernel benchmarks repeat to a few percent";
  const std::string nvlink_gap =
      "2 nodes: codesim is NVLink-bound (each token's copies forwarded at the 160 GB/s achievable); DeepEP's "
      "internode kernel forwards at ~125 GB/s (1.40 ms measured against 1.08 ms modelled)";
  const std::string nic_gap =
      "NIC-bound: codesim's NIC runs at ISCA'25's 'exceeding 40 GB/s', a lower bound; DeepEP's Apr-2025 kernels "
      "move ~43-45 GB/s of RDMA at EP32-64";
  struct Row {
    int ep;
    bool dispatch;
    double published;
  };
  const Row rows[] = {{16, true, 43}, {16, false, 43}, {32, true, 58}, {32, false, 57}, {64, true, 51}, {64, false, 50}};
  for (const Row& r : rows) {
    const std::string ep = std::to_string(r.ep);
    reg.add({"T17/ep" + ep + (r.dispatch ? "-dispatch" : "-combine"),
             "DeepEP internode EP" + ep + (r.dispatch ? " dispatch (FP8)" : " combine (BF16)") +
                 " bandwidth, as its test counts RDMA bytes",
             "GB/s", r.published, src, Tolerance::relative(0.10), why,
             [bench, r](const ValidationContext&, double& sim, std::string&) {
               const auto b = bench(r.ep);
               sim = r.dispatch ? b.dispatch_GBps : b.combine_GBps;
               return true;
             },
             r.ep == 16 ? nvlink_gap : nic_gap});
  }

  // T18: the low-latency kernels (tests/test_low_latency.py: 128 tokens per
  // GPU, hidden 7,168, top-8 of 256, FP8 dispatch, BF16 combine), the
  // README's current (Jun-2025) table, whose kernels use NVLink inside a
  // node, timed as codesim's decode pools time their all-to-all
  // (workloads::deepep_low_latency, on the day-6 scenario's H800 MPFT
  // hardware and serving calibration). EP8 is a calibration input (the
  // NVLink path's fixed cost, a2a_nvlink_overhead, is fitted to it), and
  // the rate of the RDMA path comes from EP128/EP256's bandwidth column;
  // EP16-EP64 mix both paths and check the model.
  struct LowLatencyCache {
    std::mutex mu;
    std::optional<workloads::ServingSpec> spec;
    std::string error;
    std::map<int, workloads::DeepEpLatency> by_ep;
  };
  auto ll_cache = std::make_shared<LowLatencyCache>();
  const std::string day6 = "scenarios/paper/v3-serve-day6.yaml";
  auto ll = [ll_cache, day6](const ValidationContext& ctx, int ep, workloads::DeepEpLatency& out, std::string& err) {
    std::lock_guard lock(ll_cache->mu);
    if (!ll_cache->spec && ll_cache->error.empty()) {
      scenarios::Scenario sc;
      config::Diagnostics d;
      if (scenarios::load_scenario(ctx.path(day6), {}, sc, d) && sc.serving)
        ll_cache->spec = *sc.serving;
      else
        ll_cache->error = d.empty() ? day6 + ": no serving section" : d.str();
    }
    if (!ll_cache->spec) {
      err = ll_cache->error;
      return false;
    }
    auto it = ll_cache->by_ep.find(ep);
    if (it == ll_cache->by_ep.end()) {
      try {
        it = ll_cache->by_ep.emplace(ep, workloads::deepep_low_latency(*ll_cache->spec, ep, 128)).first;
      } catch (const std::exception& e) {
        err = e.what();
        return false;
      }
    }
    out = it->second;
    return true;
  };
  const std::string ll_src = "DeepEP README (Jun 2025) [P]";
  const std::string ll_why = "T18's tolerance: microsecond kernels repeat to ~10%";
  const struct {
    int ep;
    double dispatch_us, combine_us;
  } ll_rows[] = {{8, 77, 114}, {16, 118, 195}, {32, 155, 273}, {64, 173, 314}, {128, 192, 369}, {256, 194, 360}};
  for (const auto& r : ll_rows)
    for (bool dispatch : {true, false}) {
      const std::string ep = std::to_string(r.ep);
      std::string role;
      if (r.ep == 8) role = " (calibration input: a2a_nvlink_overhead)";
      if (r.ep >= 128) role = " (calibration input: decode_a2a_efficiency)";
      reg.add({"T18/ep" + ep + (dispatch ? "-dispatch" : "-combine"),
               "DeepEP low-latency EP" + ep + (dispatch ? " dispatch (FP8)" : " combine (BF16)") +
                   " latency, 128 tokens per GPU" + role,
               "us", dispatch ? r.dispatch_us : r.combine_us, ll_src, Tolerance::relative(0.15), ll_why,
               [ll, ep = r.ep, dispatch](const ValidationContext& ctx, double& sim, std::string& err) {
                 workloads::DeepEpLatency b;
                 if (!ll(ctx, ep, b, err)) return false;
                 sim = (dispatch ? b.dispatch : b.combine) / Microseconds(1);
                 return true;
               },
               {}});
    }
}

// ---------------------------------------------------------------------------
// Published figures no layer computes yet: listed so the table is honest.
// Replace the row with a computed one when its layer lands.

void add_not_modelled(ValidationRegistry& reg) {
  struct Row {
    const char* id;
    const char* quantity;
    const char* unit;
    double published;
    const char* source;
    Tolerance tol;
  };
  const Row rows[] = {
      {"T21/ib-cross-leaf", "64 B latency, IB cross leaf (simulated path)", "us", 3.7, "ISCA'25 Tab.5 [P]",
       Tolerance::relative(0.10)},
  };
  for (const auto& r : rows)
    reg.add({r.id, r.quantity, r.unit, r.published, r.source, r.tol, "", nullptr, {}});
}

// ---------------------------------------------------------------------------
// Training (ISCA'25 Table 4, TR Table 1) and serving (day 6): computed by the
// same fast models the sweeps use (scenarios/evaluators.cpp), from the
// bundled paper scenarios.

// One evaluation per (mode, scenario file) per process: several targets read
// metrics of the same run (the full training step takes seconds).
scenarios::PointResult evaluate_cached(const std::string& mode, const std::string& path, std::string& err) {
  static std::mutex mu;
  static std::map<std::pair<std::string, std::string>, scenarios::PointResult> cache;
  std::lock_guard lock(mu);
  const auto key = std::pair{mode, path};
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  scenarios::register_builtin_evaluators();
  const scenarios::Evaluator* eval = scenarios::find_evaluator(mode);
  config::Node tree;
  config::Diagnostics d;
  if (!eval || !config::load_file(path, tree, d)) {
    err = eval ? d.str() : "no evaluator " + mode;
    return {};
  }
  return cache[key] = (*eval)(tree, path);
}

ValidationFn metric_of(std::string mode, std::string file, std::string metric, double scale) {
  return [=](const ValidationContext& ctx, double& sim, std::string& err) {
    scenarios::PointResult r = evaluate_cached(mode, ctx.path(file), err);
    if (!err.empty()) return false;
    auto it = r.metrics.find(metric);
    if (r.status != scenarios::PointResult::Status::kOk || it == r.metrics.end()) {
      err = r.reason.empty() ? "no metric " + metric : r.reason;
      return false;
    }
    sim = it->second * scale;
    return true;
  };
}

void add_training_and_serving_targets(ValidationRegistry& reg) {
  const std::string train = "scenarios/paper/v3-train-2048-h800-mpft.yaml";
  const std::string serve = "scenarios/paper/v3-serve-day6.yaml";
  const std::string why_train =
      "issue tolerance: step/throughput 5%; the compute model's kernel fits are within 15% of train.json, "
      "and the step sums thousands of them, so errors average out";
  reg.add({"T12/step-time", "V3 training step time, 2048 H800, MPFT", "s", 19.926, "ISCA'25 Tab.4 [P]",
           Tolerance::relative(0.05), why_train, metric_of("train-full", train, "step_time_s", 1), {}});
  reg.add({"T12/tokens-per-day", "V3 training throughput, 2048 H800, MPFT", "B tok/day", 272.80,
           "ISCA'25 Tab.4 [P]", Tolerance::relative(0.05), why_train,
           metric_of("train-full", train, "tokens_per_day", 1e-9), {}});
  reg.add({"T12/mfu-causal", "V3 training MFU, causal (BF16 peak)", "%", 38.94, "ISCA'25 Tab.4 [P]",
           Tolerance::absolute(2.0), "issue tolerance: 2 points", metric_of("train-full", train, "mfu_causal", 100), {}});
  reg.add({"T12/mfu-noncausal", "V3 training MFU, non-causal (BF16 peak)", "%", 43.73, "ISCA'25 Tab.4 [P]",
           Tolerance::absolute(2.0), "issue tolerance: 2 points",
           metric_of("train-full", train, "mfu_noncausal", 100), {}});
  reg.add({"T15", "H800 GPU-hours per 1T training tokens", "K GPU-h", 180, "DeepSeek-V3 TR Tab.1 [P]",
           Tolerance::relative(0.05), why_train,
           metric_of("train-full", train, "gpu_hours_per_trillion_tokens", 1e-3), {}});
  // ISCA'25 Table 4's components of one step on pipeline rank 0 (the mapping
  // to DualPipe's per-rank totals is an interpretation: reference Sec. 5
  // item 11). opt misses its band (README's gaps say why); 1W keeps a gap
  // text for the stage that holds the head, should it fall out again.
  const std::string why_t4 = "issue tolerance 15%: each component sums 15-100 chunks of per-kernel estimates (T29: 15%)";
  struct T4 {
    const char* id;
    const char* what;
    const char* metric;
    double published;
    const char* gap;
  };
  const T4 t4[] = {
      {"T12/table4-1f", "Table 4 1F: standalone forward chunks, rank 0", "table4_1f_s", 1.13, ""},
      {"T12/table4-bubble", "Table 4 bubble: rank 0 idle", "table4_bubble_s", 2.06, ""},
      {"T12/table4-1b", "Table 4 1B: standalone backward chunks, rank 0", "table4_1b_s", 1.99, ""},
      {"T12/table4-1w", "Table 4 1W: standalone weight-gradient chunks, rank 0", "table4_1w_s", 0.48,
       "7 of rank 0's 15 W chunks are of the stage holding the output head and the MTP module (BF16 head "
       "weight gradients twice); how DeepSeek split the last stage is not published"},
      {"T12/table4-1f1b", "Table 4 1F1B: overlapped F&B pairs, rank 0", "table4_1f1b_s", 13.95, ""},
      {"T12/table4-opt", "Table 4 opt: DP sync + optimizer after the pipeline", "table4_opt_s", 0.29,
       "modelled as the DP reduce-scatter/all-gather over both DualPipe copies plus AdamW; nothing published "
       "says what else the 0.29 s holds"},
  };
  for (const T4& c : t4)
    reg.add({c.id, c.what, "s", c.published, "ISCA'25 Tab.4 [P]", Tolerance::relative(0.15), why_t4,
             metric_of("train-full", train, c.metric, 1), c.gap});
  reg.add({"T26/f-and-b", "DualPipe overlapped F&B pairs, half-rank 0 (PP16, 120 micro-batches)", "", 97,
           "dualpipe.py [D]", Tolerance::exact(), "integer arithmetic of dualpipe.py step()",
           [](const ValidationContext&, double& sim, std::string&) {
             const workloads::PipelineProgram p =
                 workloads::build_pipeline(workloads::PipelineSchedule::kDualPipe, 16, 120);
             sim = workloads::count_ops(p.ops[0]).fb;
             return true;
           },
           {}});
  reg.add({"T29/chunk", "Overlapped F&B chunk pair, 4 MoE layers (pipeline rank 4)", "ms", 128.5,
           "profile-data train.json [D]", Tolerance::relative(0.15), "T29 tolerance: 15% per kernel class",
           metric_of("train-full", train, "fb_pair_rank4_ms", 1), {}});
  // train.json's compute-stream kernels of one MoE layer, per pass (the
  // trace-import phase table: F = attn(F) + mlp(F), B = attn(B) + mlp(B),
  // W = attn(W) + the union of mlp(W)'s two GEMM streams + its casts).
  const struct {
    const char* id;
    const char* what;
    const char* metric;
    double published;
  } t29_pass[] = {
      {"T29/compute-f", "MoE layer compute kernels, forward (incl. casts, permutes, norms)", "moe_compute_f_ms", 8.973},
      {"T29/compute-b", "MoE layer compute kernels, input gradient (incl. recomputation)", "moe_compute_b_ms", 14.647},
      {"T29/compute-w", "MoE layer compute kernels, weight gradient", "moe_compute_w_ms", 7.452},
      // DeepEP's internode kernels on stream 27, by train.json phase
      // (trace-import): dispatch(F) and combine(F) run the forward
      // dispatch and combine; dispatch(B), the dispatch's gradient, runs a
      // combine kernel (BF16); combine(B), the combine's gradient, an FP8
      // dispatch kernel. Calibrated on the mean of each kernel's F and B
      // (deepep_*_fraction), so each row checks the F/B split.
      {"T29/deepep-dispatch-f", "DeepEP kernel of dispatch(F): FP8 dispatch", "moe_dispatch_f_ms", 4.346},
      {"T29/deepep-combine-f", "DeepEP kernel of combine(F): BF16 combine", "moe_combine_f_ms", 5.994},
      {"T29/deepep-dispatch-b", "DeepEP kernel of dispatch(B): BF16 combine", "moe_dispatch_b_ms", 6.368},
      {"T29/deepep-combine-b", "DeepEP kernel of combine(B): FP8 dispatch", "moe_combine_b_ms", 3.405},
  };
  for (const auto& c : t29_pass)
    reg.add({c.id, c.what, "ms", c.published, "profile-data train.json [D]", Tolerance::relative(0.15),
             "T29 tolerance: 15% per kernel class", metric_of("train-full", train, c.metric, 1), {}});
  const std::string why_serve =
      "issue tolerance 15%: the day-6 figures are 24-hour averages of a fleet whose load varied (peak 278 "
      "nodes), and request lengths are not published";
  // T23's per-node figures are fleet averages (the day's tokens over the
  // nodes in use, T24 divides by them): the `serve` evaluator's load per
  // node of the pools as the scenario counts them (search.units: following,
  // whole units over a varying load, half a unit idle per pool).
  reg.add({"T22", "Inference fleet cost per day (the day-6 pools sized to the load, $2/GPU-h)", "$", 87'072,
           "open-infra-index day 6 [P]", Tolerance::relative(0.15), why_serve,
           metric_of("serve", serve, "cost_per_day_usd", 1), {}});
  reg.add({"T23/prefill", "Input tokens/s per prefill node (incl. cache hits, fleet average)", "tok/s", 73'700,
           "open-infra-index day 6 [P]", Tolerance::relative(0.15), why_serve,
           metric_of("serve", serve, "prefill_input_tokens_per_s_per_node_average", 1), {}});
  reg.add({"T23/decode", "Output tokens/s per decode node (fleet average)", "tok/s", 14'800,
           "open-infra-index day 6 [P]", Tolerance::relative(0.15), why_serve,
           metric_of("serve", serve, "decode_tokens_per_s_per_node_average", 1), {}});
  reg.add({"T24", "Nodes for the day-6 load (time-averaged)", "nodes", 226.75, "open-infra-index day 6 [P]",
           Tolerance::relative(0.15), why_serve, metric_of("serve", serve, "total_nodes", 1), {}});
  // MTP depth 1 (T27): decode tokens/s with / without, at the acceptances the
  // sources give. Neither gives batch or context; codesim checks where the
  // step is bound by weight reads (4 requests/GPU, 1K context) and says in
  // README's gaps what it gives at the day-6 operating point.
  for (double a : {0.80, 0.85, 0.90}) {
    reg.add({sim::strprintf("T27/a%.2f", a),
             sim::strprintf("MTP decode speed-up, acceptance %.2f (4 requests/GPU, 1K context)", a), "x", 1.8,
             "ISCA'25 2.3.3, TR 5.4.3 [P]", Tolerance::absolute(0.1),
             "T27 band 0.1x; at a = 0.8 the ceiling 1 + a is the target itself",
             [serve, a](const ValidationContext& ctx, double& sim, std::string& err) {
               scenarios::Scenario sc;
               config::Diagnostics d;
               if (!scenarios::load_scenario(ctx.path(serve), {}, sc, d) || !sc.serving) {
                 err = d.empty() ? "no serving section" : d.str();
                 return false;
               }
               const workloads::StepModel m(*sc.serving, sc.serving->decode, false);
               const double t0 = m.decode(4, 1024, 0).total.seconds();
               const double t1 = m.decode(4, 1024, 1).total.seconds();
               sim = workloads::StepModel::accepted_per_step(1, a) * t0 / t1;
               return true;
             },
             {}});
  }
}

}  // namespace

void register_builtin_targets(ValidationRegistry& reg) {
  add_training_and_serving_targets(reg);
  add_model_targets(reg);
  add_decode_limit_targets(reg);
  add_topology_targets(reg);
  add_deepep_targets(reg);
  add_not_modelled(reg);
}

}  // namespace codesim::reports
