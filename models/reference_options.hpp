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

struct ReferenceOptions {
  uint64_t seed = 1;  // all weights derive from (seed, component id)
  double rope_theta = 10000.0;
  std::optional<YarnParams> yarn;
  MlaPath mla_path = MlaPath::kAbsorbed;
  PrecisionPolicy precision;  // for op records only; compute is float32
  // Node-limited routing: with a placement and max_nodes > 0, each token's
  // routed experts span at most max_nodes nodes.
  std::optional<ExpertPlacement> placement;
  int max_nodes = 0;
};

}  // namespace codesim::models
