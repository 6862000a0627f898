#include "models/profiler_trace.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "sim/config.hpp"
#include "sim/units.hpp"

namespace codesim::models {

namespace {

using Json = nlohmann::json;

bool has(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

// Chrome traces give microseconds since the epoch (~1.7e15, possibly
// fractional); codesim keeps picoseconds relative to the first GPU activity.
// A timestamp is kept as whole microseconds plus picoseconds so that the
// subtraction happens before scaling (1.7e15 us is 1.7e21 ps: past int64).
struct Stamp {
  int64_t us = 0;
  int64_t ps = 0;  // [0, 1e6)
  static Stamp of(const Json& j) {
    if (j.is_number_integer() || j.is_number_unsigned()) return {j.get<int64_t>(), 0};
    const double v = j.get<double>(), whole = std::floor(v);
    return {static_cast<int64_t>(whole), std::llround((v - whole) * 1e6)};
  }
  int64_t minus(const Stamp& o) const { return (us - o.us) * 1'000'000 + (ps - o.ps); }
  bool operator<(const Stamp& o) const { return us != o.us ? us < o.us : ps < o.ps; }
};
int64_t us_to_ps(double us) { return std::llround(us * 1e6); }

double number_or(const Json& j, const char* key, double fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}

std::array<int, 3> dim3(const Json& args, const char* key) {
  std::array<int, 3> d{0, 0, 0};
  auto it = args.find(key);
  if (it == args.end() || !it->is_array()) return d;
  for (size_t i = 0; i < 3 && i < it->size(); ++i)
    if ((*it)[i].is_number()) d[i] = (*it)[i].get<int>();
  return d;
}

OpType op_type_of(KernelClass c) {
  switch (c) {
    case KernelClass::kFlashAttnFwd:
    case KernelClass::kFlashAttnBwd:
      return OpType::kAttention;
    case KernelClass::kMoeGroupedGemm:
      return OpType::kGroupedGemm;
    case KernelClass::kFp8Gemm:
    case KernelClass::kWeightGradGemm:
    case KernelClass::kBf16Gemm:
      return OpType::kGemm;
    case KernelClass::kEpDispatch:
      return OpType::kDispatch;
    case KernelClass::kEpCombine:
      return OpType::kCombine;
    case KernelClass::kNorm:
      return OpType::kNorm;
    case KernelClass::kRope:
      return OpType::kRope;
    case KernelClass::kActivation:
      return OpType::kActivation;
    case KernelClass::kRouter:
      return OpType::kRouter;
    default:
      return OpType::kElementwise;
  }
}

}  // namespace

KernelClass classify_kernel(std::string_view n) {
  // Order matters: the most specific patterns first.
  if (has(n, "FlashAttnBwdPreprocess") || has(n, "FlashAttnBwdPostprocess") ||
      has(n, "flash_bwd_dot_do_o") || has(n, "flash_bwd_convert"))
    return KernelClass::kFlashAttnBwdAux;
  if (has(n, "FlashAttnBwd") || has(n, "flash_bwd")) return KernelClass::kFlashAttnBwd;
  if (has(n, "flash::compute_attn") || has(n, "Flash_fwd") || has(n, "flash_fwd") ||
      has(n, "FlashAttnFwd"))
    return KernelClass::kFlashAttnFwd;
  if (has(n, "dpsk::ep::") || has(n, "deep_ep::")) {
    if (has(n, "notify") || has(n, "get_dispatch_layout")) return KernelClass::kEpNotify;
    if (has(n, "::dispatch<") || has(n, "::dispatch(")) return KernelClass::kEpDispatch;
    if (has(n, "::combine<") || has(n, "::combine(")) return KernelClass::kEpCombine;
    return KernelClass::kOther;
  }
  if (has(n, "grouped_gemm::cuda::utils::transpose")) return KernelClass::kCast;
  if (has(n, "dpsk::grouped_gemm") || has(n, "deep_gemm")) {
    if (has(n, "m_grouped")) return KernelClass::kMoeGroupedGemm;
    if (has(n, "_acc::") || has(n, "_acc>")) return KernelClass::kWeightGradGemm;
    return KernelClass::kFp8Gemm;
  }
  if (has(n, "gemm") && (has(n, "bf16") || has(n, "xmma") || has(n, "cutlass")))
    return KernelClass::kBf16Gemm;
  if (has(n, "layer_norm") || has(n, "rms_norm") || has(n, "rmsnorm")) return KernelClass::kNorm;
  if (has(n, "rotary")) return KernelClass::kRope;
  if (has(n, "swiglu")) return KernelClass::kActivation;  // before "cast": swiglu_and_..._cast
  if (has(n, "cast") || has(n, "transpose")) return KernelClass::kCast;
  if (has(n, "topk") || has(n, "sigmoid") || has(n, "unique_group_indices") ||
      has(n, "aux_fi"))
    return KernelClass::kRouter;
  if (has(n, "expand_to_fused") || has(n, "reduce_fused") || has(n, "get_fused_mapping") ||
      has(n, "count_expert"))
    return KernelClass::kMoePermute;
  if (has(n, "at::native") || has(n, "_copy_tensor") || has(n, "elementwise"))
    return KernelClass::kElementwise;
  return KernelClass::kOther;
}

bool parse_profiler_trace(std::string_view text, std::string_view name, ProfileTrace& out,
                          std::string& error) {
  out = ProfileTrace{};
  out.file = std::string(name);
  Json root;
  try {
    root = Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    error = std::string(name) + ": not valid JSON: " + e.what();
    return false;
  }
  if (!root.is_object() || !root.contains("traceEvents") || !root["traceEvents"].is_array()) {
    error = std::string(name) +
            ": /traceEvents: expected an array of Chrome trace events (a PyTorch profiler "
            "export_chrome_trace file)";
    return false;
  }
  if (root.contains("traceName") && root["traceName"].is_string())
    out.trace_name = root["traceName"].get<std::string>();
  if (root.contains("deviceProperties") && root["deviceProperties"].is_array() &&
      !root["deviceProperties"].empty()) {
    const Json& d = root["deviceProperties"][0];
    if (d.contains("name") && d["name"].is_string()) out.device_name = d["name"].get<std::string>();
    out.num_sms = static_cast<int>(number_or(d, "numSms", 0));
  }
  if (root.contains("distributedInfo") && root["distributedInfo"].is_object())
    out.world_size = static_cast<int>(number_or(root["distributedInfo"], "world_size", 0));

  struct Raw {
    std::string name;
    KernelClass cls;
    int stream;
    Stamp start;
    int64_t dur_ps;
    std::array<int, 3> grid, block;
    int64_t correlation;
  };
  std::vector<Raw> gpu;
  std::unordered_map<int64_t, Stamp> launch_ps;  // correlation -> host launch time
  struct Ann {
    std::string name;
    Stamp start;
    int64_t dur_ps;
  };
  std::vector<Ann> anns;

  const Json& events = root["traceEvents"];
  for (size_t i = 0; i < events.size(); ++i) {
    const Json& e = events[i];
    if (!e.is_object()) continue;
    const auto cat_it = e.find("cat");
    if (cat_it == e.end() || !cat_it->is_string()) continue;
    const std::string cat = cat_it->get<std::string>();
    const bool gpu_event = cat == "kernel" || cat == "gpu_memcpy" || cat == "gpu_memset";
    const bool needed = gpu_event || cat == "cuda_runtime" || cat == "cuda_driver" ||
                        cat == "user_annotation";
    if (!needed || e.value("ph", "") != "X") continue;
    const std::string where =
        std::string(name) + ": /traceEvents/" + std::to_string(i) + " (" + cat + ")";
    if (!e.contains("ts") || !e["ts"].is_number() || !e.contains("dur") || !e["dur"].is_number()) {
      error = where + ": expected numeric 'ts' and 'dur' (microseconds)";
      return false;
    }
    // A duration is >= 0 and inside the picosecond clock (kMaxSeconds).
    if (const double d = e["dur"].get<double>(); !(d >= 0 && d < kMaxSeconds * 1e6)) {
      error = where + ": /dur: expected a duration in [0, 9e12) microseconds, got " + e["dur"].dump();
      return false;
    }
    const Stamp ts = Stamp::of(e["ts"]);
    const int64_t dur = us_to_ps(e["dur"].get<double>());
    const std::string ename = e.value("name", "");
    const Json args = e.contains("args") && e["args"].is_object() ? e["args"] : Json::object();
    if (gpu_event) {
      if (!args.contains("stream") || !args["stream"].is_number()) {
        error = where + ": /args/stream: expected the CUDA stream id of a GPU event";
        return false;
      }
      const KernelClass cls = cat == "gpu_memcpy"   ? KernelClass::kMemcpy
                              : cat == "gpu_memset" ? KernelClass::kMemset
                                                    : classify_kernel(ename);
      gpu.push_back({ename, cls, args["stream"].get<int>(), ts, dur, dim3(args, "grid"),
                     dim3(args, "block"),
                     static_cast<int64_t>(number_or(args, "correlation", -1))});
    } else if (cat == "user_annotation") {
      anns.push_back({ename, ts, dur});
    } else if (args.contains("correlation") && args["correlation"].is_number()) {
      launch_ps[args["correlation"].get<int64_t>()] = ts;
    }
  }
  if (gpu.empty()) {
    error = std::string(name) + ": no GPU kernels (cat \"kernel\") in /traceEvents";
    return false;
  }
  std::sort(gpu.begin(), gpu.end(), [](const Raw& a, const Raw& b) {
    return a.start < b.start || (!(b.start < a.start) && a.stream < b.stream);
  });
  const Stamp origin = gpu.front().start;

  std::sort(anns.begin(), anns.end(),
            [](const Ann& a, const Ann& b) { return a.start < b.start; });
  std::unordered_map<std::string, int> occurrences;
  for (const Ann& a : anns)
    out.annotations.push_back({a.name, occurrences[a.name]++, Time::from_ps(a.start.minus(origin)),
                               Duration::from_ps(a.dur_ps)});

  for (const Raw& r : gpu) {
    ProfiledKernel k;
    k.name = r.name;
    k.cls = r.cls;
    k.stream = r.stream;
    k.start = Time::from_ps(r.start.minus(origin));
    k.duration = Duration::from_ps(r.dur_ps);
    k.grid = r.grid;
    k.block = r.block;
    auto it = launch_ps.find(r.correlation);
    if (it != launch_ps.end()) {
      // Innermost annotation containing the launch: the shortest that contains it.
      const int64_t t = it->second.minus(origin);
      int64_t best = -1;
      for (const auto& a : out.annotations) {
        const int64_t s = a.start.ps(), d = a.duration.ps();
        if (s <= t && t <= s + d && (best < 0 || d < best)) {
          best = d;
          k.phase = a.name;
          k.phase_index = a.index;
        }
      }
    }
    out.kernels.push_back(std::move(k));
  }
  return true;
}

bool read_profiler_trace(const std::string& path, ProfileTrace& out, std::string& error) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    error = path + ": cannot open for reading";
    return false;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_profiler_trace(ss.str(), path, out, error);
}

KernelGroup ProfileSummary::find(std::string_view phase, KernelClass cls) const {
  KernelGroup g;
  g.phase = std::string(phase);
  g.cls = cls;
  for (const auto& x : groups)
    if (x.phase == phase && x.cls == cls) {
      g.count += x.count;
      g.total += x.total;
      g.layers = std::max(g.layers, x.layers);
      g.stream = x.stream;
    }
  return g;
}

ProfileSummary summarize(const ProfileTrace& p) {
  ProfileSummary s;
  if (p.kernels.empty()) return s;
  int64_t first = p.kernels.front().start.ps(), last = first;
  std::map<int, std::pair<int64_t, int64_t>> span;  // stream -> first start, last end
  struct Key {
    std::string phase;
    KernelClass cls;
    int stream;
    bool operator<(const Key& o) const {
      return std::tie(phase, cls, stream) < std::tie(o.phase, o.cls, o.stream);
    }
  };
  std::map<Key, std::pair<KernelGroup, std::set<int>>> groups;
  for (const auto& k : p.kernels) {
    const int64_t b = k.start.ps(), e = b + k.duration.ps();
    first = std::min(first, b);
    last = std::max(last, e);
    auto [it, fresh] = span.try_emplace(k.stream, b, e);
    if (!fresh) {
      it->second.first = std::min(it->second.first, b);
      it->second.second = std::max(it->second.second, e);
    }
    StreamSummary& ss = s.streams[k.stream];
    ++ss.kernels;
    ss.busy += k.duration;
    auto& [g, idx] = groups[Key{k.phase, k.cls, k.stream}];
    g.phase = k.phase;
    g.cls = k.cls;
    g.stream = k.stream;
    ++g.count;
    g.total += k.duration;
    idx.insert(k.phase_index);
  }
  s.window = Duration::from_ps(last - first);
  for (auto& [stream, ss] : s.streams)
    ss.window = Duration::from_ps(span[stream].second - span[stream].first);
  for (auto& [key, v] : groups) {
    v.first.layers = static_cast<int>(v.second.size());
    s.groups.push_back(v.first);
  }
  std::stable_sort(s.groups.begin(), s.groups.end(), [](const KernelGroup& a, const KernelGroup& b) {
    return a.phase != b.phase ? a.phase < b.phase : a.total > b.total;
  });
  return s;
}

Trace profile_to_trace(const ProfileTrace& p) {
  Trace t;
  t.meta.model = p.trace_name;
  t.meta.producer = "profiler";
  t.meta.workload = Workload::kTraining;
  t.meta.notes = "imported from " + p.file + " (" + p.device_name + ", world size " +
                 std::to_string(p.world_size) + "); shapes, FLOPs and bytes unknown (zero)";
  std::map<std::pair<std::string, int>, size_t> index;
  for (const auto& k : p.kernels) {
    const std::string phase = k.phase.empty() ? "unannotated" : k.phase;
    const auto key = std::pair{phase, k.phase_index};
    auto it = index.find(key);
    if (it == index.end()) {
      it = index.emplace(key, t.layers.size()).first;
      t.layers.push_back({phase + "#" + std::to_string(std::max(0, k.phase_index)),
                          LayerKind::kMoe, {}, {}});
    }
    TraceLayer& l = t.layers[it->second];
    Op op;
    op.name = std::string(config::enum_to_string(k.cls)) + "@stream" + std::to_string(k.stream);
    op.kind = op_type_of(k.cls);
    op.pass = has(phase, "(W)")   ? Pass::kBackwardWeight
              : has(phase, "(B)") ? Pass::kBackwardInput
                                  : Pass::kForward;
    op.precision = k.cls == KernelClass::kMoeGroupedGemm || k.cls == KernelClass::kFp8Gemm ||
                           k.cls == KernelClass::kWeightGradGemm
                       ? Precision::kFp8E4M3
                       : Precision::kBf16;
    switch (op.kind) {
      case OpType::kGemm:
      case OpType::kGroupedGemm:
        op.shape = GemmShape{};
        break;
      case OpType::kAttention:
        op.shape = AttentionShape{};
        break;
      case OpType::kDispatch:
      case OpType::kCombine:
        op.shape = CommShape{};
        break;
      default:
        op.shape = ElementwiseShape{};
    }
    l.ops.push_back(std::move(op));
    l.measured.push_back(k.duration);
  }
  return t;
}

}  // namespace codesim::models
