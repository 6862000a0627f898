#include "workloads/compute_model.hpp"

#include <algorithm>
#include <variant>

namespace codesim::workloads {
namespace {

double gemm_eff(const GemmEfficiency& e, double m, double n, double k) {
  auto f = [](double x, double half) { return half <= 0 ? 1.0 : x / (x + half); };
  return e.peak_fraction * f(k, e.k_half) * f(n, e.n_half) * f(m, e.m_half);
}

using models::is_fp8;

void check_fraction(config::Reader& r, double v, std::string_view key) {
  r.check(v > 0 && v <= 1, key, "must be in (0, 1], got " + std::to_string(v));
}

}  // namespace

void ComputeCalibration::validate(config::Reader& r) {
  check_fraction(r, gemm_fp8.peak_fraction, "gemm_fp8");
  check_fraction(r, gemm_bf16.peak_fraction, "gemm_bf16");
  check_fraction(r, gemm_fp8_wgrad.peak_fraction, "gemm_fp8_wgrad");
  check_fraction(r, attention_forward.peak_fraction, "attention_forward");
  check_fraction(r, attention_backward.peak_fraction, "attention_backward");
  check_fraction(r, attention_decode.peak_fraction, "attention_decode");
  check_fraction(r, memory_fraction, "memory_fraction");
  check_fraction(r, elementwise_fraction, "elementwise_fraction");
  check_fraction(r, stream_occupancy, "stream_occupancy");
  check_fraction(r, deepep_dispatch_fraction, "deepep_dispatch_fraction");
  check_fraction(r, deepep_combine_fraction, "deepep_combine_fraction");
  r.check(deepep_fit_sms >= 1, "deepep_fit_sms", "must be >= 1");
  r.check(launch_overhead >= Duration::zero(), "launch_overhead", "must be >= 0");
  r.check(topk_row_time >= Duration::zero(), "topk_row_time", "must be >= 0");
  r.check(serving.is_map() || serving.is_null(), "serving",
          "must be a mapping of the serving step model's constants (see workloads/calibration.yaml)");
}

std::string default_calibration_path() {
  return std::string(CODESIM_SOURCE_DIR) + "/workloads/calibration.yaml";
}

bool load_calibration(const std::string& path, ComputeCalibration& out,
                      config::Diagnostics& diags) {
  return config::load(path, {}, out, diags);
}

ComputeCalibration default_calibration(config::Diagnostics* diags) {
  ComputeCalibration c;
  config::Diagnostics local;
  if (!load_calibration(default_calibration_path(), c, diags ? *diags : local))
    return ComputeCalibration{};
  return c;
}

OpTime time_op(const models::Op& op, const GpuCompute& gpu, const ComputeCalibration& cal,
               int sms_available) {
  OpTime t;
  if (op.kind == models::OpType::kDispatch || op.kind == models::OpType::kCombine ||
      op.kind == models::OpType::kTpComm)
    return t;
  const double sm_share =
      gpu.sms > 0 ? std::clamp(static_cast<double>(sms_available) / gpu.sms, 0.0, 1.0) : 1.0;
  const Bytes bytes = op.bytes_read + op.bytes_written;
  double mem_fraction = cal.memory_fraction;
  FlopRate peak;
  double eff = 0;

  switch (op.kind) {
    case models::OpType::kGemm:
    case models::OpType::kGroupedGemm: {
      const auto& s = std::get<models::GemmShape>(op.shape);
      const double groups = static_cast<double>(std::max<int64_t>(1, s.groups));
      // Forward/dgrad: m is the row count over all groups. Weight gradient
      // (Pass::kBackwardWeight) has shape (k, n, m_total): the depth is split
      // over the groups instead.
      double m = static_cast<double>(s.m), n = static_cast<double>(s.n),
             k = static_cast<double>(s.k);
      if (op.pass == models::Pass::kBackwardWeight)
        k /= groups;
      else
        m /= groups;
      const bool fp8 = is_fp8(op.precision);
      peak = fp8 ? gpu.fp8_dense : gpu.bf16_dense;
      if (op.precision == models::Precision::kFp32) peak = gpu.bf16_dense * 0.5;  // TF32 path
      const GemmEfficiency& fam = !fp8 ? cal.gemm_bf16
                                  : op.pass == models::Pass::kBackwardWeight ? cal.gemm_fp8_wgrad
                                                                             : cal.gemm_fp8;
      eff = gemm_eff(fam, m, n, k);
      break;
    }
    case models::OpType::kAttention: {
      const auto& s = std::get<models::AttentionShape>(op.shape);
      const AttentionEfficiency* e = &cal.attention_forward;
      if (op.pass != models::Pass::kForward)
        e = &cal.attention_backward;
      else if (s.q_len <= cal.decode_max_queries)
        e = &cal.attention_decode;
      peak = gpu.bf16_dense;
      if (is_fp8(op.precision)) peak = gpu.fp8_dense;
      const double kv = static_cast<double>(s.kv_len);
      eff = e->peak_fraction * (e->kv_half > 0 ? kv / (kv + e->kv_half) : 1.0);
      mem_fraction = e->memory_fraction;
      break;
    }
    case models::OpType::kTopK: {  // one block per row: SM time per row over the SMs
      const auto& s = std::get<models::ElementwiseShape>(op.shape);
      if (sms_available > 0)
        t.compute_time = cal.topk_row_time * (static_cast<double>(s.rows) / sms_available);
      mem_fraction = cal.elementwise_fraction;
      break;
    }
    default:  // norms, casts, activations, router, embedding, loss: memory-bound
      peak = gpu.bf16_dense;
      eff = 0;
      mem_fraction = cal.elementwise_fraction;
      break;
  }

  if (eff > 0 && peak.per_second() > 0)
    t.compute_time = op.flops / (peak * (sm_share * eff));
  t.memory_time = bytes / (gpu.hbm * mem_fraction);
  t.memory_bound = t.memory_time > t.compute_time;
  t.efficiency = eff;
  t.time = std::max(t.compute_time, t.memory_time) + cal.launch_overhead;
  return t;
}

std::vector<models::Op> auxiliary_kernels(const models::Op& g) {
  std::vector<models::Op> out;
  auto stream = [&](const std::string& what, double read, double written) {
    models::Op op = models::elementwise_op(g.name + "." + what, models::OpType::kElementwise, g.pass,
                                           models::Precision::kBf16, models::ElementwiseShape{1, 1},
                                           0.0, 0, 0);
    op.bytes_read = Bytes::from_double(read);
    op.bytes_written = Bytes::from_double(written);
    out.push_back(op);
  };
  if (g.kind == models::OpType::kAttention && g.pass != models::Pass::kForward) {
    const auto& a = std::get<models::AttentionShape>(g.shape);
    const double q = static_cast<double>(a.batch) * a.q_len * a.n_heads;
    stream("bwd_pre", 2.0 * 2.0 * q * a.v_dim, 4.0 * q);
    stream("bwd_post", 4.0 * q * a.qk_dim, 2.0 * q * a.qk_dim);
    return out;
  }
  // elements of a BF16 tensor read (2 B), or of an FP8 one re-tiled (1 B +
  // a 4 B scale per 128), written as FP8 (1 B + a 4 B scale per 128).
  auto cast = [&](const std::string& what, int64_t rows, int64_t cols, bool from_fp8 = false) {
    models::Op op = models::elementwise_op(g.name + ".cast_" + what, models::OpType::kElementwise,
                                           g.pass, models::Precision::kBf16,
                                           models::ElementwiseShape{rows, cols}, 2.0, 1, 0);
    const double elems = static_cast<double>(rows) * static_cast<double>(cols);
    op.bytes_written = Bytes::from_double(elems * (1.0 + 4.0 / 128));
    if (from_fp8) op.bytes_read = op.bytes_written;
    out.push_back(op);
  };
  // An FP8 dispatch quantises the sender's tokens once, before they leave
  // (TR 3.3.3; train.json: a 4096-row per-token cast in attn(F), and one on
  // the DeepEP stream in combine(B) before the gradients' dispatch).
  if (g.kind == models::OpType::kDispatch) {
    if (is_fp8(g.precision)) {
      const auto& c = std::get<models::CommShape>(g.shape);
      cast("send", c.tokens, c.hidden);
    }
    return out;
  }
  if (g.kind != models::OpType::kGemm && g.kind != models::OpType::kGroupedGemm) return out;
  const auto& s = std::get<models::GemmShape>(g.shape);
  if (g.kind == models::OpType::kGroupedGemm && g.pass != models::Pass::kBackwardWeight) {
    const double e = static_cast<double>(s.m) * static_cast<double>(s.k) * 2.0;
    stream("permute", e, e);
  }
  if (!is_fp8(g.precision)) return out;
  if (g.pass == models::Pass::kBackwardWeight) {
    // The transposed (128x1-tile) copies of X and dY. A tensor the step has
    // in BF16 (a recomputed or cached activation, a gradient the
    // input-gradient pass produces) is quantised into both layouts there,
    // in B; one that arrived in FP8 through a dispatch is re-tiled from FP8
    // by the weight-gradient pass itself (TR 3.5.2). train.json: attn(W) has
    // no cast kernel, mlp(W) exactly two, both 32512 x 7168 FP8-to-FP8
    // cast-and-transposes (the routed up-projection's X, the routed
    // down-projection's dY); mlp(B) and attn(B) hold the others.
    cast("x_t", s.m, s.k, g.input_fp8);   // shape (k_fwd, n_fwd, m_tokens): X is m_tokens x k_fwd
    if (!g.input_fp8) out.back().pass = models::Pass::kBackwardInput;
    cast("dy_t", s.n, s.k, g.grad_fp8);  // dY is m_tokens x n_fwd
    if (!g.grad_fp8) out.back().pass = models::Pass::kBackwardInput;
  } else if (!g.input_fp8) {  // rows that came through an FP8 dispatch are FP8 already
    cast("a", s.m, s.k);
  }
  if (g.input_e5m6 && g.pass == models::Pass::kForward) {
    // The attention output kept for the backward in E5M6 (TR 3.3.3;
    // models::kE5m6BytesPerElement). train.json: attn(F)
    // runs per_token_cast_to_fp8_with_fp8_special_fmt on 4096 x 16384
    // (185 us) beside the wo input's own 1x128 cast (110 us).
    cast("cache_e5m6", s.m, s.k);
    const double elems = static_cast<double>(s.m) * static_cast<double>(s.k);
    out.back().bytes_written = Bytes::from_double(elems * models::kE5m6BytesPerElement);
  }
  return out;
}

Duration time_ops(const std::vector<models::Op>& ops, const GpuCompute& gpu,
                  const ComputeCalibration& cal, int sms_available) {
  Duration sum;
  for (const auto& op : ops) sum += time_op(op, gpu, cal, sms_available).time;
  return sum;
}

}  // namespace codesim::workloads
