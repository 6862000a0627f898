// File: models/reference_options.hpp
//
// Run options of the reference implementation that are not part of a
// model's architecture (models/model_spec.hpp): weight seed, RoPE base and
// YaRN, which MLA path to run, the precision policy used for op accounting,
// and an optional expert placement with a node limit for routing.
// Eigen-free.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include "models/op_observer.hpp"
#include "models/routing.hpp"

namespace codesim::models {

enum class MlaPath { kNaive, kAbsorbed };
constexpr auto enum_names(MlaPath) {
  return std::array{std::pair{MlaPath::kNaive, std::string_view("naive")},
                    std::pair{MlaPath::kAbsorbed, std::string_view("absorbed")}};
}

// YaRN context extension (Peng et al. 2023; DeepSeek-V3 inference config:
// factor 40, original 4096, beta_fast 32, beta_slow 1, mscale 1). Active when
// max_seq_len exceeds original_seq_len.
struct YarnParams {
  int original_seq_len = 4096;
  double factor = 40.0;
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  double mscale = 1.0;
  int max_seq_len = 16384;
};

// Arithmetic of the linear layers (attention projections, dense FFN, shared
// and routed experts, MTP projection). Embedding, output head, MoE gate,
// norms and the attention core always run in float32 (DeepSeek-V3 TR sec.
// 3.3 keeps them in higher precision).
enum class GemmPrecision { kFp32, kFp8E4M3 };
constexpr auto enum_names(GemmPrecision) {
  return std::array{std::pair{GemmPrecision::kFp32, std::string_view("fp32")},
                    std::pair{GemmPrecision::kFp8E4M3, std::string_view("fp8_e4m3")}};
}

struct LinearNumerics {
  // kFp32: y = x W with Eigen in float32 (bit-identical to the plain product).
  // kFp8E4M3: DeepSeek-V3's recipe, emulated (models/fp8.hpp): x in E4M3 with
  // one scale per 1x128 tile along K, W in E4M3 with one scale per 128x128
  // block, products accumulated by the Hopper tensor-core model (13 fraction
  // bits, i.e. ~14 significant bits) and promoted to an FP32 accumulator every
  // `promotion_interval` elements of K.
  GemmPrecision precision = GemmPrecision::kFp32;
  int promotion_interval = 128;  // N_C (TR sec. 3.3); 0 = never promote; multiple of 32
};

struct ReferenceOptions {
  uint64_t seed = 1;  // all weights derive from (seed, component id)
  double rope_theta = 10000.0;
  std::optional<YarnParams> yarn;
  MlaPath mla_path = MlaPath::kAbsorbed;
  // Precision recorded in op records (the modelled hardware). In FP8 mode
  // (gemm.precision = kFp8E4M3) the linear-layer GEMMs are recorded as
  // fp8_e4m3 whatever `precision.linear` says, since that is what ran.
  PrecisionPolicy precision;
  LinearNumerics gemm;  // default: float32, so results are unchanged
  // Node-limited routing: with a placement and max_nodes > 0, each token's
  // routed experts span at most max_nodes nodes.
  std::optional<ExpertPlacement> placement;
  int max_nodes = 0;
};

}  // namespace codesim::models
