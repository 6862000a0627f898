#include "models/ops.hpp"

#include <algorithm>

namespace codesim::models {
namespace {

uint64_t ceil_div(int64_t a, int64_t b) { return static_cast<uint64_t>((a + b - 1) / b); }
uint64_t u(int64_t v) { return static_cast<uint64_t>(v); }

}  // namespace

uint64_t activation_scale_bytes(Precision p, int64_t rows, int64_t cols) {
  return p == Precision::kFp8E4M3 ? u(rows) * ceil_div(cols, 128) * 4 : 0;
}
uint64_t weight_scale_bytes(Precision p, int64_t rows, int64_t cols) {
  return p == Precision::kFp8E4M3 ? ceil_div(rows, 128) * ceil_div(cols, 128) * 4 : 0;
}

double attention_pairs(const AttentionShape& s) {
  const double q = static_cast<double>(s.q_len), kv = static_cast<double>(s.kv_len);
  if (!s.causal) return q * kv;
  // Queries are the last q_len positions of the kv_len keys.
  return q * (kv - q) + q * q / 2.0;
}

Op gemm_op(std::string name, Pass pass, Precision precision, GemmShape s) {
  Op op;
  op.name = std::move(name);
  op.kind = s.groups > 1 ? OpType::kGroupedGemm : OpType::kGemm;
  op.pass = pass;
  op.precision = precision;
  op.shape = s;
  op.flops = Flops::from_count(2.0 * static_cast<double>(s.m) * static_cast<double>(s.n) *
                               static_cast<double>(s.k));
  const uint64_t e = bytes_per_element(precision);
  const uint64_t a = u(s.m) * u(s.k) * e + activation_scale_bytes(precision, s.m, s.k);
  const uint64_t b =
      u(s.groups) * (u(s.k) * u(s.n) * e + weight_scale_bytes(precision, s.k, s.n));
  const uint64_t c = u(s.m) * u(s.n) * 2;  // BF16 output
  op.bytes_read = B(a + b);
  op.bytes_written = B(c);
  return op;
}

Op gemm_backward_input(const Op& f) {
  const auto& s = std::get<GemmShape>(f.shape);
  return gemm_op(f.name + ".dgrad", Pass::kBackwardInput, f.precision,
                 GemmShape{s.m, s.k, s.n, s.groups});
}

Op gemm_backward_weight(const Op& f) {
  const auto& s = std::get<GemmShape>(f.shape);
  // dW[k,n] = X^T[k,m] dY[m,n] for each group; m rows in total.
  Op op;
  op.name = f.name + ".wgrad";
  op.kind = f.kind;
  op.pass = Pass::kBackwardWeight;
  op.precision = f.precision;
  op.shape = GemmShape{s.k, s.n, s.m, s.groups};
  op.flops = Flops::from_count(2.0 * static_cast<double>(s.m) * static_cast<double>(s.n) *
                               static_cast<double>(s.k));
  const uint64_t e = bytes_per_element(f.precision);
  op.bytes_read = B(u(s.m) * u(s.k) * e + activation_scale_bytes(f.precision, s.k, s.m) +
                    u(s.m) * u(s.n) * e + activation_scale_bytes(f.precision, s.n, s.m));
  op.bytes_written = B(u(s.groups) * u(s.k) * u(s.n) * 4);
  return op;
}

Op attention_op(std::string name, Pass pass, Precision precision, AttentionShape s) {
  Op op;
  op.name = std::move(name);
  op.kind = OpType::kAttention;
  op.pass = pass;
  op.precision = precision;
  op.shape = s;
  const double fwd = 2.0 * static_cast<double>(s.batch) * static_cast<double>(s.n_heads) *
                     attention_pairs(s) * static_cast<double>(s.qk_dim + s.v_dim);
  op.flops = Flops::from_count(pass == Pass::kForward ? fwd : 2.5 * fwd);
  const uint64_t e = bytes_per_element(precision);
  const uint64_t q = u(s.batch) * u(s.q_len) * u(s.n_heads) * u(s.qk_dim) * e;
  const uint64_t kv = u(s.batch) * u(s.kv_len) * u(s.n_kv_heads) * u(s.qk_dim + s.v_dim) * e;
  const uint64_t o = u(s.batch) * u(s.q_len) * u(s.n_heads) * u(s.v_dim) * 2;
  if (pass == Pass::kForward) {
    op.bytes_read = B(q + kv);
    op.bytes_written = B(o);
  } else {  // reads q, k, v, o, dO; writes dq, dk, dv
    op.bytes_read = B(q + kv + 2 * o);
    op.bytes_written = B(q + kv);
  }
  return op;
}

Op elementwise_op(std::string name, OpType kind, Pass pass, Precision precision,
                  ElementwiseShape s, double flops_per_element, int inputs, int outputs) {
  Op op;
  op.name = std::move(name);
  op.kind = kind;
  op.pass = pass;
  op.precision = precision;
  op.shape = s;
  const double n = static_cast<double>(s.rows) * static_cast<double>(s.cols);
  op.flops = Flops::from_count(flops_per_element * n);
  const uint64_t bytes = u(s.rows) * u(s.cols) * bytes_per_element(precision);
  op.bytes_read = B(bytes * static_cast<uint64_t>(inputs));
  op.bytes_written = B(bytes * static_cast<uint64_t>(outputs));
  return op;
}

Op comm_op(std::string name, OpType kind, Pass pass, Precision precision, CommShape s) {
  Op op;
  op.name = std::move(name);
  op.kind = kind;
  op.pass = pass;
  op.precision = precision;
  op.shape = s;
  const uint64_t per_copy = u(s.hidden) * bytes_per_element(precision) +
                            activation_scale_bytes(precision, 1, s.hidden);
  op.bytes_read = B(per_copy * u(s.copies));
  op.bytes_written = B(per_copy * u(s.copies));
  return op;
}

Op op_from_record(const OpRecord& r) {
  Op op;
  op.name = r.name;
  op.pass = Pass::kForward;
  op.precision = r.precision;
  op.flops = r.flops;
  op.bytes_read = r.bytes_read;
  op.bytes_written = r.bytes_written;
  op.layer_hint = r.layer;
  auto at = [&r](size_t i) { return i < r.shape.size() ? r.shape[i] : int64_t{0}; };
  switch (r.kind) {
    case OpKind::kGemm:
      op.kind = OpType::kGemm;
      op.shape = GemmShape{at(0), at(1), at(2), 1};
      break;
    case OpKind::kGroupedGemm:
      op.kind = OpType::kGroupedGemm;
      op.shape = GemmShape{at(0), at(1), at(2), std::max<int64_t>(1, at(3))};
      break;
    case OpKind::kAttention: {
      op.kind = OpType::kAttention;
      const bool causal = static_cast<double>(at(5)) < static_cast<double>(at(1)) *
                                                        static_cast<double>(at(2));
      op.shape = AttentionShape{1, at(1), at(2), at(0), at(0), at(3), at(4), causal};
      break;
    }
    case OpKind::kEmbedding:
      op.kind = OpType::kEmbedding;
      op.shape = ElementwiseShape{at(0), at(1)};
      break;
    case OpKind::kRmsNorm:
      op.kind = OpType::kNorm;
      op.shape = ElementwiseShape{at(0), at(1)};
      break;
    case OpKind::kRope:
      op.kind = OpType::kRope;
      op.shape = ElementwiseShape{at(0), at(1)};
      break;
    case OpKind::kSwiglu:
      op.kind = OpType::kActivation;
      op.shape = ElementwiseShape{at(0), at(1)};
      break;
    case OpKind::kGate:
      op.kind = OpType::kRouter;
      op.shape = ElementwiseShape{at(0), at(1)};
      break;
    case OpKind::kMoeCombine:
      op.kind = OpType::kElementwise;
      op.shape = ElementwiseShape{at(0) * at(1), at(2)};
      break;
    case OpKind::kResidualAdd:
    case OpKind::kConcat:
      op.kind = OpType::kElementwise;
      op.shape = ElementwiseShape{at(0), at(1)};
      break;
  }
  return op;
}

}  // namespace codesim::models
