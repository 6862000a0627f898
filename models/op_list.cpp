#include "models/op_list.hpp"

#include <algorithm>
#include <iterator>

namespace codesim::models {
namespace {

bool is_gemm(OpType k) { return k == OpType::kGemm || k == OpType::kGroupedGemm; }

// Builds one layer's forward ops, then derives backward ops in training.
class LayerBuilder {
 public:
  // `q_len`: query positions per sequence (training and prefill: seq_len).
  LayerBuilder(const ModelSpec& s, const OpListOptions& o, int64_t tokens, int64_t q_len)
      : s_(s), o_(o), t_(tokens), q_len_(q_len), tp_(std::max(1, o.tensor_parallel)),
        rows_(tokens / tp_) {}

  // Rows the current region runs on: all tokens inside a TP region, the
  // GPU's 1/tp share (sequence parallelism) outside; all without TP.
  int64_t rows() const { return rows_; }
  int64_t tp() const { return tp_; }
  // Enter / leave a TP region (no-ops without TP).
  void tp_gather(const std::string& name) { tp_comm(name + ".tp_gather", t_); }
  void tp_scatter(const std::string& name) { tp_comm(name + ".tp_scatter", t_ / tp_); }

  void gemm(std::string name, int64_t n, int64_t k, Precision p) {
    fwd_.push_back(gemm_op(std::move(name), Pass::kForward, p, GemmShape{rows_, n, k, 1}));
  }
  void gemm_rows(std::string name, int64_t m, int64_t n, int64_t k, int64_t groups,
                 Precision p) {
    fwd_.push_back(gemm_op(std::move(name), Pass::kForward, p, GemmShape{m, n, k, groups}));
  }
  void pointwise(std::string name, OpType kind, int64_t rows, int64_t cols, double flops_per,
                 int in, int out) {
    fwd_.push_back(elementwise_op(std::move(name), kind, Pass::kForward, Precision::kBf16,
                                  ElementwiseShape{rows, cols}, flops_per, in, out));
  }
  void norm(std::string name, int64_t cols) {
    // x * rsqrt(mean(x^2)) * w: square, sum, scale, multiply = 4 FLOPs/element.
    pointwise(std::move(name), OpType::kNorm, rows_, cols, 4.0, 1, 1);
  }
  void op(Op o) { fwd_.push_back(std::move(o)); }

  void attention();
  void ffn_dense(int64_t inter, const std::string& prefix);
  void moe();

