#include "workloads/serving_step.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>

#include "models/eplb.hpp"
#include "sim/strings.hpp"
#include "topology/generators.hpp"
#include "workloads/fabric_comm.hpp"
#include "workloads/training.hpp"

namespace codesim::workloads {
namespace {

double d(int64_t v) { return static_cast<double>(v); }
Flops flops(double v) { return Flops::from_count(v); }
Bytes bytes(double v) { return Bytes::from_double(v); }

// The compute model's constants (the top level of workloads/calibration.yaml,
// fitted to H800 kernels only), loaded once.
const ComputeCalibration& kernel_calibration() {
  static const ComputeCalibration c = default_calibration();
  return c;
}

// Grid of the decode tables: tokens per micro-batch per GPU, 4 points per
// octave from 1 to 2^16.
std::vector<double> decode_grid() {
  std::vector<double> q;
  for (int i = 0; i <= 64; ++i) {
    const double v = std::round(std::exp2(i / 4.0));
    if (q.empty() || v > q.back()) q.push_back(v);
  }
  return q;
}

}  // namespace

StepModel::StepModel(const ServingSpec& spec, const PoolPlan& plan, bool prefill)
    : spec_(&spec), plan_(plan), prefill_(prefill) {
  const models::ModelSpec& m = spec.model;
  const ServingHardware& hw = spec.hardware;
  const ServingCalibration& cal = spec.calibration;
  params_ = models::count_params(m);
  ep_bytes_ = models::ep_bytes_per_token(m);
  const double t = plan.attention_tp;
  const double L = m.n_layers;
  n_moe_ = m.moe ? m.n_layers - m.moe->n_dense_layers : 0;
  n_dense_ = m.n_layers - n_moe_;

  // FP8 linear weights (1 B per parameter; the 128x128 block scales add
  // 4 B / 16384 and are left out), BF16 embedding and output head.
  attn_weight_bytes_ = L * d(params_.attention) / t;
  if (m.moe) {
    const models::MoeSpec& moe = *m.moe;
    slots_per_gpu_ = workloads::expert_slots_per_gpu(moe.n_routed_experts, plan.redundant_experts, plan.ep);
    // Dense FFNs of the first layers run TP1 (replicated), as in DeepSeek-V3's deployment.
    dense_weight_bytes_ = n_dense_ * d(params_.dense_ffn) +
                          n_moe_ * (moe.n_shared_experts * d(params_.expert) + d(params_.moe_gate));
    routed_weight_bytes_ = n_moe_ * static_cast<double>(slots_per_gpu_) * d(params_.expert);
    if (m.mtp_depth > 0) {
      const double block_routed = moe.n_routed_experts * d(params_.expert);
      mtp_weight_bytes_ = d(params_.mtp_module) - block_routed - d(params_.attention) +
                          d(params_.attention) / t + static_cast<double>(slots_per_gpu_) * d(params_.expert);
    }
  } else {
    dense_weight_bytes_ = L * d(params_.dense_ffn) / t;
  }
  // Vocabulary-parallel head and embedding over head_tp GPUs (dense models
  // also split them over the attention TP group).
  const double head_split = std::max<double>(plan.head_tp, m.moe ? 1.0 : t);
  head_weight_bytes_ = 2.0 * d(params_.output_head) / head_split;
  const double embedding = 2.0 * d(params_.embedding) / head_split;

  memory_.weights = bytes(attn_weight_bytes_ + dense_weight_bytes_ + routed_weight_bytes_ +
                          m.mtp_depth * mtp_weight_bytes_ + head_weight_bytes_ + embedding);
  memory_.reserve = cal.activation_reserve;
  const Bytes used = memory_.weights + memory_.reserve;
  memory_.fits = used < hw.hbm_capacity;
  memory_.kv_free = memory_.fits ? hw.hbm_capacity - used : B(0);
  // KV per request held by one GPU, amortised over the attention TP group:
  // MLA's latent is shared by all heads, so every TP rank keeps the whole of
  // it; GQA splits its KV heads over up to n_kv_heads ranks.
  const Bytes kv = models::kv_cache_bytes_per_token(m, plan.kv_precision);
  double share = t;
  if (m.attention == models::AttentionKind::kGqa) share = t / std::min<double>(t, m.gqa->n_kv_heads);
  memory_.kv_per_token = bytes(kv.as_double() * share);

  gemm_rate_ = hw.fp8_peak * (cal.gemm_efficiency * cal.system_efficiency);
  attn_rate_ = hw.bf16_peak * (cal.attention_efficiency * cal.system_efficiency);
  gemm_bw_ = hw.hbm_bandwidth * cal.hbm_efficiency;
  attn_bw_ = hw.hbm_bandwidth * cal.attention_hbm_efficiency;
  // Only prefill's normal kernels deduplicate per node (decode sends one
  // copy per destination GPU).
  if (m.moe && plan.ep > 1 && prefill)
    remote_nodes_ = gate_fanout(m, plan.ep, std::min(hw.gpus_per_node, plan.ep), 0).remote_nodes;
  place_experts();
  build_kernels();
  replay_comm();
  if (m.moe && plan.ep > 1 && plan.micro_batches == 2) {
    if (stage_overlap())
      compute_timing_ += prefill ? "; overlap: 2-stage pipeline (attention | experts), each all-to-all behind the "
                                   "other micro-batch's stage"
                                 : "; overlap: DeepSeek's 5-stage decode pipeline, dispatch behind the shared "
                                   "expert and the other micro-batch's attn_0, combine behind its attn_1";
    else
      compute_timing_ += plan.overlap == OverlapModel::kStages
                             ? "; overlap: ideal, max(compute, all-to-all) per MoE layer (the roofline has no "
                               "per-stage times)"
                             : "; overlap: ideal, max(compute, all-to-all) per MoE layer";
  }
}

void StepModel::build_kernels() {
  const models::ModelSpec& m = spec_->model;
  const ServingHardware& hw = spec_->hardware;
  const ComputeCalibration& cal = kernel_calibration();
  const std::string roofline = "group roofline, compute-bound rates x system_efficiency (calibration.yaml serving:)";
  const bool wanted = plan_.compute == ComputeTiming::kKernels || (plan_.compute == ComputeTiming::kAuto && !prefill_);
  if (!wanted) {
    compute_timing_ = roofline;
    return;
  }
  if (plan_.attention_tp != 1) {
    compute_timing_ = roofline + "; attention TP > 1 is not on the per-op kernel model";
    return;
  }
  kernel_gpu_ = GpuCompute{hw.bf16_peak, hw.fp8_peak, hw.hbm_bandwidth, hw.sms};
  // Decode's low-latency all-to-all occupies no SMs; prefill's normal
  // kernels hold prefill_a2a_sms of them (calibration) for the compute.
  kernel_sms_ = prefill_ ? std::max(1, hw.sms - spec_->calibration.prefill_a2a_sms) : hw.sms;
  auto time = [&](const models::Op& op) { return kernel_time(op); };
  const int slots = std::max(1, slots_per_gpu_);
  const int64_t head_split = std::max(1, plan_.head_tp);
  // Layers of one kind run the same ops: the op lists are built for a model
  // of one dense and one MoE layer, whose times count n_dense and n_moe times.
  models::ModelSpec one = m;
  one.n_layers = (n_dense_ > 0 ? 1 : 0) + (n_moe_ > 0 ? 1 : 0);
  if (one.moe) one.moe->n_dense_layers = n_dense_ > 0 ? 1 : 0;
  auto times = [&](const models::LayerOps& l) -> int64_t {
    if (l.kind == models::LayerKind::kDense) return n_dense_;
    if (l.kind == models::LayerKind::kMoe) return n_moe_;
    return 1;
  };
  models::OpListOptions o;
  o.workload = prefill_ ? models::Workload::kPrefill : models::Workload::kDecode;
  o.seq_len = 1;
  // Decode: the MTP draft pass; prefill: the MTP module over the prompt
  // when the deployment drafts (it needs its own KV).
  o.serving_mtp = m.mtp_depth > 0 && (!prefill_ || spec_->mtp.depth > 0);
  KernelTables k;
  k.q = decode_grid();
  size_t ops_per_mb = 0;
  for (double q : k.q) {
    // Tokens per micro-batch: decode, q sequences of one position; prefill,
    // one sequence of q tokens (attention and the cached prefix are per call).
    o.batch = prefill_ ? 1 : static_cast<int64_t>(q);
    if (prefill_) o.seq_len = static_cast<int64_t>(q);
    const std::vector<models::LayerOps> layers = models::build_op_list(one, o);
    Duration other, experts, mtp;
    Duration stage[4];  // one MoE layer: pre, post, shared, mlp (KernelTables)
    size_t ops = 0;
    for (const auto& l : layers) {
      const bool is_mtp = l.kind == models::LayerKind::kMtp;
      if (is_mtp && l.name != "mtp.0") continue;  // one module
      // Prefill: the head (and the MTP module's) runs once per request, per call.
      if (prefill_ && l.kind == models::LayerKind::kHead) continue;
      Duration l_other, l_experts;
      int at_stage = 0;  // MoE layer: 0 before the core, 1 up to the dispatch, then 2/3
      for (const auto& op : l.ops) {
        if (op.kind == models::OpType::kAttention) at_stage = 1;
        if (op.kind == models::OpType::kDispatch) at_stage = 3;
        if (op.kind == models::OpType::kAttention || op.kind == models::OpType::kDispatch ||
            op.kind == models::OpType::kCombine)
          continue;
        if (prefill_ && (op.name == "mtp.norm" || op.name == "mtp.head")) continue;
        if (!is_mtp) ops += static_cast<size_t>(times(l));
        Duration& sink = is_mtp && !prefill_ ? mtp : (op.kind == models::OpType::kGroupedGemm ? l_experts : l_other);
        const Duration before = sink;
        if (op.kind == models::OpType::kGroupedGemm) {
          // The rows this GPU's slots receive (the busiest GPU's, as every
          // layer waits for it); only the slots that get a row read weights:
          // rows spread over them as Poisson, 1 - exp(-rows / slot) active.
          const auto& g = std::get<models::GemmShape>(op.shape);
          const double rows = d(g.m) * expert_imbalance(d(g.m));
          const double active = std::clamp(slots * (1 - std::exp(-rows / slots)), 1.0, static_cast<double>(slots));
          const double lo = std::floor(active), f = active - lo;
          auto at = [&](double groups) {
            models::Op r = models::gemm_op(op.name, op.pass, op.precision,
                                           models::GemmShape{std::max<int64_t>(1, std::llround(rows)), g.n, g.k,
                                                             static_cast<int64_t>(groups)});
            r.kind = models::OpType::kGroupedGemm;
            r.input_fp8 = op.input_fp8;
            return time(r);
          };
          sink += f > 0 ? at(lo) * (1 - f) + at(lo + 1) * f : at(lo);
        } else if (op.kind == models::OpType::kGemm && (op.name == "head" || op.name == "mtp.head")) {
          // Vocabulary-parallel over head_tp GPUs: every GPU takes all of
          // their positions against its slice of the vocabulary.
          const auto& g = std::get<models::GemmShape>(op.shape);
          sink += time(models::gemm_op(op.name, op.pass, op.precision,
                                       models::GemmShape{g.m * head_split, (g.n + head_split - 1) / head_split, g.k, 1}));
        } else {
          sink += time(op);
        }
        if (l.kind == models::LayerKind::kMoe)
          stage[at_stage == 3 && op.name.rfind("moe.shared", 0) == 0 ? 2 : at_stage] += sink - before;
      }
      other += l_other * times(l);
      experts += l_experts * times(l);
    }
    ops_per_mb = ops;
    k.other_ps.push_back(static_cast<double>(other.ps()));
    k.experts_ps.push_back(static_cast<double>(experts.ps()));
    k.mtp_ps.push_back(static_cast<double>(mtp.ps()));
    k.pre_ps.push_back(static_cast<double>(stage[0].ps()));
    k.post_ps.push_back(static_cast<double>(stage[1].ps()));
    k.shared_ps.push_back(static_cast<double>(stage[2].ps()));
    k.mlp_ps.push_back(static_cast<double>(stage[3].ps()));
  }
  for (const auto& l : models::build_op_list(one, o))
    for (const auto& op : l.ops)
      if (op.kind == models::OpType::kAttention) {
        if (l.kind == models::LayerKind::kMtp)
          k.mtp_attention_layers += l.name == "mtp.0" ? 1 : 0;
        else
          k.attention_layers += static_cast<int>(times(l));
      }
  // Prefill's MTP module runs over the prompt with the main model.
  if (prefill_) k.attention_layers += k.mtp_attention_layers;
  k.enabled = true;
  kernels_ = std::move(k);
  compute_timing_ = sim::strprintf(
      "per-op kernel model (workloads/compute_model, the top level of calibration.yaml): %zu kernels per "
      "micro-batch and their helper kernels, each max(FLOPs / rate, bytes / HBM) + %s",
      ops_per_mb + static_cast<size_t>(kernels_.attention_layers), to_string(cal.launch_overhead).c_str());
}

double StepModel::interpolate(const std::vector<double>& q, const std::vector<double>& v, double x) {
  if (q.size() < 2) return v.empty() ? 0 : v.front();
  x = std::max(x, q.front());
  size_t i = std::upper_bound(q.begin(), q.end(), x) - q.begin();
  i = std::clamp<size_t>(i, 1, q.size() - 1);  // beyond the grid: the last segment's line
  const double f = (x - q[i - 1]) / (q[i] - q[i - 1]);
  return v[i - 1] + (v[i] - v[i - 1]) * f;
}

Duration StepModel::attention_kernel(double sequences, double q_len, double keys, double cached) const {
  if (sequences <= 0) return Duration::zero();
  models::OpListOptions o;
  o.workload = prefill_ ? models::Workload::kPrefill : models::Workload::kDecode;
  const int64_t q = std::max<int64_t>(1, std::llround(q_len));
  const int64_t c = prefill_ ? std::max<int64_t>(0, std::llround(cached)) : 0;
  o.seq_len = std::max<int64_t>(q, std::llround(keys) - c);
  o.prefix_len = c;
  const models::Op op = models::attention_core(spec_->model, o, 1, q);
  const ComputeCalibration& cal = kernel_calibration();
  // FLOPs and bytes are linear in the sequences, so is the kernel's time
  // beyond its launch floor.
  const Duration one = time_op(op, kernel_gpu_, cal, kernel_sms_).time;
  return (one - cal.launch_overhead) * sequences + cal.launch_overhead;
}

Duration StepModel::kernel_time(const models::Op& op) const {
  const ComputeCalibration& cal = kernel_calibration();
  Duration t = time_op(op, kernel_gpu_, cal, kernel_sms_).time;
  for (const auto& a : auxiliary_kernels(op)) t += time_op(a, kernel_gpu_, cal, kernel_sms_).time;
  return t;
}

Duration StepModel::kernel_gemm(const std::string& name, double m, int64_t n, int64_t k, models::Precision p) const {
  if (m <= 0) return Duration::zero();
  return kernel_time(
      models::gemm_op(name, models::Pass::kForward, p, models::GemmShape{std::max<int64_t>(1, std::llround(m)), n, k, 1}));
}

StepCost StepModel::prefill_kernels(double new_tokens, double requests, double pairs) const {
  const models::ModelSpec& m = spec_->model;
  const double T = new_tokens, mb = plan_.micro_batches;
  const double reqs = std::max(requests, 1e-9);
  StepCost c;
  c.tokens = T;
  // The mean request of the batch: n new tokens on top of `cached` ones
  // (pairs per request = n cached + n^2 / 2).
  const double n = T / reqs;
  const double cached = std::max(0.0, (pairs / reqs - n * n / 2) / std::max(n, 1e-9));
  const double req_mb = reqs / mb, t_mb = T / mb;
  const Duration core = attention_kernel(req_mb, n, n + cached, cached);  // one layer, one micro-batch
  c.attention = core * static_cast<int64_t>(kernels_.attention_layers * plan_.micro_batches);
  Duration per_call;
  // The cached prefix's latents up-projected to keys and values (naive MLA),
  // per layer.
  Duration cached_up;
  if (m.attention == models::AttentionKind::kMla && cached > 0) {
    const models::MlaSpec& a = *m.mla;
    cached_up = kernel_gemm("attn.wkv_b_cached", req_mb * cached,
                            int64_t{m.n_heads} * (a.qk_nope_head_dim + a.v_head_dim), a.kv_lora_rank,
                            models::OpListOptions{}.linear_precision);
    per_call += cached_up * static_cast<int64_t>(kernels_.attention_layers);
  }
  // The head once per request (its last position), vocabulary-parallel.
  const int64_t h = std::max(1, plan_.head_tp);
  per_call += kernel_gemm("head", req_mb * static_cast<double>(h), (m.vocab_size + h - 1) / h, m.dim,
                          models::Precision::kBf16);
  c.dense = Duration::from_ps(std::llround(interpolate(kernels_.q, kernels_.other_ps, t_mb) * mb)) +
            per_call * static_cast<int64_t>(plan_.micro_batches);
  c.experts = Duration::from_ps(std::llround(interpolate(kernels_.q, kernels_.experts_ps, t_mb) * mb));
  if (m.moe) {
    c.expert_imbalance = expert_imbalance(t_mb * m.moe->n_activated_experts);
    c.comm = moe_comm_per_layer(T, false, c.expert_imbalance, plan_.micro_batches) * static_cast<double>(n_moe_);
  }
  c.tp_comm = head_gather(T, requests, plan_.micro_batches);
  if (stage_overlap())
    return combine(c, n_moe_, plan_.micro_batches,
                   stage_pipeline(t_mb, c.expert_imbalance, core + cached_up));
  return combine(c, n_moe_, plan_.micro_batches);
}

void StepModel::place_experts() {
  const models::ModelSpec& m = spec_->model;
  if (!m.moe || plan_.ep <= 1) return;
  const ServingCalibration& cal = spec_->calibration;
  const int experts = m.moe->n_routed_experts;
  const std::vector<double> popularity = models::lognormal_popularity(
      experts, cal.expert_popularity_sigma, static_cast<uint64_t>(cal.expert_popularity_seed));
  const int gpn = std::min(spec_->hardware.gpus_per_node, plan_.ep);
  const int nodes = plan_.ep % gpn == 0 ? plan_.ep / gpn : 1;
  const models::EplbPlacement p = models::eplb_rebalance(
      popularity, slots_per_gpu_ * plan_.ep, std::max(1, m.moe->n_expert_groups), nodes, plan_.ep);
  static_imbalance_ = p.imbalance();
  placement_ = sim::strprintf("EPLB %s: %d slots on %d GPUs (%d each, %d redundant), expected busiest/mean %.3f "
                              "(popularity sigma %.2f)",
                              p.hierarchical ? "hierarchical" : "global", slots_per_gpu_ * plan_.ep, plan_.ep,
                              slots_per_gpu_, slots_per_gpu_ * plan_.ep - experts, static_imbalance_,
                              cal.expert_popularity_sigma);
  if (slots_per_gpu_ * plan_.ep - experts != plan_.redundant_experts)
    placement_ += sim::strprintf("; redundant_experts %d rounded up to %d so that every GPU holds %d whole "
                                 "expert slot%s",
                                 plan_.redundant_experts, slots_per_gpu_ * plan_.ep - experts, slots_per_gpu_,
                                 slots_per_gpu_ == 1 ? "" : "s");
  // The busiest GPU of a finite step: E[max] over the GPUs' Poisson row
  // counts, tabulated once per pool at rows = 2^i per GPU (the excess over
  // the static part falls as 1/sqrt(rows), so excess x sqrt(rows) is
  // interpolated in log2(rows)).
  noise_table_.clear();
  for (int i = 0; i <= kNoiseTableMax; ++i) {
    const double r = std::ldexp(1.0, i);
    noise_table_.push_back((models::expected_max_load(p.gpu_load, r) - static_imbalance_) * std::sqrt(r));
  }
}

Duration StepModel::head_gather(double embed_rows, double head_rows, int calls) const {
  // The embedding's partial rows (each GPU holds 1/h of the vocabulary: one
  // per new token) and the head's input hidden states (one per position that
  // needs logits): each GPU receives the other h - 1 GPUs' BF16 vectors (the
  // head's top-k per vocabulary slice that comes back is a few bytes each).
  const double h = plan_.head_tp;
  if (h <= 1) return Duration::zero();
  const ServingHardware& hw = spec_->hardware;
  return bytes((h - 1) * (embed_rows + head_rows) * spec_->model.dim * 2.0) / hw.scale_up_bandwidth +
         (hw.network_latency + spec_->calibration.a2a_overhead) * int64_t{2 * calls};
}

double StepModel::expert_imbalance(double rows_per_gpu) const {
  if (noise_table_.empty()) return static_imbalance_;
  const double r = std::clamp(rows_per_gpu, 1.0, std::ldexp(1.0, kNoiseTableMax));
  const double x = std::log2(r);
  const int i = std::min(static_cast<int>(x), kNoiseTableMax - 1);
  const double f = x - i;
  const double h = noise_table_[static_cast<size_t>(i)] * (1 - f) + noise_table_[static_cast<size_t>(i) + 1] * f;
  return static_imbalance_ + h / std::sqrt(r);
}

double StepModel::accepted_per_step(int depth, double acceptance) {
  double sum = 1.0, p = 1.0;
  for (int i = 0; i < depth; ++i) sum += (p *= acceptance);
  return sum;
}

double StepModel::kv_capacity_requests(double context) const {
  if (!memory_.fits || context <= 0) return 0;
  return memory_.kv_free.as_double() / (memory_.kv_per_token.as_double() * context);
}

Duration StepModel::roof_gemm(Flops f, Bytes b) const { return std::max(f / gemm_rate_, b / gemm_bw_); }
Duration StepModel::roof_attention(Flops f, Bytes b) const {
  return std::max(f / attn_rate_, b / attn_bw_);
}

StepModel::UnitComm StepModel::unit_comm() const {
  const models::ModelSpec& m = spec_->model;
  const ServingHardware& hw = spec_->hardware;
  const ServingCalibration& cal = spec_->calibration;
  UnitComm u;
  u.layout.gpus = plan_.nodes * hw.gpus_per_node;
  u.layout.gpus_per_node = hw.gpus_per_node;
  u.layout.ep = plan_.ep;
  u.layout.ep_nodes = std::max(1, plan_.ep / hw.gpus_per_node);
  u.low_latency = !prefill_;
  u.network_scale = 1.0 / (u.low_latency ? cal.decode_a2a_efficiency : cal.prefill_a2a_efficiency);
  u.top_k = m.moe ? m.moe->n_activated_experts : 0;
  u.per_copy = ep_bytes_.dispatch_per_copy + ep_bytes_.combine_per_copy;
  u.fanout.remote_nodes = remote_nodes_;
  u.fanout.gpus = u.top_k;
  return u;
}

void StepModel::add_unit_flows(sim::CommPattern& p, const CommLayout& fabric_layout, int first,
                               int64_t tokens) const {
  UnitComm u = unit_comm();
  u.layout.gpus = fabric_layout.gpus;
  if (u.low_latency)
    add_ep_direct_flows(p, u.layout, first, plan_.nodes * u.layout.gpus_per_node, tokens, u.per_copy, u.top_k,
                        u.network_scale);
  else
    add_ep_flows(p, u.layout, first, plan_.nodes * u.layout.gpus_per_node, tokens, u.per_copy, u.fanout, false,
                 u.network_scale);
}

bool StepModel::replays_comm() const {
  return spec_->hardware.fabric && !spec_->hardware.node.empty() && spec_->model.moe && plan_.ep > 1;
}

void StepModel::replay_comm() {
  const ServingHardware& hw = spec_->hardware;
  if (!replays_comm()) return;
  flow_low_latency_ = !prefill_;
  if (plan_.shared_comm_ps_per_token >= 0) {  // timed by the fleet's shared replay (serving_fleet.hpp)
    flow_ps_per_token_ = plan_.shared_comm_ps_per_token;
    comm_timing_ = plan_.shared_comm_timing;
    return;
  }
  const topology::ClusterSpec cluster = serving_cluster(hw, plan_.nodes);
  if (std::string why = topology::check_fabric(cluster); !why.empty()) {
    comm_timing_ = "closed form (the fabric cannot hold the unit: " + why + ")";
    return;
  }
  const UnitComm u = unit_comm();
  // The replay depends only on the hardware, the unit's size and its
  // traffic per token, not on the batch, MTP depth or KV precision: serve
  // and size build many step models of one unit (the decode curve, the KV
  // figures, every searched depth and precision), so each distinct replay
  // runs once per process. Keyed on the resolved hardware section (as
  // `show` prints it: 12 significant digits) and the unit's flows (their
  // doubles in hex). A replay that throws is not kept.
  const std::string key = config::emit(config::Writer::to_node(hw)) +
                          sim::strprintf("|%d|%d|%d|%d|%lld|%a|%a|%d|%a|%d", plan_.nodes, u.layout.gpus,
                                         u.layout.gpus_per_node, u.layout.ep,
                                         static_cast<long long>(u.per_copy.count()), u.fanout.remote_nodes,
                                         u.fanout.gpus, u.top_k, u.network_scale, u.low_latency ? 1 : 0);
  struct Memo {
    double ps_per_token;
    std::string timing;
  };
  static std::mutex memo_mutex;
  static std::map<std::string, Memo> memo;
  {
    std::lock_guard<std::mutex> lock(memo_mutex);
    if (const auto it = memo.find(key); it != memo.end()) {
      flow_ps_per_token_ = it->second.ps_per_token;
      comm_timing_ = it->second.timing;
      return;
    }
  }
  auto remember = [&] {
    std::lock_guard<std::mutex> lock(memo_mutex);
    memo.emplace(key, Memo{flow_ps_per_token_, comm_timing_});
  };
  FabricComm fc = serving_fabric_comm(spec_->hardware, cluster, "serving unit");
  uint64_t undelivered = 0;
  auto once = [&](int64_t tokens) {
    const CommReplay r = u.low_latency
                             ? replay_ep_direct(fc, u.layout, tokens, u.per_copy, u.top_k, u.network_scale)
                             : replay_ep(fc, u.layout, tokens, u.per_copy, u.fanout, false, u.network_scale);
    undelivered += r.undelivered;
    return r.time;
  };
  // All flows start together and max-min rates do not depend on sizes, so
  // the replay's time is exactly fixed + slope x tokens: two probes (of any
  // size) give the slope; the fixed part is the closed form's per-call terms.
  Duration a, b;
  try {
    a = once(kCommProbeTokens);
    b = once(2 * kCommProbeTokens);
  } catch (const std::exception& e) {
    comm_timing_ = std::string("closed form (the replay failed: ") + e.what() + ")";
    return;
  }
  if (undelivered > 0 || b <= a) {
    comm_timing_ = undelivered > 0 ? "closed form (the replay left " + std::to_string(undelivered) +
                                         " flows undelivered: no route)"
                                   : std::string("closed form (the replay's time did not grow with tokens)");
    remember();
    return;
  }
  flow_ps_per_token_ = static_cast<double>((b - a).ps()) / static_cast<double>(kCommProbeTokens);
  comm_timing_ = std::string("flow engine over a ") + std::string(config::enum_to_string(cluster.fabric.kind)) +
                 " fabric of " + std::to_string(plan_.nodes) + " nodes (" +
                 std::string(config::enum_to_string(hw.routing)) + " routing), the unit alone";
  remember();
}

topology::ClusterSpec serving_cluster(const ServingHardware& hw, int nodes) {
  topology::ClusterSpec cluster;
  cluster.node = hw.node;
  topology::seed_node_preset(cluster);
  // A serving node (an NVLink domain) is gpus_per_node / the preset's GPUs
  // servers of the fabric (18 trays of a GB200 NVL72 rack; 1 on HGX).
  cluster.nodes = nodes * std::max(1, hw.gpus_per_node / std::max(1, cluster.node_spec.gpus));
  if (hw.fabric) cluster.fabric = *hw.fabric;
  // hardware.scale_out_bandwidth (the preset's NIC unless the scenario says
  // otherwise) is what the fabric's NIC ports carry, split over the GPU's ports.
  auto& nic = cluster.node_spec.nic_spec;
  nic.port_bandwidth = hw.scale_out_bandwidth / static_cast<double>(cluster.node_spec.ports_per_gpu());
  nic.effective_bandwidth = std::min(nic.effective_bandwidth, nic.port_bandwidth);
  return cluster;
}

FabricComm serving_fabric_comm(const ServingHardware& hw, const topology::ClusterSpec& cluster,
                               const std::string& what) {
  FabricComm fc;
  fc.fabric = std::make_shared<const topology::Fabric>(topology::build_fabric(cluster, what));
  fc.routing.policy = hw.routing;
  fc.nic_effective_per_port = cluster.node_spec.nic_spec.port_bandwidth;  // efficiency applied to the bytes
  fc.nvlink_achievable = hw.scale_up_bandwidth;
  return fc;
}

Duration low_latency_call(Duration rdma, Duration nvlink, Duration rdma_fixed, Duration nvlink_fixed) {
  Duration t = Duration::zero();
  if (rdma > Duration::zero()) t = rdma + rdma_fixed;
  if (nvlink > Duration::zero()) t = std::max(t, nvlink + nvlink_fixed);
  return t;
}

// One MoE layer's dispatch + combine for `tokens` tokens per GPU, in `calls`
// dispatch/combine pairs (one per micro-batch).
// `part` picks the dispatch or the combine alone (one call each per
// micro-batch; the replay's bandwidth part, linear in bytes, is split by
// their bytes per copy).
Duration StepModel::moe_comm_per_layer(double tokens, bool low_latency, double imb, int calls, A2a part) const {
  const models::ModelSpec& m = spec_->model;
  if (!m.moe || plan_.ep <= 1) return Duration::zero();
  const ServingHardware& hw = spec_->hardware;
  const ServingCalibration& cal = spec_->calibration;
  const int64_t n = int64_t{part == A2a::kBoth ? 2 : 1} * calls;
  const Duration rdma_fixed = (hw.network_latency + cal.a2a_overhead) * n;
  const Duration nvlink_fixed = cal.a2a_nvlink_overhead * n;
  const double k = m.moe->n_activated_experts;
  const double both = ep_bytes_.dispatch_per_copy.as_double() + ep_bytes_.combine_per_copy.as_double();
  const double per_copy = part == A2a::kDispatch   ? ep_bytes_.dispatch_per_copy.as_double()
                          : part == A2a::kCombine ? ep_bytes_.combine_per_copy.as_double()
                                                  : both;
  const double gpn = std::min(hw.gpus_per_node, plan_.ep);
  const double ep = plan_.ep;
  // Low-latency kernels: one copy per destination GPU, RDMA off the node and
  // NVLink on it (both at once, low_latency_call).
  const Duration on_node =
      low_latency ? bytes(tokens * k * (gpn - 1) / ep * per_copy * imb) / hw.scale_up_bandwidth : Duration::zero();
  const bool off_node = plan_.ep > hw.gpus_per_node;
  if (flow_ps_per_token_ >= 0 && low_latency == flow_low_latency_) {
    const Duration flow = Duration::from_ps(std::llround(flow_ps_per_token_ * tokens * imb * per_copy / both));
    if (!low_latency) return flow + rdma_fixed;
    // The replay's time is its slower path: RDMA when the unit spans nodes
    // (the NVLink path, timed alone, may still end later at small batches).
    return off_node ? low_latency_call(flow, on_node, rdma_fixed, nvlink_fixed)
                    : low_latency_call(Duration::zero(), std::max(flow, on_node), rdma_fixed, nvlink_fixed);
  }
  double ib_copies = 0, nvl_copies = 0;
  if (low_latency) {
    ib_copies = k * (ep - gpn) / ep;
  } else {
    // One IB copy per destination node (distinct other nodes of a token's
    // top-k under the model's gate, gate_fanout), then NVLink forwarding to
    // each expert's GPU.
    ib_copies = remote_nodes_;
    nvl_copies = k * (gpn - 1) / gpn;
  }
  // With a fabric, the NIC ports run at most at its switch ports (as the
  // replay's links do, serving_cluster).
  Bandwidth scale_out = hw.scale_out_bandwidth;
  if (hw.fabric && hw.fabric->switch_spec.port_bandwidth.bytes_per_second() > 0 && !hw.node.empty()) {
    scale_out = std::min(scale_out,
                         hw.fabric->switch_spec.port_bandwidth * static_cast<double>(hw.node_spec.ports_per_gpu()));
  }
  const Bandwidth ib_bw = scale_out * (low_latency ? cal.decode_a2a_efficiency : cal.prefill_a2a_efficiency);
  const Duration ib = bytes(tokens * ib_copies * per_copy * imb) / ib_bw;
  if (low_latency) return low_latency_call(ib, on_node, rdma_fixed, nvlink_fixed);
  const Duration nvl = bytes(tokens * nvl_copies * per_copy * imb) / hw.scale_up_bandwidth;
  return std::max(ib, nvl) + rdma_fixed;
}

DeepEpLatency deepep_low_latency(const ServingSpec& spec, int ep, int64_t tokens) {
  const ServingHardware& hw = spec.hardware;
  const models::ModelSpec& m = spec.model;
  const int gpn = hw.gpus_per_node;
  if (!hw.fabric || hw.node.empty() || !m.moe || gpn < 1 || ep < gpn || ep % gpn != 0 || tokens < 1)
    throw std::invalid_argument(
        "DeepEP low-latency benchmark: needs a MoE model, hardware.node and hardware.fabric, and whole nodes");
  // Two nodes at least, so that the fabric has a network (EP8 uses the first).
  const topology::ClusterSpec cluster = serving_cluster(hw, std::max(2, ep / gpn));
  FabricComm fc = serving_fabric_comm(hw, cluster, "DeepEP low-latency benchmark");
  CommLayout l;
  l.gpus = fc.fabric->num_gpus();
  l.gpus_per_node = gpn;
  l.ep = ep;
  l.ep_nodes = ep / gpn;
  const int k = m.moe->n_activated_experts;
  const double scale = 1.0 / spec.calibration.decode_a2a_efficiency;
  const models::EpBytes copy = models::ep_copy_bytes(m.dim);
  const ServingCalibration& cal = spec.calibration;
  auto call = [&](Bytes per_copy) {
    // The replay's bandwidth part: time is linear in tokens, so two replays
    // give the slope (the fixed costs are the calibration's, as in a step).
    auto once = [&](int64_t t) {
      sim::CommPattern p;
      p.name = "deepep_low_latency";
      add_ep_direct_flows(p, l, 0, ep, t, per_copy, k, scale);
      CommReplay total;
      return replay_concurrent(fc, {std::move(p)}, total).front();
    };
    const Duration slope = once(2 * tokens) - once(tokens);
    const Duration on_node =
        per_copy * (static_cast<double>(tokens) * k * (gpn - 1) / ep) / hw.scale_up_bandwidth;
    const Duration rdma_fixed = hw.network_latency + cal.a2a_overhead;
    return ep > gpn ? low_latency_call(slope, on_node, rdma_fixed, cal.a2a_nvlink_overhead)
                    : low_latency_call(Duration::zero(), std::max(slope, on_node), rdma_fixed,
                                       cal.a2a_nvlink_overhead);
  };
  DeepEpLatency out;
  out.dispatch = call(copy.dispatch_per_copy);
  out.combine = call(copy.combine_per_copy);
  return out;
}

bool StepModel::stage_overlap() const {
  return kernels_.enabled && plan_.overlap == OverlapModel::kStages && plan_.micro_batches == 2 && n_moe_ > 0 &&
         plan_.ep > 1;
}

StageOverlap StepModel::stage_pipeline(double tokens_mb, double imb, Duration core) const {
  StageOverlap o;
  o.decode = !prefill_;
  const bool ll = !prefill_;
  o.dispatch = moe_comm_per_layer(tokens_mb, ll, imb, 1, A2a::kDispatch);
  o.combine = moe_comm_per_layer(tokens_mb, ll, imb, 1, A2a::kCombine);
  auto at = [&](const std::vector<double>& v) {
    return Duration::from_ps(std::llround(interpolate(kernels_.q, v, tokens_mb)));
  };
  o.pre = at(kernels_.pre_ps);
  o.core = core;
  o.post = at(kernels_.post_ps);
  o.shared = at(kernels_.shared_ps);
  o.mlp = at(kernels_.mlp_ps);
  auto over = [](Duration comm, Duration window) { return std::max(Duration::zero(), comm - window); };
  if (!prefill_) {
    // 5 stages: the dispatch behind the shared expert and the other
    // micro-batch's attn_0, the combine behind the other's attn_1 (core +
    // post); in the last layer nothing of the other micro-batch follows.
    const Duration attn1 = o.core + o.post;
    o.per_layer = (over(o.dispatch, o.shared + o.pre) + over(o.combine, attn1)) * int64_t{2};
    o.tail = (over(o.dispatch, o.shared) - over(o.dispatch, o.shared + o.pre)) + (o.combine - over(o.combine, attn1));
    return o;
  }
  // 2 stages, A attn | B attn | A experts | B experts: A's dispatch behind
  // B's attention, B's behind A's experts, A's combine behind B's experts,
  // B's behind A's next attention (none after the last layer).
  const Duration attn = o.pre + o.core + o.post, experts = o.shared + o.mlp;
  o.per_layer = over(o.dispatch, attn) + over(o.dispatch, experts) + over(o.combine, experts) + over(o.combine, attn);
  o.tail = o.combine - over(o.combine, attn);
  return o;
}

StepCost StepModel::combine(StepCost c, double moe_layers, int micro_batches, std::optional<StageOverlap> stages) const {
  c.compute = c.attention + c.dense + c.experts + c.tp_comm;
  if (stages) {  // the stage pipeline: compute plus what its stages leave exposed
    c.exposed_comm = stages->per_layer * moe_layers + stages->tail;
    c.total = c.compute + c.exposed_comm + c.mtp;
    c.stages = stages;
    return c;
  }
  const double L = spec_->model.n_layers;
  Duration moe_time = Duration::zero();
  Duration c_moe = Duration::zero();
  if (moe_layers > 0) {
    c_moe = c.compute * (moe_layers / L);
    const Duration cl = c_moe / moe_layers, ml = c.comm / moe_layers;
    if (micro_batches >= 2)
      moe_time = std::max(cl, ml) * moe_layers + std::min(cl, ml) / 2.0;
    else
      moe_time = (cl + ml) * moe_layers;
  }
  c.total = c.compute - c_moe + moe_time + c.mtp;
  c.exposed_comm = c.total - c.compute - c.mtp;
  return c;
}

StepCost StepModel::decode(double requests, double context, int mtp_depth) const {
  const models::ModelSpec& m = spec_->model;
  const double q = 1 + mtp_depth;
  const double P = requests * q;
  const double L = m.n_layers, H = m.n_heads, mb = plan_.micro_batches;
  const double kvt = memory_.kv_per_token.as_double();
  StepCost c;
  c.tokens = P;
  if (kernels_.enabled) {
    // Every micro-batch runs the whole op list (and reads the weights).
    const double q_mb = P / mb;
    const Duration core = attention_kernel(requests / mb, 1 + mtp_depth, context, 0);  // one layer, one micro-batch
    c.attention = core * static_cast<int64_t>(kernels_.attention_layers * plan_.micro_batches);
    c.dense = Duration::from_ps(std::llround(interpolate(kernels_.q, kernels_.other_ps, q_mb) * mb));
    c.experts = Duration::from_ps(std::llround(interpolate(kernels_.q, kernels_.experts_ps, q_mb) * mb));
    if (m.moe) {
      c.expert_imbalance = expert_imbalance(q_mb * m.moe->n_activated_experts);
      c.comm = moe_comm_per_layer(P, true, c.expert_imbalance, plan_.micro_batches) * static_cast<double>(n_moe_);
    }
    c.tp_comm = head_gather(P, P, plan_.micro_batches);
    if (mtp_depth > 0) {
      // The draft: all requests as one batch, one position each, through the
      // MTP module and the head (its routed experts wait for the busiest GPU
      // too), with one dispatch/combine.
      const double b = requests;
      const double imb_b = m.moe ? expert_imbalance(b * m.moe->n_activated_experts) : 1.0;
      const Duration pass =
          Duration::from_ps(std::llround(interpolate(kernels_.q, kernels_.mtp_ps, b))) +
          attention_kernel(b, 1, context, 0) * static_cast<int64_t>(kernels_.mtp_attention_layers) +
          head_gather(b, b, 1) + (m.moe ? moe_comm_per_layer(b, true, imb_b, 1) : Duration::zero());
      c.mtp = pass * static_cast<int64_t>(mtp_depth);
    }
    if (stage_overlap())
      return combine(c, n_moe_, plan_.micro_batches,
                     stage_pipeline(q_mb, c.expert_imbalance, core));
    return combine(c, n_moe_, plan_.micro_batches);
  }
  // Attention core. MLA decode runs absorbed: keys [c_kv; k_rope], values c_kv.
  const double dims = m.attention == models::AttentionKind::kMla
                          ? 2.0 * m.mla->kv_lora_rank + m.mla->qk_rope_head_dim
                          : 2.0 * m.gqa->head_dim;
  c.attention = roof_attention(flops(2 * P * L * H * dims * context), bytes(requests * context * kvt));
  // GEMMs whose weights are on every GPU.
  double dense_params = L * d(params_.attention) + d(params_.output_head);
  if (m.moe)
    dense_params += n_dense_ * d(params_.dense_ffn) +
                    n_moe_ * (m.moe->n_shared_experts * d(params_.expert) + d(params_.moe_gate));
  else
    dense_params += L * d(params_.dense_ffn);
  c.dense = roof_gemm(flops(2 * P * dense_params),
                      bytes((attn_weight_bytes_ + dense_weight_bytes_ + head_weight_bytes_) * mb));
  if (m.moe) {
    c.expert_imbalance = expert_imbalance(P * m.moe->n_activated_experts / mb);
    const double rows = P * m.moe->n_activated_experts * c.expert_imbalance;
    const double rows_per_expert_mb = rows / mb / static_cast<double>(slots_per_gpu_);
    const double active = 1 - std::exp(-rows_per_expert_mb);
    c.experts = roof_gemm(flops(2 * rows * d(params_.expert) * n_moe_),
                          bytes(routed_weight_bytes_ * active * mb));
    c.comm = moe_comm_per_layer(P, true, c.expert_imbalance, plan_.micro_batches) * static_cast<double>(n_moe_);
  }
  if (plan_.attention_tp > 1) {
    const double t = plan_.attention_tp;
    const double per_gpu = 2 * (t - 1) / t * P * t * m.dim * 2.0;
    c.tp_comm = bytes(per_gpu * L) / spec_->hardware.scale_up_bandwidth;
  }
  c.tp_comm += head_gather(P, P, plan_.micro_batches);
  // MTP drafting: `mtp_depth` sequential passes of the MTP block over one
  // position per request, each with the output head and (MoE) one
  // dispatch/combine; the verification of the drafts is in the q positions above.
  if (mtp_depth > 0) {
    const double b = requests;
    // The draft runs all requests as one batch; its routed experts wait for
    // the busiest GPU too (the extra rows beyond the mean).
    const double k = m.moe ? m.moe->n_activated_experts : 0;
    const double imb_b = m.moe ? expert_imbalance(b * k) : 1.0;
    const double straggler_flops = 2 * b * k * d(params_.expert) * (imb_b - 1);
    const Duration pass =
        roof_gemm(flops(2 * b * (d(params_.mtp_module_activated) + d(params_.output_head)) + straggler_flops),
                  bytes(mtp_weight_bytes_ + head_weight_bytes_)) +
        roof_attention(flops(2 * b * H * dims * context), bytes(b * context * kvt / L)) + head_gather(b, b, 1) +
        (m.moe ? moe_comm_per_layer(b, true, imb_b, 1) : Duration::zero());
    c.mtp = pass * static_cast<int64_t>(mtp_depth);
  }
  return combine(c, n_moe_, plan_.micro_batches);
}

StepCost StepModel::prefill(double new_tokens, double new_per_request, double cached_per_request) const {
  const double n = std::max(1.0, new_per_request);
  const double requests = new_tokens / n;
  // Causal pairs per request = n * cached + n^2 / 2.
  return prefill_batch(new_tokens, requests, requests * (n * cached_per_request + n * n / 2),
                       requests * (n + cached_per_request));
}

StepCost StepModel::prefill_batch(double new_tokens, double requests, double pairs, double kv_tokens) const {
  if (kernels_.enabled) return prefill_kernels(new_tokens, requests, pairs);
  const models::ModelSpec& m = spec_->model;
  const double T = new_tokens;
  const double L = m.n_layers, H = m.n_heads, mb = plan_.micro_batches;
  StepCost c;
  c.tokens = T;
  // Prefill attention in the MHA form (keys/values decompressed).
  const double qk = models::attention_qk_dim(m), v = models::attention_v_dim(m);
  const double kvt = memory_.kv_per_token.as_double();
  c.attention = roof_attention(flops(2 * H * (qk + v) * pairs * L), bytes(kv_tokens * kvt));
  double dense_params = L * d(params_.attention);
  if (m.moe)
    dense_params += n_dense_ * d(params_.dense_ffn) +
                    n_moe_ * (m.moe->n_shared_experts * d(params_.expert) + d(params_.moe_gate));
  else
    dense_params += L * d(params_.dense_ffn);
  // The MTP block also runs over the prompt (it needs its own KV); the head
  // runs once per request (the last position).
  double mtp_flops = 0;
  if (m.mtp_depth > 0 && spec_->mtp.depth > 0) mtp_flops = 2 * T * d(params_.mtp_module_activated);
  c.dense = roof_gemm(flops(2 * T * dense_params + 2 * requests * d(params_.output_head) + mtp_flops),
                      bytes((attn_weight_bytes_ + dense_weight_bytes_ + head_weight_bytes_) * mb));
  if (m.moe) {
    c.expert_imbalance = expert_imbalance(T * m.moe->n_activated_experts / mb);
    const double rows = T * m.moe->n_activated_experts * c.expert_imbalance;
    c.experts = roof_gemm(flops(2 * rows * d(params_.expert) * n_moe_), bytes(routed_weight_bytes_ * mb));
    c.comm = moe_comm_per_layer(T, false, c.expert_imbalance, plan_.micro_batches) * static_cast<double>(n_moe_);
  }
  if (plan_.attention_tp > 1) {
    const double t = plan_.attention_tp;
    c.tp_comm = bytes(2 * (t - 1) / t * T * t * m.dim * 2.0 * L) / spec_->hardware.scale_up_bandwidth;
  }
  c.tp_comm += head_gather(T, requests, plan_.micro_batches);
  return combine(c, n_moe_, plan_.micro_batches);
}

}  // namespace codesim::workloads
