#include "models/mtp.hpp"

namespace codesim::models {

MtpModule::MtpModule(const ModelSpec& spec, const Rope& rope, WeightRng& rng)
    : hnorm_(spec.dim),
      enorm_(spec.dim),
      eh_proj_(rng.linear(2 * spec.dim, spec.dim)),
      // V3's MTP block is an MoE block, like the last main layer.
      block_(spec, spec.moe.has_value() && spec.n_layers > spec.moe->n_dense_layers, rope, rng),
      norm_(spec.dim) {}

Mat MtpModule::forward(const Mat& h_prev, const Mat& emb_next, int batch, MlaPath path,
                       const NodeLimit& limit, const OpSink& sink) {
  const Eigen::Index rows = h_prev.rows(), dim = h_prev.cols();
  Mat cat(rows, 2 * dim);
  cat.leftCols(dim) = hnorm_.forward(h_prev, sink, "hnorm");
  cat.rightCols(dim) = enorm_.forward(emb_next, sink, "enorm");
  sink.elementwise(OpKind::kConcat, "concat", rows, 2 * dim, 0.0);
  const Mat h = sink.linear("eh_proj", cat, eh_proj_);
  LayerCache cache(batch);  // the module runs on whole sequences (training / drafting)
  return block_.forward(h, cache, path, limit, sink.sub("block."));
}

int64_t MtpModule::param_count() const {
  return hnorm_.weight.size() + enorm_.weight.size() + eh_proj_.size() + block_.param_count() +
         norm_.weight.size();
}

}  // namespace codesim::models
