#include "workloads/calibration_table.hpp"

#include "topology/catalog.hpp"

namespace codesim::workloads {
namespace {

using models::GemmShape;
using models::Pass;
using models::Precision;

double gemm_ms(const ComputeCalibration& cal, int sms, GemmShape s, Pass pass = Pass::kForward) {
  models::Op op = models::gemm_op("gemm", pass, Precision::kFp8E4M3, s);
  if (s.groups > 1) op.kind = models::OpType::kGroupedGemm;
  return time_op(op, h800_compute(), cal, sms).time / Milliseconds(1);
}

}  // namespace

GpuCompute h800_compute() {
  const topology::GpuSpec* g = topology::find_gpu("h800_sxm");
  if (!g) return GpuCompute{TFlops(989), TFlops(1979), TBps(3.35), 132};
  return GpuCompute{g->bf16_dense, g->fp8_dense, g->hbm_bandwidth, g->sms};
}

std::vector<CalibrationRow> calibration_table(const ComputeCalibration& cal) {
  std::vector<CalibrationRow> rows;
  // DeepGEMM README @55ab91f (Mar 2025), H800 SXM5, all 132 SMs: (groups,
  // rows per group, N, K, TFLOPS). Fitted (gemm_fp8, calibration.yaml).
  struct Dg { int g; int64_t m, n, k; double tflops; };
  const Dg dg[] = {{1, 4096, 2112, 7168, 1009}, {1, 4096, 24576, 1536, 1125}, {1, 4096, 32768, 512, 751},
                   {1, 4096, 7168, 16384, 1426}, {1, 4096, 4096, 7168, 1265}, {1, 4096, 7168, 2048, 1168},
                   {4, 8192, 4096, 7168, 1346},  {4, 8192, 7168, 2048, 1214}, {8, 4096, 4096, 7168, 1346},
                   {8, 4096, 7168, 2048, 1214},  {1, 1024, 4096, 7168, 1233}, {1, 1024, 7168, 2048, 925},
                   {2, 512, 4096, 7168, 1040},   {2, 512, 7168, 2048, 916},   {4, 256, 4096, 7168, 932},
                   {4, 256, 7168, 2048, 815}};
  for (const auto& d : dg) {
    const GemmShape s{d.m * d.g, d.n, d.k, d.g};
    const double flops = 2.0 * static_cast<double>(s.m) * s.n * s.k;
    CalibrationRow r;
    r.kernel = "FP8 GEMM " + std::to_string(d.g) + "x" + std::to_string(d.m) + "x" + std::to_string(d.n) +
               "x" + std::to_string(d.k);
    r.source = "DeepGEMM";
    r.fitted = true;
    r.measured_ms = flops / (d.tflops * 1e12) * 1e3;
    r.modelled_ms = gemm_ms(cal, 132, s);
    rows.push_back(r);
  }

  // profile-data train.json (H800, EP64, one 4,096-token micro-batch, GEMMs on
  // 112 SMs): per-layer kernel means over the 4 layers of the trace
  // (shared/reference/deepseek-v3-published.md Sec. 3.9, T29).
  const int sms = 112;
  auto add = [&](std::string name, bool fitted, double measured, double modelled) {
    rows.push_back(CalibrationRow{std::move(name), "train.json", fitted, measured, modelled});
  };
  const models::AttentionShape attn{1, 4096, 4096, 128, 128, 192, 128, true};
  const auto fa_f = models::attention_op("fa", Pass::kForward, Precision::kBf16, attn);
  const auto fa_b = models::attention_op("fa", Pass::kBackwardInput, Precision::kBf16, attn);
  add("FlashAttention fwd, 4096 causal x 128 heads", true, 1.237,
      time_op(fa_f, h800_compute(), cal, sms).time / Milliseconds(1));
  add("FlashAttention bwd, 4096 causal x 128 heads", true, 3.779,
      time_op(fa_b, h800_compute(), cal, sms).time / Milliseconds(1));
  add("MoE up grouped FP8 32768x4096x7168 / 4 experts", false, 1.74,
      gemm_ms(cal, sms, GemmShape{32768, 4096, 7168, 4}));
  add("MoE down grouped FP8 32768x7168x2048 / 4 experts", false, 0.95,
      gemm_ms(cal, sms, GemmShape{32768, 7168, 2048, 4}));
  add("attention output proj FP8 4096x7168x16384", false, 0.90,
      gemm_ms(cal, sms, GemmShape{4096, 7168, 16384, 1}));
  add("shared expert up FP8 4096x4096x7168", false, 0.26, gemm_ms(cal, sms, GemmShape{4096, 4096, 7168, 1}));
  add("shared expert down FP8 4096x7168x2048", false, 0.13, gemm_ms(cal, sms, GemmShape{4096, 7168, 2048, 1}));
  // The router's three cuBLAS BF16 GEMMs (m x n x k): fitted (gemm_bf16's
  // shape knees). The backward ones as models::gemm_backward_input/_weight
  // shape them.
  const models::Op gate = models::gemm_op("gate", Pass::kForward, Precision::kBf16,
                                          GemmShape{4096, 256, 7168, 1});
  auto op_ms = [&](const models::Op& op) { return time_op(op, h800_compute(), cal, sms).time / Milliseconds(1); };
  add("router BF16 4096x256x7168", true, 0.0465, op_ms(gate));
  add("router input-grad BF16 4096x7168x256", true, 0.0405, op_ms(models::gemm_backward_input(gate)));
  add("router weight-grad BF16 7168x256x4096", true, 0.0472, op_ms(models::gemm_backward_weight(gate)));
  // One of the gate's two PyTorch top-k kernels (gatherTopK): fitted
  // (topk_row_time).
  models::Op topk = models::elementwise_op("topk", models::OpType::kTopK, Pass::kForward, Precision::kFp32,
                                           models::ElementwiseShape{4096, 256}, 0.0, 1, 0);
  add("router top-k (gatherTopK) 4096 rows x 256", true, 0.0705, op_ms(topk));
  // Weight-gradient GEMMs of one MoE layer (union of streams 7 and 23): fitted.
  double wgrad = 0;
  for (GemmShape f : {GemmShape{32768, 4096, 7168, 4}, GemmShape{32768, 7168, 2048, 4},
                      GemmShape{4096, 4096, 7168, 1}, GemmShape{4096, 7168, 2048, 1},
                      GemmShape{4096, 1536, 7168, 1}, GemmShape{4096, 576, 7168, 1},
                      GemmShape{4096, 24576, 1536, 1}, GemmShape{4096, 32768, 512, 1},
                      GemmShape{4096, 7168, 16384, 1}}) {
    models::Op op = models::gemm_op("w", Pass::kForward, Precision::kFp8E4M3, f);
    if (f.groups > 1) op.kind = models::OpType::kGroupedGemm;
    wgrad += time_op(models::gemm_backward_weight(op), h800_compute(), cal, sms).time / Milliseconds(1);
  }
  add("weight-gradient GEMMs of one MoE layer (sum)", true, 6.874, wgrad);
  return rows;
}

}  // namespace codesim::workloads