  LayerOps finish(std::string name, LayerKind kind) {
    // DeepSeek-V3 TR 3.3.3: the activations before the MoE up-projection are
    // quantised to FP8 for the dispatch, so the GEMM that takes the
    // dispatched rows reads them as they arrive.
    for (size_t i = 0; i + 1 < fwd_.size(); ++i)
      if (fwd_[i].kind == OpType::kDispatch && is_fp8(fwd_[i].precision) && is_gemm(fwd_[i + 1].kind))
        fwd_[i + 1].input_fp8 = true;
    // TR 3.3.3: the input of the Linear after the attention operator is
    // kept for the attention backward in E5M6 (training only).
    if (o_.workload == Workload::kTraining)
      for (size_t i = 0; i + 1 < fwd_.size(); ++i)
        if (fwd_[i].kind == OpType::kAttention && is_gemm(fwd_[i + 1].kind) && is_fp8(fwd_[i + 1].precision))
          fwd_[i + 1].input_e5m6 = true;
    LayerOps l{std::move(name), kind, fwd_};
    if (o_.workload != Workload::kTraining) return l;
    std::vector<Op> weight;
    for (auto it = fwd_.rbegin(); it != fwd_.rend(); ++it) {
      const Op& f = *it;
      // The op after f in the forward order: a combine's gradient is
      // dispatched in FP8 (TR 3.3.3: "the same applies to activation
      // gradients before the down-projection"), so the input-gradient GEMM
      // of the GEMM that fed the combine reads dY as it arrives.
      const Op* next = it == fwd_.rbegin() ? nullptr : &*std::prev(it);
      switch (f.kind) {
        case OpType::kGemm:
        case OpType::kGroupedGemm:
          l.ops.push_back(gemm_backward_input(f));
          l.ops.back().input_fp8 = next && next->kind == OpType::kCombine;
          weight.push_back(gemm_backward_weight(f));
          weight.back().input_fp8 = f.input_fp8;
          weight.back().grad_fp8 = next && next->kind == OpType::kCombine;
          break;
        case OpType::kAttention:
          l.ops.push_back(attention_op(f.name + ".bwd", Pass::kBackwardInput, f.precision,
                                       std::get<AttentionShape>(f.shape)));
          break;
        case OpType::kDispatch:  // its gradient flows back as a combine (BF16)
          l.ops.push_back(comm_op(f.name + ".bwd", OpType::kCombine, Pass::kBackwardInput,
                                  Precision::kBf16, std::get<CommShape>(f.shape)));
          break;
        case OpType::kCombine:  // its gradient is dispatched (FP8, TR Sec. 3.3)
          l.ops.push_back(comm_op(f.name + ".bwd", OpType::kDispatch, Pass::kBackwardInput,
                                  o_.dispatch_precision, std::get<CommShape>(f.shape)));
          break;
        case OpType::kTpComm: {  // an all-gather's gradient is reduce-scattered, and back
          Op b = f;
          b.name += ".bwd";
          b.pass = Pass::kBackwardInput;
          std::swap(b.bytes_read, b.bytes_written);
          l.ops.push_back(b);
          // Sequence parallelism keeps only the GPU's share of a TP
          // region's input (what lets activations divide by tp), so the
          // weight gradients of the region's first GEMMs all-gather it again
          // (Megatron-LM's sequence-parallel linear backward).
          if (f.bytes_written > f.bytes_read) {
            Op g = f;
            g.name += ".regather";
            g.pass = Pass::kBackwardWeight;
            weight.push_back(g);
          }
          break;
        }
        case OpType::kTopK:  // indices carry no gradient; moe.route's backward
          break;             // scatters the selected weights' gradients
        case OpType::kEmbedding: {
          Op b = f;  // scatter-add of the gradient rows into the table
          b.name += ".bwd";
          b.pass = Pass::kBackwardWeight;
          weight.push_back(b);
          break;
        }
        default: {  // pointwise: the backward reads the saved input and dY
          Op b = f;
          b.name += ".bwd";
          b.pass = Pass::kBackwardInput;
          b.flops = f.flops * 2.0;
          b.bytes_read = f.bytes_read + f.bytes_written;
          l.ops.push_back(b);
          break;
        }
      }
    }
    for (auto& w : weight) l.ops.push_back(std::move(w));
    return l;
  }

  int64_t tokens() const { return t_; }

 private:
  void tp_comm(std::string name, int64_t rows_after) {
    if (tp_ == 1) return;
    Op o;
    o.name = std::move(name);
    o.kind = OpType::kTpComm;
    o.precision = Precision::kBf16;
    o.shape = CommShape{t_, tp_, s_.dim};
    // What one GPU holds before and after: its share and the whole tensor.
    const uint64_t share = static_cast<uint64_t>(t_ / tp_ * s_.dim) * bytes_per_element(Precision::kBf16);
    const uint64_t whole = share * static_cast<uint64_t>(tp_);
    o.bytes_read = B(rows_after == t_ ? share : whole);
    o.bytes_written = B(rows_after == t_ ? whole : share);
    fwd_.push_back(std::move(o));
    rows_ = rows_after;
  }

