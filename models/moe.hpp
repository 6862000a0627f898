// File: models/moe.hpp
//
// DeepSeekMoE layer on Eigen: shared experts (one SwiGLU of width
// n_shared_experts * moe_inter_dim, applied to every token) plus routed
// experts (SwiGLU of width moe_inter_dim each), combined as
//   y = shared(x) + sum_j w_j * expert_{e_j}(x)
// with (e_j, w_j) from models/routing.hpp. The layer owns its gate weight and
// its balancing bias and counts the load seen since the last bias update.
// Internal to models/ (includes Eigen via layers.hpp).
#pragma once

#include <optional>
#include <vector>

#include "models/layers.hpp"
#include "models/model_spec.hpp"
#include "models/routing.hpp"

namespace codesim::models {

class MoeLayer {
 public:
  MoeLayer(int dim, const MoeSpec& spec, WeightRng& rng);
  // x: [T x dim]. Routes, runs the experts and combines. Reports ops and a
  // RoutingRecord (layer = sink.layer) to the sink's observer; `routing_out`
  // (optional) receives the decision.
  Mat forward(const Mat& x, const OpSink& sink, const NodeLimit& limit = {},
              Routing* routing_out = nullptr);
  // b_e += gamma * sign(mean_load - load_e) over the tokens routed since the
  // last call; then the count restarts.
  void update_bias(float gamma);
  const std::vector<float>& bias() const { return bias_; }
  const std::vector<int64_t>& load_since_update() const { return load_; }
  const GateConfig& gate_config() const { return cfg_; }
  int64_t param_count() const;
  int64_t activated_param_count() const;

 private:
  GateConfig cfg_;
  Mat gate_;  // [dim x n_experts]
  std::vector<float> bias_;
  std::vector<int64_t> load_;
  std::optional<SwigluFfn> shared_;
  std::vector<SwigluFfn> experts_;
};

}  // namespace codesim::models
