#include "models/block.hpp"

namespace codesim::models {

Block::Block(const ModelSpec& spec, bool moe_ffn, const Rope& rope, WeightRng& rng)
    : attn_norm_(spec.dim), ffn_norm_(spec.dim) {
  if (spec.attention == AttentionKind::kMla)
    mla_.emplace(spec.dim, spec.n_heads, *spec.mla, rope, rng);
  else
    gqa_.emplace(spec.dim, spec.n_heads, spec.gqa->n_kv_heads, spec.gqa->head_dim,
                 spec.gqa->qkv_bias, rope, rng);
  if (moe_ffn)
    moe_.emplace(spec.dim, *spec.moe, rng);
  else
    dense_.emplace(spec.dim, spec.inter_dim, rng);
}

Mat Block::forward(const Mat& x, LayerCache& cache, MlaPath path, const NodeLimit& limit,
                   const OpSink& sink) {
  const Mat xn = attn_norm_.forward(x, sink, "attn_norm");
  Mat h = x + (mla_ ? mla_->forward(xn, cache.mla, path, sink.sub("attn."))
                    : gqa_->forward(xn, cache.gqa, sink.sub("attn.")));
  sink.elementwise(OpKind::kResidualAdd, "attn_residual", x.rows(), x.cols(), 1.0, 2);
  const Mat hn = ffn_norm_.forward(h, sink, "ffn_norm");
  if (moe_)
    h += moe_->forward(hn, sink.sub("moe."), limit);
  else
    h += dense_->forward(hn, sink.sub("ffn."));
  sink.elementwise(OpKind::kResidualAdd, "ffn_residual", x.rows(), x.cols(), 1.0, 2);
  return h;
}

int64_t Block::param_count() const {
  int64_t n = attn_norm_.weight.size() + ffn_norm_.weight.size();
  n += mla_ ? mla_->param_count() : gqa_->param_count();
  n += moe_ ? moe_->param_count() : dense_->param_count();
  return n;
}

int64_t Block::activated_param_count() const {
  int64_t n = attn_norm_.weight.size() + ffn_norm_.weight.size();
  n += mla_ ? mla_->param_count() : gqa_->param_count();
  n += moe_ ? moe_->activated_param_count() : dense_->param_count();
  return n;
}

}  // namespace codesim::models
