// File: models/profiler_trace.hpp
//
// Reads a PyTorch-profiler Chrome trace (the JSON that torch.profiler's
// export_chrome_trace writes, e.g. deepseek-ai/profile-data train.json) into
// codesim's form, as far as kernel names allow:
//  * every GPU kernel (cat "kernel"), memcpy and memset with its stream,
//    start, duration, grid and block;
//  * a kernel class from its name (FlashAttention forward/backward, DeepSeek
//    FP8 GEMMs dpsk::grouped_gemm -- MoE grouped, dense, weight-gradient --,
//    DeepEP dispatch/combine/notify, norms, RoPE, casts, SwiGLU, router,
//    other elementwise);
//  * the phase it belongs to: the innermost CPU user_annotation range (e.g.
//    "attn(F)", "dispatch(B)", "mlp(W)") that contains the host-side launch
//    of the kernel (matched through the launch's "correlation" id), and the
//    phase's occurrence index, which is the layer within the chunk when each
//    layer runs every phase once (train.json: 4 layers x 10 phases);
//  * a summary: GPU window, per-stream busy time, and per (phase, class,
//    stream) counts, total and mean kernel times and the mean per layer.
//
// Times are converted from the trace's microseconds to codesim's integer
// picoseconds (rounded) and are relative to the first GPU activity.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "models/trace.hpp"
#include "sim/units.hpp"

namespace codesim::models {

enum class KernelClass {
  kFlashAttnFwd,
  kFlashAttnBwd,
  kFlashAttnBwdAux,  // FlashAttnBwdPreprocess / Postprocess (dO.O, dQ convert)
  kMoeGroupedGemm,   // dpsk::grouped_gemm m_grouped_* (routed experts)
  kFp8Gemm,          // other dpsk::grouped_gemm FP8 GEMMs (projections, shared experts)
  kWeightGradGemm,   // dpsk::grouped_gemm *_acc (accumulating weight-gradient GEMMs)
  kBf16Gemm,         // cuBLAS/CUTLASS BF16 GEMMs (head, gate)
  kEpDispatch,       // DeepEP dispatch kernels
  kEpCombine,        // DeepEP combine kernels
  kEpNotify,         // DeepEP notify_dispatch / cached_notify / get_dispatch_layout (layout, waits)
  kNorm,
  kRope,
  kActivation,       // SwiGLU forward/backward
  kCast,             // FP8 casts, transposes for FP8 GEMM layouts
  kRouter,           // sigmoid, top-k, group top-k, aux statistics
  kMoePermute,       // expand/reduce/mapping between token and expert layouts
  kElementwise,      // other ATen kernels
  kMemcpy,
  kMemset,
  kOther,
};
constexpr auto enum_names(KernelClass) {
  return std::array{
      std::pair{KernelClass::kFlashAttnFwd, std::string_view("flash_attn_fwd")},
      std::pair{KernelClass::kFlashAttnBwd, std::string_view("flash_attn_bwd")},
      std::pair{KernelClass::kFlashAttnBwdAux, std::string_view("flash_attn_bwd_aux")},
      std::pair{KernelClass::kMoeGroupedGemm, std::string_view("moe_grouped_gemm")},
      std::pair{KernelClass::kFp8Gemm, std::string_view("fp8_gemm")},
      std::pair{KernelClass::kWeightGradGemm, std::string_view("wgrad_gemm")},
      std::pair{KernelClass::kBf16Gemm, std::string_view("bf16_gemm")},
      std::pair{KernelClass::kEpDispatch, std::string_view("ep_dispatch")},
      std::pair{KernelClass::kEpCombine, std::string_view("ep_combine")},
      std::pair{KernelClass::kEpNotify, std::string_view("ep_notify")},
      std::pair{KernelClass::kNorm, std::string_view("norm")},
      std::pair{KernelClass::kRope, std::string_view("rope")},
      std::pair{KernelClass::kActivation, std::string_view("activation")},
      std::pair{KernelClass::kCast, std::string_view("cast")},
      std::pair{KernelClass::kRouter, std::string_view("router")},
      std::pair{KernelClass::kMoePermute, std::string_view("moe_permute")},
      std::pair{KernelClass::kElementwise, std::string_view("elementwise")},
      std::pair{KernelClass::kMemcpy, std::string_view("memcpy")},
      std::pair{KernelClass::kMemset, std::string_view("memset")},
      std::pair{KernelClass::kOther, std::string_view("other")}};
}

// Classifies a kernel by its (demangled) name. Pure; rules in the .cpp.
KernelClass classify_kernel(std::string_view name);

struct ProfiledKernel {
  std::string name;
  KernelClass cls = KernelClass::kOther;
  int stream = -1;
  Time start;  // relative to the first GPU activity
  Duration duration;
  std::array<int, 3> grid{}, block{};
  std::string phase;    // innermost user annotation around the launch, "" if none
  int phase_index = -1; // occurrence of that annotation name (layer within the chunk)
};

struct ProfileAnnotation {
  std::string name;
  int index = 0;  // occurrence of this name so far (0-based)
  Time start;     // CPU-side, same origin as kernels
  Duration duration;
};

struct ProfileTrace {
  std::string file;
  std::string trace_name;  // "traceName"
  std::string device_name; // deviceProperties[0].name
  int num_sms = 0;
  int world_size = 0;      // distributedInfo.world_size
  std::vector<ProfiledKernel> kernels;  // sorted by start
  std::vector<ProfileAnnotation> annotations;
};

// Strict about what it needs (traceEvents, kernel args), tolerant of the rest
// (the profiler writes many event kinds). Errors name the file and the event.
bool read_profiler_trace(const std::string& path, ProfileTrace& out, std::string& error);
bool parse_profiler_trace(std::string_view text, std::string_view name, ProfileTrace& out,
                          std::string& error);

struct StreamSummary {
  int kernels = 0;
  Duration busy;    // sum of kernel durations
  Duration window;  // first start to last end on this stream
};

struct KernelGroup {
  std::string phase;
  KernelClass cls = KernelClass::kOther;
  int stream = -1;
  int count = 0;
  int layers = 0;  // distinct phase indices
  Duration total;
  Duration mean_per_kernel() const { return count ? Duration::from_ps(total.ps() / count) : Duration{}; }
  Duration mean_per_layer() const { return layers ? Duration::from_ps(total.ps() / layers) : Duration{}; }
};

struct ProfileSummary {
  Duration window;  // first GPU start to last GPU end, all streams
  std::map<int, StreamSummary> streams;
  std::vector<KernelGroup> groups;  // sorted by phase, then total time descending
  // The group for (phase, cls), summed over streams; nullptr-free: zero if absent.
  KernelGroup find(std::string_view phase, KernelClass cls) const;
};
ProfileSummary summarize(const ProfileTrace& trace);

// codesim trace form of a profile: one TraceLayer per (phase, index), named
// "{phase}#{index}" in launch order, with one Op per kernel (kind mapped from
// the class, pass from the phase's "(F)", "(B)" or "(W)" suffix, shapes
// unknown = zero, FLOPs and bytes zero) and its measured time.
Trace profile_to_trace(const ProfileTrace& profile);

}  // namespace codesim::models
