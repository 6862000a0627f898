#include "models/moe.hpp"

namespace codesim::models {

MoeLayer::MoeLayer(int dim, const MoeSpec& spec, WeightRng& rng)
    : cfg_(GateConfig::from(spec)),
      gate_(rng.linear(dim, spec.n_routed_experts)),
      bias_(static_cast<size_t>(spec.n_routed_experts), 0.0f),
      load_(static_cast<size_t>(spec.n_routed_experts), 0) {
  if (spec.n_shared_experts > 0) shared_.emplace(dim, spec.n_shared_experts * spec.moe_inter_dim, rng);
  experts_.reserve(static_cast<size_t>(spec.n_routed_experts));
  for (int e = 0; e < spec.n_routed_experts; ++e) experts_.emplace_back(dim, spec.moe_inter_dim, rng);
}

int64_t MoeLayer::param_count() const {
  int64_t n = gate_.size() + static_cast<int64_t>(bias_.size());
  if (shared_) n += shared_->param_count();
  for (const auto& e : experts_) n += e.param_count();
  return n;
}

int64_t MoeLayer::activated_param_count() const {
  int64_t n = gate_.size() + static_cast<int64_t>(bias_.size());
  if (shared_) n += shared_->param_count();
  if (!experts_.empty()) n += cfg_.top_k * experts_.front().param_count();
  return n;
}

Mat MoeLayer::forward(const Mat& x, const OpSink& sink, const NodeLimit& limit,
                      Routing* routing_out) {
  const int T = static_cast<int>(x.rows());
  const int E = cfg_.n_experts;
  const int dim = static_cast<int>(x.cols());

  // Gate: affinities in float32 (the policy's head precision for bytes),
  // never in FP8 (TR sec. 3.3). Experts run in sink.numerics; in FP8 mode the
  // quantization of xe (1x128 tiles) is the FP8 dispatch of DeepSeek-V3.
  Mat logits = x * gate_;
  apply_score_func({logits.data(), static_cast<size_t>(logits.size())}, E, cfg_.score_func);
  Routing r = route({logits.data(), static_cast<size_t>(logits.size())}, T, bias_, cfg_, limit);
  if (sink.observer) {
    const uint64_t b = bytes_per_element(sink.policy.head);
    sink.emit({0, "gate", OpKind::kGate, sink.policy.head, {T, E, cfg_.top_k},
               Flops::from_count(2.0 * T * E * dim),
               Bytes::from_count(static_cast<uint64_t>(T) * dim * b + static_cast<uint64_t>(dim) * E * b),
               Bytes::from_count(static_cast<uint64_t>(T) * cfg_.top_k * 8)});
    sink.observer->on_routing({sink.layer, T, cfg_.top_k, E, r.experts, r.weights});
  }

  Mat y = shared_ ? shared_->forward(x, sink.sub("shared.")) : Mat::Zero(T, dim);

  // Gather rows per expert, run, scatter-add with the gate weight.
  std::vector<std::vector<int>> rows(static_cast<size_t>(E));
  for (int t = 0; t < T; ++t)
    for (int j = 0; j < cfg_.top_k; ++j) rows[static_cast<size_t>(r.expert(t, j))].push_back(t * cfg_.top_k + j);
  int64_t used = 0;
  for (int e = 0; e < E; ++e) {
    const auto& idx = rows[static_cast<size_t>(e)];
    load_[static_cast<size_t>(e)] += static_cast<int64_t>(idx.size());
    if (idx.empty()) continue;
    ++used;
    Mat xe(static_cast<Eigen::Index>(idx.size()), dim);
    for (size_t i = 0; i < idx.size(); ++i) xe.row(static_cast<Eigen::Index>(i)) = x.row(idx[i] / cfg_.top_k);
    const Mat ye = experts_[static_cast<size_t>(e)].forward(xe, sink.silent());
    for (size_t i = 0; i < idx.size(); ++i)
      y.row(idx[i] / cfg_.top_k) += r.weights[static_cast<size_t>(idx[i])] * ye.row(static_cast<Eigen::Index>(i));
  }
  if (!experts_.empty()) {
    const int64_t rows_total = static_cast<int64_t>(T) * cfg_.top_k;
    const int64_t inter = experts_.front().w1.cols();
    sink.grouped_gemm("experts.w1", rows_total, inter, dim, used);
    sink.grouped_gemm("experts.w3", rows_total, inter, dim, used);
    sink.elementwise(OpKind::kSwiglu, "experts.swiglu", rows_total, inter, 5.0, 2);
    sink.grouped_gemm("experts.w2", rows_total, dim, inter, used);
    sink.elementwise(OpKind::kMoeCombine, "combine", rows_total, dim, 2.0);
  }
  if (routing_out) *routing_out = std::move(r);
  return y;
}

void MoeLayer::update_bias(float gamma) {
  models::update_bias(bias_, load_, gamma);
  std::fill(load_.begin(), load_.end(), 0);
}

}  // namespace codesim::models