  const ModelSpec& s_;
  const OpListOptions& o_;
  int64_t t_;
  int64_t q_len_;
  int64_t tp_;
  int64_t rows_;
  std::vector<Op> fwd_;
};

void LayerBuilder::attention() {
  const Precision lp = o_.linear_precision;
  const int64_t d = s_.dim, h = s_.n_heads / tp_;  // this GPU's heads
  const bool decode = o_.workload == Workload::kDecode;
  const int64_t q_len = q_len_;
  const int64_t batch = t_ / std::max<int64_t>(1, q_len);
  const int64_t prefix = o_.workload == Workload::kPrefill ? std::max<int64_t>(0, o_.prefix_len) : 0;
  norm("attn_norm", d);
  tp_gather("attn");
  if (s_.attention == AttentionKind::kMla) {
    const MlaSpec& m = *s_.mla;
    const int64_t qk = m.qk_nope_head_dim + m.qk_rope_head_dim;
    const bool absorbed = o_.mla_absorbed.value_or(decode);
    if (m.q_lora_rank > 0) {
      gemm("attn.wq_a", m.q_lora_rank, d, lp);
      norm("attn.q_norm", m.q_lora_rank);
      gemm("attn.wq_b", h * qk, m.q_lora_rank, lp);
    } else {
      gemm("attn.wq", h * qk, d, lp);
    }
    gemm("attn.wkv_a", m.kv_lora_rank + m.qk_rope_head_dim, d, lp);
    norm("attn.kv_norm", m.kv_lora_rank);
    pointwise("attn.rope", OpType::kRope, rows_, (h + 1) * int64_t{m.qk_rope_head_dim}, 3.0, 1, 1);
    if (!absorbed) {
      gemm("attn.wkv_b", h * (m.qk_nope_head_dim + m.v_head_dim), m.kv_lora_rank, lp);
      // The cached prefix's latents, up-projected to keys and values too.
      if (prefix > 0)
        gemm_rows("attn.wkv_b_cached", batch * prefix, h * (m.qk_nope_head_dim + m.v_head_dim),
                  m.kv_lora_rank, 1, lp);
      op(attention_core(s_, o_, batch, q_len, tp_));
      gemm("attn.wo", d, h * m.v_head_dim, lp);
    } else {
      // q_nope W_UK per head -> latent queries; attention over the cached
      // latent (MQA: one KV head of kv_lora + rope, values = the latent);
      // then W_UV per head and wo.
      gemm_rows("attn.absorb_q", rows_ * h, m.kv_lora_rank, m.qk_nope_head_dim, h,
                Precision::kBf16);
      op(attention_core(s_, o_, batch, q_len, tp_));
      gemm_rows("attn.absorb_o", rows_ * h, m.v_head_dim, m.kv_lora_rank, h, Precision::kBf16);
      gemm("attn.wo", d, h * m.v_head_dim, lp);
    }
  } else {
    const GqaSpec& g = *s_.gqa;
    const int64_t kv = gqa_local_kv_heads(g.n_kv_heads, tp_);
    gemm("attn.wqkv", (h + 2 * kv) * g.head_dim, d, lp);
    pointwise("attn.rope", OpType::kRope, rows_, (h + kv) * int64_t{g.head_dim}, 3.0, 1, 1);
    op(attention_core(s_, o_, batch, q_len, tp_));
    gemm("attn.wo", d, h * int64_t{g.head_dim}, lp);
  }
  tp_scatter("attn");
  pointwise("attn.residual", OpType::kElementwise, rows_, d, 1.0, 2, 1);
}

void LayerBuilder::ffn_dense(int64_t inter_all, const std::string& prefix) {
  const int64_t inter = inter_all / tp_;
  tp_gather(prefix);
  gemm(prefix + ".w13", 2 * inter, s_.dim, o_.linear_precision);
  pointwise(prefix + ".swiglu", OpType::kActivation, rows_, inter, 5.0, 2, 1);
  gemm(prefix + ".w2", s_.dim, inter, o_.linear_precision);
  tp_scatter(prefix);
}

void LayerBuilder::moe() {
  const MoeSpec& m = *s_.moe;
  const int64_t d = s_.dim, k = m.n_activated_experts, t = rows_, rows = t * k;  // this GPU's tokens
  // Router: the scores GEMM stays out of FP8 (TR Sec. 3.3: the gating
  // module keeps its original precision). It runs on the BF16 tensor cores
  // with FP32 accumulation and output: train.json's three router GEMMs per
  // layer are cuBLAS sm90_xmma_gemm_bf16f32_bf16f32_f32 (tn forward, nt
  // weight gradient) and bf16bf16_bf16f32 (nn input gradient), 41-47 us
  // each. Then sigmoid/softmax, bias and the group scores (about 4 FLOPs
  // per score, the selections' compares included).
  gemm("moe.gate", m.n_routed_experts, d, o_.gate_precision);
  pointwise("moe.route", OpType::kRouter, t, m.n_routed_experts, 4.0, 1, 1);
  // The selections: with group-limited routing (TR 2.1.2: M of the
  // n_expert_groups groups, then the top-k experts within them) two top-k
  // per token, else one. train.json's gate runs two PyTorch top-k kernels
  // (at::native::sbtopk::gatherTopK, one block per token, 66-70 us each)
  // per layer. Read: the FP32 scores; written: k values and int64 indices.
  auto topk = [&](std::string name, int64_t candidates, int64_t selected) {
    Op o = elementwise_op(std::move(name), OpType::kTopK, Pass::kForward, Precision::kFp32,
                          ElementwiseShape{t, candidates}, 0.0, 1, 0);
    o.bytes_written = B(static_cast<uint64_t>(t * selected) * 12);
    op(std::move(o));
  };
  if (m.n_expert_groups > 1) topk("moe.topk_groups", m.n_expert_groups, m.n_limited_groups);
  topk("moe.topk", m.n_routed_experts, k);
  op(comm_op("moe.dispatch", OpType::kDispatch, Pass::kForward, o_.dispatch_precision, CommShape{t, rows, d}));
  gemm_rows("moe.up", rows, 2 * int64_t{m.moe_inter_dim}, d, m.n_routed_experts,
            o_.linear_precision);
  pointwise("moe.swiglu", OpType::kActivation, rows, m.moe_inter_dim, 5.0, 2, 1);
  gemm_rows("moe.down", rows, d, m.moe_inter_dim, m.n_routed_experts, o_.linear_precision);
  op(comm_op("moe.combine", OpType::kCombine, Pass::kForward, Precision::kBf16,
             CommShape{t, rows, d}));
  if (m.n_shared_experts > 0)
    ffn_dense(int64_t{m.n_shared_experts} * m.moe_inter_dim, "moe.shared");
}

}  // namespace

int64_t gqa_local_kv_heads(int64_t kv_heads, int64_t tp) {
  // Fewer KV heads than TP ranks: each rank keeps a replica of one.
  return std::max<int64_t>(1, kv_heads / std::max<int64_t>(1, tp));
}

Op attention_core(const ModelSpec& s, const OpListOptions& o, int64_t batch, int64_t q_len, int64_t tp) {
  const int64_t h = s.n_heads / std::max<int64_t>(1, tp);
  const bool decode = o.workload == Workload::kDecode;
  const int64_t prefix = o.workload == Workload::kPrefill ? std::max<int64_t>(0, o.prefix_len) : 0;
  const int64_t kv_len = o.seq_len + prefix;
  if (s.attention != AttentionKind::kMla) {
    const GqaSpec& g = *s.gqa;
    return attention_op("attn.core", Pass::kForward, o.attention_precision,
                        AttentionShape{batch, q_len, kv_len, h, gqa_local_kv_heads(g.n_kv_heads, tp), g.head_dim,
                                       g.head_dim, o.causal});
  }
  const MlaSpec& m = *s.mla;
  if (!o.mla_absorbed.value_or(decode))
    return attention_op("attn.core", Pass::kForward, o.attention_precision,
                        AttentionShape{batch, q_len, kv_len, h, h, m.qk_nope_head_dim + m.qk_rope_head_dim,
                                       m.v_head_dim, o.causal});
  const int64_t latent = m.kv_lora_rank + m.qk_rope_head_dim;
  Op core = attention_op("attn.core", Pass::kForward, o.attention_precision,
                         AttentionShape{batch, q_len, kv_len, h, 1, latent, m.kv_lora_rank, o.causal});
  // The values are the latent itself, the first kv_lora channels of the
  // keys: the cache (kv_lora + rope per token) is read once (FlashMLA).
  const uint64_t e = bytes_per_element(o.attention_precision);
  core.bytes_read = B(static_cast<uint64_t>(batch * q_len * h * latent) * e +
                      static_cast<uint64_t>(batch * kv_len * latent) * e);
  return core;
}

std::vector<LayerOps> build_op_list(const ModelSpec& s, const OpListOptions& o) {
  const bool decode = o.workload == Workload::kDecode;
  const int64_t q_len = decode ? std::max<int64_t>(1, o.decode_queries) : o.seq_len;
  const int64_t t = o.batch * q_len;
  std::vector<LayerOps> out;

  {
    // Vocabulary-parallel under TP: every GPU looks up all tokens in its
    // rows of the table, then the partial rows are reduce-scattered.
    LayerBuilder b(s, o, t, q_len);
    b.op(elementwise_op("embed", OpType::kEmbedding, Pass::kForward, Precision::kBf16,
                        ElementwiseShape{t, s.dim}, 0.0, 1, 1));
    b.tp_scatter("embed");
    out.push_back(b.finish("embed", LayerKind::kEmbedding));
  }
  auto block = [&](LayerBuilder& b, bool is_moe) {
    b.attention();
    b.norm("ffn_norm", s.dim);
    if (is_moe)
      b.moe();
    else
      b.ffn_dense(s.inter_dim, "ffn");
    b.pointwise("ffn.residual", OpType::kElementwise, b.rows(), s.dim, 1.0, 2, 1);
  };
  auto head = [&](LayerBuilder& b, const std::string& prefix) {
    b.norm(prefix + "norm", s.dim);
    b.tp_gather(prefix + "head");  // vocabulary-parallel head and loss under TP
    b.gemm(prefix + "head", s.vocab_size / b.tp(), s.dim, o.head_precision);  // BF16 by default (TR Sec. 3.3)
    if (o.workload == Workload::kTraining)
      b.pointwise(prefix + "loss", OpType::kLoss, b.rows(), s.vocab_size / b.tp(), 5.0, 1, 1);
  };
  const int n_dense = s.moe ? s.moe->n_dense_layers : s.n_layers;
  for (int i = 0; i < s.n_layers; ++i) {
    LayerBuilder b(s, o, t, q_len);
    const bool is_moe = s.moe && i >= n_dense;
    block(b, is_moe);
    out.push_back(b.finish("layer." + std::to_string(i), is_moe ? LayerKind::kMoe : LayerKind::kDense));
  }
  {
    LayerBuilder b(s, o, t, q_len);
    head(b, "");
    out.push_back(b.finish("head", LayerKind::kHead));
  }
  const bool mtp = o.workload == Workload::kTraining ? o.include_mtp : o.serving_mtp;
  if (mtp) {
    // Decode's draft pass: one position per sequence.
    const int64_t mtp_q = decode ? 1 : q_len;
    for (int k = 0; k < s.mtp_depth; ++k) {
      LayerBuilder b(s, o, o.batch * mtp_q, mtp_q);
      b.norm("mtp.hnorm", s.dim);
      b.norm("mtp.enorm", s.dim);
      b.gemm("mtp.eh_proj", s.dim, 2 * int64_t{s.dim}, o.linear_precision);
      block(b, s.moe.has_value());
      head(b, "mtp.");
      out.push_back(b.finish("mtp." + std::to_string(k), LayerKind::kMtp));
    }
  }
  return out;
}

Flops total_flops(const std::vector<LayerOps>& layers, std::optional<Pass> pass, bool matmul_only) {
  Flops sum;
  for (const auto& l : layers)
    for (const auto& op : l.ops) {
      if (pass && op.pass != *pass) continue;
      if (matmul_only && op.kind != OpType::kGemm && op.kind != OpType::kGroupedGemm &&
          op.kind != OpType::kAttention)
        continue;
      sum += op.flops;
    }
  return sum;
}

}  // namespace codesim::models
