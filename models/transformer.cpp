#include "models/transformer.hpp"

#include <stdexcept>
#include <string>

#include "models/block.hpp"
#include "models/layers.hpp"
#include "models/mtp.hpp"

namespace codesim::models {

// Weight streams: one per component, so adding a component never shifts
// another's weights.
namespace {
constexpr uint64_t kStreamEmbed = 1;
constexpr uint64_t kStreamHead = 2;
constexpr uint64_t kStreamLayer0 = 1000;
constexpr uint64_t kStreamMtp0 = 100000;

int rope_dim(const ModelSpec& s) {
  return s.attention == AttentionKind::kMla ? s.mla->qk_rope_head_dim : s.gqa->head_dim;
}
}  // namespace

// ------------------------------------------------------------------ KvCache

struct KvCache::Impl {
  int batch = 0;
  std::vector<LayerCache> layers;
};

KvCache::KvCache(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KvCache::~KvCache() = default;
KvCache::KvCache(KvCache&&) noexcept = default;
KvCache& KvCache::operator=(KvCache&&) noexcept = default;
int KvCache::batch() const { return impl_->batch; }
int KvCache::len() const { return impl_->layers.empty() ? 0 : impl_->layers[0].len(); }

int64_t KvCache::floats_per_token_per_layer() const {
  // Measured from what is stored: every cached matrix of every layer and
  // sequence, divided by positions x layers x sequences.
  const int n = len();
  if (n == 0 || impl_->layers.empty()) return 0;
  int64_t floats = 0;
  for (const LayerCache& l : impl_->layers) {
    for (const MlaCache& c : l.mla) floats += c.k.size() + c.v.size() + c.kv.size() + c.pe.size();
    for (const GqaCache& c : l.gqa) floats += c.k.size() + c.v.size();
  }
  return floats / (static_cast<int64_t>(n) * static_cast<int64_t>(impl_->layers.size()) * impl_->batch);
}

// ------------------------------------------------------------- Transformer

struct Transformer::Impl {
  ModelSpec spec;
  ReferenceOptions opt;
  Rope rope;
  Mat embed;  // [vocab x dim]
  std::vector<Block> layers;
  RmsNorm norm;
  Mat head;  // [dim x vocab]; empty when tied (embed^T is used)
  std::vector<MtpModule> mtp;
  NodeLimit limit;

  Impl(const ModelSpec& s, ReferenceOptions o)
      : spec(s), opt(std::move(o)), rope(rope_dim(s), opt.rope_theta, opt.yarn), norm(s.dim) {
    if (spec.attention == AttentionKind::kMla && !spec.mla)
      throw std::invalid_argument("Transformer: attention 'mla' without an 'mla' section");
    if (spec.attention == AttentionKind::kGqa && !spec.gqa)
      throw std::invalid_argument("Transformer: attention 'gqa' without a 'gqa' section");
    if (opt.gemm.precision == GemmPrecision::kFp8E4M3 &&
        (opt.gemm.promotion_interval < 0 || opt.gemm.promotion_interval % 32 != 0))
      throw std::invalid_argument("Transformer: gemm.promotion_interval must be 0 (never) or a multiple "
                                  "of 32 (products aligned per tensor-core step), got " +
                                  std::to_string(opt.gemm.promotion_interval));
    WeightRng er(opt.seed, kStreamEmbed);
    embed = Mat(spec.vocab_size, spec.dim);
    for (Eigen::Index i = 0; i < embed.size(); ++i) embed.data()[i] = er.symmetric();
    layers.reserve(static_cast<size_t>(spec.n_layers));
    for (int l = 0; l < spec.n_layers; ++l) {
      WeightRng lr(opt.seed, kStreamLayer0 + static_cast<uint64_t>(l));
      const bool moe = spec.moe.has_value() && l >= spec.moe->n_dense_layers;
      layers.emplace_back(spec, moe, rope, lr);
    }
    if (!spec.tie_embeddings) {
      WeightRng hr(opt.seed, kStreamHead);
      head = hr.linear(spec.dim, spec.vocab_size);
    }
    mtp.reserve(static_cast<size_t>(spec.mtp_depth));
    for (int k = 0; k < spec.mtp_depth; ++k) {
      WeightRng mr(opt.seed, kStreamMtp0 + static_cast<uint64_t>(k));
      mtp.emplace_back(spec, rope, mr);
    }
    if (opt.placement && opt.max_nodes > 0) limit = {&*opt.placement, opt.max_nodes};
  }

  OpSink sink(OpObserver* obs, int layer) const { return {obs, layer, "", opt.precision, opt.gemm}; }

  Mat embed_tokens(std::span<const int32_t> tokens, OpObserver* obs, int layer = kEmbeddingLayer) const {
    Mat h(static_cast<Eigen::Index>(tokens.size()), spec.dim);
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (tokens[i] < 0 || tokens[i] >= spec.vocab_size)
        throw std::out_of_range("Transformer: token id " + std::to_string(tokens[i]) +
                                " outside [0, " + std::to_string(spec.vocab_size) + ")");
      h.row(static_cast<Eigen::Index>(i)) = embed.row(tokens[i]);
    }
    const OpSink s = sink(obs, layer);
    if (obs) {
      const uint64_t n = tokens.size() * static_cast<uint64_t>(spec.dim) * bytes_per_element(opt.precision.head);
      s.emit({0, "embed", OpKind::kEmbedding, opt.precision.head,
              {static_cast<int64_t>(tokens.size()), spec.dim}, Flops{}, Bytes::from_count(n),
              Bytes::from_count(n)});
    }
    return h;
  }

  Logits to_logits(const Mat& h, const RmsNorm& n, const OpSink& s) const {
    const Mat hn = n.forward(h, s, "norm");
    Mat z = spec.tie_embeddings ? Mat(hn * embed.transpose()) : Mat(hn * head);
    s.gemm("head", h.rows(), spec.vocab_size, spec.dim, opt.precision.head);
    Logits out;
    out.rows = static_cast<int>(z.rows());
    out.cols = static_cast<int>(z.cols());
    out.data.assign(z.data(), z.data() + z.size());
    return out;
  }

  Mat run_layers(std::span<const int32_t> tokens, KvCache::Impl& cache, OpObserver* obs) {
    Mat h = embed_tokens(tokens, obs);
    for (int l = 0; l < spec.n_layers; ++l)
      h = layers[static_cast<size_t>(l)].forward(h, cache.layers[static_cast<size_t>(l)],
                                                 opt.mla_path, limit, sink(obs, l));
    return h;
  }
};

Transformer::Transformer(const ModelSpec& spec, ReferenceOptions options)
    : impl_(std::make_unique<Impl>(spec, std::move(options))) {}
Transformer::~Transformer() = default;
Transformer::Transformer(Transformer&&) noexcept = default;
Transformer& Transformer::operator=(Transformer&&) noexcept = default;

const ModelSpec& Transformer::spec() const { return impl_->spec; }
const ReferenceOptions& Transformer::options() const { return impl_->opt; }

KvCache Transformer::make_cache(int batch) const {
  if (batch <= 0) throw std::invalid_argument("make_cache: batch must be > 0");
  auto c = std::make_unique<KvCache::Impl>();
  c->batch = batch;
  c->layers.assign(static_cast<size_t>(impl_->spec.n_layers), LayerCache(batch));
  return KvCache(std::move(c));
}

Logits Transformer::forward(std::span<const int32_t> tokens, KvCache& cache, OpObserver* observer) {
  const int B = cache.batch();
  if (tokens.empty() || tokens.size() % static_cast<size_t>(B) != 0)
    throw std::invalid_argument("forward: token count must be a positive multiple of the batch");
  const Mat h = impl_->run_layers(tokens, *cache.impl_, observer);
  return impl_->to_logits(h, impl_->norm, impl_->sink(observer, kHeadLayer));
}

Logits Transformer::forward(std::span<const int32_t> tokens, int batch, OpObserver* observer) {
  KvCache cache = make_cache(batch);
  return forward(tokens, cache, observer);
}

Transformer::MtpOutput Transformer::forward_with_mtp(std::span<const int32_t> tokens, int batch,
                                                     OpObserver* observer) {
  Impl& m = *impl_;
  KvCache cache = make_cache(batch);
  if (tokens.empty() || tokens.size() % static_cast<size_t>(batch) != 0)
    throw std::invalid_argument("forward_with_mtp: token count must be a positive multiple of the batch");
  const int S = static_cast<int>(tokens.size()) / batch;
  MtpOutput out;
  Mat h = m.run_layers(tokens, *cache.impl_, observer);
  out.main = m.to_logits(h, m.norm, m.sink(observer, kHeadLayer));
  int prev_len = S;
  for (int k = 1; k <= static_cast<int>(m.mtp.size()) && k < S; ++k) {
    const int L = S - k;
    Mat h_prev(static_cast<Eigen::Index>(batch) * L, m.spec.dim);
    std::vector<int32_t> next(static_cast<size_t>(batch) * static_cast<size_t>(L));
    for (int b = 0; b < batch; ++b) {
      h_prev.middleRows(static_cast<Eigen::Index>(b) * L, L) =
          h.middleRows(static_cast<Eigen::Index>(b) * prev_len, L);
      for (int i = 0; i < L; ++i)
        next[static_cast<size_t>(b * L + i)] = tokens[static_cast<size_t>(b * S + i + k)];
    }
    const int layer = m.spec.n_layers + k - 1;
    const Mat emb = m.embed_tokens(next, observer, layer);  // shared embedding
    MtpModule& mod = m.mtp[static_cast<size_t>(k - 1)];
    h = mod.forward(h_prev, emb, batch, m.opt.mla_path, m.limit, m.sink(observer, layer));
    out.mtp.push_back(m.to_logits(h, mod.out_norm(), m.sink(observer, layer).sub("head.")));
    prev_len = L;
  }
  return out;
}

void Transformer::update_expert_bias(float gamma) {
  for (Block& b : impl_->layers)
    if (MoeLayer* moe = b.moe()) moe->update_bias(gamma);
}

std::vector<std::vector<int64_t>> Transformer::expert_load() const {
  std::vector<std::vector<int64_t>> out;
  for (const Block& b : impl_->layers)
    out.push_back(b.moe() ? b.moe()->load_since_update() : std::vector<int64_t>{});
  return out;
}

int64_t Transformer::param_count() const {
  const Impl& m = *impl_;
  int64_t n = m.embed.size() + m.head.size() + m.norm.weight.size();
  for (const Block& b : m.layers) n += b.param_count();
  for (const MtpModule& t : m.mtp) n += t.param_count();
  return n;
}

int64_t Transformer::activated_param_count() const {
  const Impl& m = *impl_;
  int64_t n = m.embed.size() + m.head.size() + m.norm.weight.size();
  for (const Block& b : m.layers) n += b.activated_param_count();
  return n;
}

// ------------------------------------------------------------ tiny specs

ModelSpec tiny_deepseek_spec() {
  ModelSpec s;
  s.name = "tiny-deepseek";
  s.source = "built in code (models/transformer.cpp) with DeepSeek-V3's structure";
  s.vocab_size = 512;
  s.dim = 256;
  s.inter_dim = 512;
  s.n_layers = 4;
  s.n_heads = 8;
  s.attention = AttentionKind::kMla;
  s.mla = MlaSpec{96, 64, 32, 16, 32};
  MoeSpec moe;
  moe.n_dense_layers = 1;
  moe.n_routed_experts = 16;
  moe.n_shared_experts = 1;
  moe.n_activated_experts = 4;
  moe.moe_inter_dim = 64;
  moe.n_expert_groups = 4;
  moe.n_limited_groups = 2;
  moe.route_scale = 2.5;
  moe.score_func = ScoreFunc::kSigmoid;
  s.moe = moe;
  s.mtp_depth = 1;
  return s;
}

ModelSpec tiny_gqa_spec() {
  ModelSpec s;
  s.name = "tiny-gqa";
  s.source = "built in code (models/transformer.cpp) with Qwen-2.5's structure";
  s.vocab_size = 512;
  s.dim = 128;
  s.inter_dim = 256;
  s.n_layers = 2;
  s.n_heads = 8;
  s.attention = AttentionKind::kGqa;
  s.gqa = GqaSpec{2, 16, true};
  return s;
}

}  // namespace codesim::models
