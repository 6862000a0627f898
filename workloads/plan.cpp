#include "workloads/plan.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <memory>


namespace codesim::workloads {
namespace {

std::string gb(Bytes b, int digits = 1) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*fGB", digits, b.as_double() / 1e9);
  return buf;
}

}  // namespace

void Plan::validate(config::Reader& r) {
  r.check(pipeline.degree >= 1, "pipeline.degree", "must be >= 1");
  r.check(data.degree >= 1, "data.degree", "must be >= 1");
  r.check(tensor.degree >= 1, "tensor.degree", "must be >= 1");
  r.check(expert.degree >= 1, "expert.degree", "must be >= 1");
  r.check(data.zero_stage >= 0 && data.zero_stage <= 3, "data.zero_stage",
          "must be 0, 1, 2 or 3, got " + std::to_string(data.zero_stage));
  r.check(batch.micro_batch >= 1, "batch.micro_batch", "must be >= 1");
  r.check(batch.sequence_length >= 1, "batch.sequence_length", "must be >= 1");
  r.check(batch.global_batch >= 1, "batch.global_batch", "must be >= 1 sequence");
  r.check(comm_sms >= 0, "comm_sms", "must be >= 0");
  for (const std::string& op : precision.bf16_ops)
    if (!PrecisionPlan::known_bf16_op(op)) {
      std::string names;
      for (std::string_view n : PrecisionPlan::kBf16OpNames) names += (names.empty() ? "" : ", ") + std::string(n);
      r.check(false, "precision.bf16_ops", "unknown op '" + op + "'; expected some of " + names);
      break;
    }
  for (size_t i = 0; i < pipeline.layers_per_stage.size(); ++i)
    if (pipeline.layers_per_stage[i] < 1) {
      r.check(false, "pipeline.layers_per_stage",
              "every stage needs at least one op-list layer; entry " + std::to_string(i) + " is " +
                  std::to_string(pipeline.layers_per_stage[i]));
      return;
    }
  if (batch.global_batch < 1) return;
  if (data.degree < 1 || batch.micro_batch < 1 || pipeline.degree < 1) return;  // (already reported)
  if (batch.global_batch % data.degree != 0) {
    r.check(false, "batch.global_batch",
            "global batch " + std::to_string(batch.global_batch) +
                " does not divide over DP = " + std::to_string(data.degree) + " ranks");
    return;
  }
  if (global_batch_per_dp() % batch.micro_batch != 0) {
    r.check(false, "batch.micro_batch",
            std::to_string(global_batch_per_dp()) + " sequences per DP rank do not split into "
            "micro-batches of " + std::to_string(batch.micro_batch));
    return;
  }
  const std::string why = check_pipeline(pipeline.schedule, pipeline.degree, micro_batches(), pipeline.virtual_stages);
  r.check(why.empty(), "pipeline.schedule",
          why + " (" + std::to_string(micro_batches()) + " micro-batches = global_batch / (DP x micro_batch))");
}

std::vector<double> layer_costs(const std::vector<models::LayerOps>& layers, const GpuCompute& gpu,
                                const ComputeCalibration& cal, int sms) {
  std::vector<double> cost;
  for (const auto& l : layers) {
    Duration t;
    for (const auto& op : l.ops) {
      t += time_op(op, gpu, cal, sms).time;
      for (const auto& q : auxiliary_kernels(op)) t += time_op(q, gpu, cal, sms).time;
    }
    cost.push_back(t.seconds());
  }
  return cost;
}

std::vector<int> layer_kinds(const std::vector<models::LayerOps>& layers) {
  std::vector<int> k;
  for (const auto& l : layers) k.push_back(static_cast<int>(l.kind));
  return k;
}

std::vector<StageLayers> partition_layers(const std::vector<double>& cost, int parts, bool paired) {
  const int n = static_cast<int>(cost.size());
  std::vector<StageLayers> out;
  if (parts <= 0) return out;
  std::vector<double> prefix(n + 1, 0);
  for (int i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + cost[i];
  const double inf = std::numeric_limits<double>::infinity();
  // best[p][i]: minimal max-sum splitting the first i layers into p parts
  // (parts may be empty only when there are fewer layers than parts).
  std::vector<std::vector<double>> best(parts + 1, std::vector<double>(n + 1, inf));
  std::vector<std::vector<int>> cut(parts + 1, std::vector<int>(n + 1, 0));
  best[0][0] = 0;
  for (int p = 1; p <= parts; ++p)
    for (int i = 0; i <= n; ++i)
      for (int j = 0; j <= i; ++j) {
        if (best[p - 1][j] == inf) continue;
        const double v = std::max(best[p - 1][j], prefix[i] - prefix[j]);
        if (v < best[p][i] - 1e-9 * std::abs(v)) {
          best[p][i] = v;
          cut[p][i] = j;
        }
      }
  out.resize(parts);
  int i = n;
  for (int p = parts; p >= 1; --p) {
    const int j = cut[p][i];
    out[p - 1] = StageLayers{j, i - j};
    i = j;
  }
  if (!paired || parts < 2) return out;

  auto sums = [&](const std::vector<StageLayers>& st) {
    std::vector<double> s(parts);
    for (int p = 0; p < parts; ++p) s[p] = prefix[st[p].first + st[p].count] - prefix[st[p].first];
    return s;
  };
  auto score = [&](const std::vector<StageLayers>& st) {
    const auto s = sums(st);
    double pair = 0, single = 0;
    for (int p = 0; p < parts; ++p) {
      pair = std::max(pair, s[p] + s[parts - 1 - p]);
      single = std::max(single, s[p]);
    }
    return std::pair{pair, single};
  };
  // Neighbourhood: move one layer's worth of count from stage i to stage j
  // (the boundaries in between shift by one; middle stages keep their size).
  auto from_counts = [&](const std::vector<int>& c) {
    std::vector<StageLayers> st(parts);
    int first = 0;
    for (int p = 0; p < parts; ++p) {
      st[p] = StageLayers{first, c[p]};
      first += c[p];
    }
    return st;
  };
  std::vector<int> counts(parts);
  for (int p = 0; p < parts; ++p) counts[p] = out[p].count;
  auto best_score = score(out);
  for (bool improved = true; improved;) {
    improved = false;
    for (int from = 0; from < parts && !improved; ++from)
      for (int to = 0; to < parts && !improved; ++to) {
        if (from == to || counts[from] <= 1) continue;
        auto trial = counts;
        --trial[from];
        ++trial[to];
        const auto sc = score(from_counts(trial));
        if (sc.first < best_score.first * (1 - 1e-12) ||
            (sc.first <= best_score.first && sc.second < best_score.second * (1 - 1e-12))) {
          counts = trial;
          best_score = sc;
          improved = true;
        }
      }
  }
  out = from_counts(counts);
  return out;
}

models::Op reshape_grouped(const models::Op& op, int64_t groups) {
  models::GemmShape s = std::get<models::GemmShape>(op.shape);
  s.groups = groups;
  if (op.pass != models::Pass::kBackwardWeight) {
    models::Op out = models::gemm_op(op.name, op.pass, op.precision, s);
    out.kind = models::OpType::kGroupedGemm;
    out.input_fp8 = op.input_fp8;
    out.input_e5m6 = op.input_e5m6;
    return out;
  }
  // Weight gradient (k, n, m_total): same activations read, one FP32
  // gradient of k x n written per local expert.
  models::Op out = op;
  out.shape = s;
  out.bytes_written = B(static_cast<uint64_t>(groups) * static_cast<uint64_t>(s.m) *
                        static_cast<uint64_t>(s.n) * 4);
  return out;
}

std::vector<models::LayerOps> plan_op_list(const models::ModelSpec& spec, const Plan& plan) {
  models::OpListOptions o;
  o.batch = plan.batch.micro_batch;
  o.seq_len = plan.batch.sequence_length;
  o.causal = true;
  o.linear_precision = plan.precision.gemm == GemmPrecision::kFp8 ? models::Precision::kFp8E4M3
                                                                   : models::Precision::kBf16;
  o.dispatch_precision = plan.precision.fp8_dispatch ? models::Precision::kFp8E4M3 : models::Precision::kBf16;
  // With FP8 GEMMs, the head, the gate and the attention core run in FP8
  // unless precision.bf16_ops keeps them in BF16 (DeepSeek's recipe keeps
  // all three; embedding and norms have no FP8 kernels here).
  auto kept = [&](const char* op) {
    return o.linear_precision != models::Precision::kFp8E4M3 || plan.precision.keeps_bf16(op)
               ? models::Precision::kBf16
               : models::Precision::kFp8E4M3;
  };
  o.head_precision = kept("head");
  o.gate_precision = kept("gate");
  o.attention_precision = kept("attention");
  o.tensor_parallel = std::max(1, plan.tensor.degree);
  std::vector<models::LayerOps> layers = models::build_op_list(spec, o);
  const int local_experts =
      spec.moe ? std::max(1, spec.moe->n_routed_experts / std::max(1, plan.expert.degree)) : 1;
  for (auto& l : layers)
    for (auto& op : l.ops)
      if (op.kind == models::OpType::kGroupedGemm) op = reshape_grouped(op, local_experts);
  return layers;
}

std::vector<StageLayers> stage_split(const Plan& plan, const std::vector<double>& cost) {
  const auto& fixed = plan.pipeline.layers_per_stage;
  if (!fixed.empty()) {
    std::vector<StageLayers> out;
    int first = 0;
    for (int c : fixed) {
      out.push_back(StageLayers{first, c});
      first += c;
    }
    return out;
  }
  return partition_layers(cost, plan.pipeline.stages(),
                          is_dual(plan.pipeline.schedule));
}

Bytes activation_bytes_per_token_layer(const models::ModelSpec& s, const Plan& plan,
                                       bool moe_layer) {
  // What one token leaves behind per layer for the backward pass. Items
  // (bytes per token; d = dim): BF16 residual-stream inputs of both blocks
  // (2 x 2d); FP8 copies (1 B + a 4 B scale per 128) of every Linear input
  // kept for the weight gradient; attention: the q/kv latents in BF16 and
  // the attention output (needed by the FlashAttention backward and the
  // output projection's weight gradient: BF16, or under FP8 DeepSeek's
  // E5M6, TR 3.3.3, 1.5 B + a 4 B scale per 128) plus its log-sum-exp;
  // q/k/v only when the MLA up-projections are not recomputed; MoE: top-k
  // FP8 copies of the expert input and of the SwiGLU input (its output is
  // recomputed), router scores in FP32.
  // Not counted: the per-copy expert outputs (assumed not kept: the
  // gate-weight gradient is taken inside the combine).
  // Under TP the caller divides by tp (sequence parallelism, every GPU
  // keeps its share of the tokens); MLA's latents come out of the replicated
  // down-projections on all tokens of every TP GPU, so they count tp times.
  const double d = s.dim;
  const double tp = std::max(1, plan.tensor.degree);
  const bool fp8 = plan.precision.gemm == GemmPrecision::kFp8;
  auto cached = [&](double elems) { return fp8 ? elems * (1.0 + 4.0 / 128) : elems * 2.0; };
  double b = 2 * 2 * d;  // residual inputs of attention and FFN blocks
  const int64_t h = s.n_heads;
  if (s.attention == models::AttentionKind::kMla && s.mla) {
    const auto& m = *s.mla;
    const double qk = m.qk_nope_head_dim + m.qk_rope_head_dim;
    b += cached(d);                                                    // wq_a / wkv_a input
    b += 2.0 * (m.q_lora_rank + m.kv_lora_rank + m.qk_rope_head_dim) * tp;  // latents (wq_b/wkv_b inputs)
    if (!plan.recompute.mla_up_projection) b += 2.0 * h * (2 * qk + m.v_head_dim);
    b += (fp8 ? models::kE5m6BytesPerElement : 2.0) * h * m.v_head_dim + 4.0 * h;  // attention output + LSE
    if (!plan.recompute.norms) b += 2.0 * (d + (m.q_lora_rank + m.kv_lora_rank) * tp);
  } else if (s.gqa) {
    const auto& g = *s.gqa;
    b += cached(d);
    b += 2.0 * (h + 2.0 * g.n_kv_heads) * g.head_dim;  // q, k, v
    b += (fp8 ? models::kE5m6BytesPerElement : 2.0) * h * g.head_dim + 4.0 * h;
    if (!plan.recompute.norms) b += 2.0 * d;
  }
  if (moe_layer && s.moe) {
    const auto& m = *s.moe;
    b += cached(d);                                         // dispatch / shared-expert input
    b += 4.0 * m.n_routed_experts;                          // router scores
    b += m.n_activated_experts * cached(d);                 // expert inputs (received copies)
    b += m.n_activated_experts * cached(2.0 * m.moe_inter_dim);  // SwiGLU inputs
    b += m.n_shared_experts * cached(2.0 * m.moe_inter_dim);
    if (!plan.recompute.swiglu)
      b += (m.n_activated_experts + m.n_shared_experts) * cached(1.0 * m.moe_inter_dim);
  } else {
    b += cached(d) + cached(2.0 * s.inter_dim);
    if (!plan.recompute.swiglu) b += cached(1.0 * s.inter_dim);
  }
  if (!plan.recompute.norms) b += 2.0 * d;
  return Bytes::from_double(b);
}

std::string MemoryBreakdown::str() const {
  return "weights " + gb(weights) + ", gradients " + gb(gradients) + ", FP32 master " +
         gb(master_weights) + ", AdamW moments " + gb(optimizer_moments) + ", activations " +
         gb(activations) + " (" + std::to_string(peak_in_flight) + " micro-batch-stages" +
         (activations.as_double() >= activation_per_micro_batch_stage.as_double() * peak_in_flight * (1 - 1e-9)
              ? " x " + gb(activation_per_micro_batch_stage)
              : ", the largest " + gb(activation_per_micro_batch_stage)) +
         "), runtime " + gb(runtime) + ", total " + gb(total());
}

namespace {

// The peak of the activations a rank holds: each forward chunk adds its
// own stage's activation set (`act(stage)`), each backward frees one. Each
// chunk counts at its stage's size (an interleaved rank's chunks, or a
// DualPipe rank's two stages, differ). Returns the bytes at the peak and
// how many (micro-batch, stage) sets are held then.
std::pair<double, int> peak_activations(const PipelineProgram& p, int rank, const std::function<double(int)>& act) {
  double now = 0, peak = 0;
  int held = 0, held_at_peak = 0;
  auto add = [&](int dir) {
    now += act(p.stage_of(rank, dir));
    ++held;
    if (now > peak * (1 + 1e-12)) {
      peak = now;
      held_at_peak = held;
    }
  };
  auto drop = [&](int dir) {
    now -= act(p.stage_of(rank, dir));
    --held;
  };
  for (const auto& op : p.ops[rank]) {
    switch (op.kind) {
      case PipeOpKind::kF: add(op.fwd_dir); break;
      case PipeOpKind::kB:
      case PipeOpKind::kBInput: drop(op.bwd_dir); break;
      case PipeOpKind::kFB:
        add(op.fwd_dir);
        drop(op.bwd_dir);
        break;
      case PipeOpKind::kW: break;
    }
  }
  return {peak, held_at_peak};
}

}  // namespace

namespace {
// The parameters of a layer that TP keeps whole on every GPU of the group.
int64_t tp_replicated(const models::ModelSpec& s, const models::ParamCounts& pc, models::LayerKind k) {
  using models::LayerKind;
  int64_t block = pc.layer_norms;
  if (s.attention == models::AttentionKind::kMla && s.mla) {
    const auto& m = *s.mla;
    const int64_t d = s.dim;
    if (m.q_lora_rank > 0) block += d * m.q_lora_rank + m.q_lora_rank;  // wq_a, q_norm
    block += d * (m.kv_lora_rank + m.qk_rope_head_dim) + m.kv_lora_rank;  // wkv_a, kv_norm
  }
  switch (k) {
    case LayerKind::kEmbedding: return 0;
    case LayerKind::kDense: return block;
    case LayerKind::kMoe: return block + pc.moe_gate;
    case LayerKind::kHead: return pc.final_norm;
    case LayerKind::kMtp:  // eh_proj and the two input norms, then a block and the shared head's norm
      return 2 * int64_t{s.dim} * s.dim + 2 * int64_t{s.dim} + block + (s.moe ? pc.moe_gate : 0) + pc.final_norm;
  }
  return 0;
}
}  // namespace

std::pair<int64_t, int64_t> layer_params(const models::ModelSpec& s, const models::ParamCounts& pc,
                                         int kind, int ep, int tp) {
  using models::LayerKind;
  const auto k = static_cast<LayerKind>(kind);
  const int64_t routed = s.moe ? int64_t{s.moe->n_routed_experts} * pc.expert : 0;
  const int64_t local_routed = ep > 0 ? routed / ep : routed;
  int64_t dense = 0, expert = 0;
  switch (k) {
    case LayerKind::kEmbedding: dense = pc.embedding; break;
    case LayerKind::kDense: dense = pc.dense_layer; break;
    case LayerKind::kMoe: dense = pc.moe_layer - routed, expert = local_routed; break;
    case LayerKind::kHead: dense = pc.output_head + pc.final_norm; break;
    case LayerKind::kMtp: dense = pc.mtp_module - routed, expert = local_routed; break;
  }
  if (tp > 1) {
    const int64_t whole = std::min(dense, tp_replicated(s, pc, k));
    dense = whole + (dense - whole) / tp;
  }
  return {dense, expert};
}

std::vector<int> stages_of_rank(const Plan& plan, int rank) {
  const int stages = plan.pipeline.stages();
  std::vector<int> held = {rank};
  if (plan.pipeline.schedule == PipelineSchedule::kInterleaved)
    for (int s = rank + plan.pipeline.degree; s < stages; s += plan.pipeline.degree) held.push_back(s);
  else if (is_dual(plan.pipeline.schedule) && stages - 1 - rank != rank)
    held.push_back(stages - 1 - rank);
  return held;
}

ReplicaGroups replica_groups(const Plan& plan) {
  const int copies = stage_copies(plan.pipeline.schedule);
  const int stage_gpus = plan.data.degree * plan.tensor.degree;
  return {copies * plan.data.degree, copies * std::max(1, stage_gpus / std::max(1, plan.expert.degree))};
}

RankParams rank_params(const models::ModelSpec& spec, const Plan& plan,
                       const std::vector<StageLayers>& stages, const std::vector<int>& layer_kind,
                       int rank) {
  const models::ParamCounts pc = models::count_params(spec);
  const int ep = std::max(1, plan.expert.degree);
  RankParams rp;
  for (int st : stages_of_rank(plan, rank)) {
    const auto& sl = stages[st];
    for (int i = sl.first; i < sl.first + sl.count; ++i) {
      const auto [d, e] = layer_params(spec, pc, layer_kind[i], ep, plan.tensor.degree);
      rp.dense += d;
      rp.expert += e;
      if (plan.tensor.degree > 1)
        rp.tp_replicated += std::min(d, tp_replicated(spec, pc, static_cast<models::LayerKind>(layer_kind[i])));
    }
  }
  return rp;
}

MemoryBreakdown plan_memory(const models::ModelSpec& spec, const Plan& plan,
                            const std::vector<StageLayers>& stages,
                            const std::vector<int>& layer_kind, int rank, Bytes runtime_reserve) {
  MemoryBreakdown m;
  const models::ParamCounts pc = models::count_params(spec);
  const int pp = plan.pipeline.degree;
  const std::vector<int> held = stages_of_rank(plan, rank);

  const int ep = std::max(1, plan.expert.degree);
  // ZeRO shards over every replica of a parameter (DualPipe: both copies).
  const ReplicaGroups groups = replica_groups(plan);
  const int dp_dense = groups.dense;
  const int dp_expert = groups.expert;
  // ZeRO-2 reduce-scatters every weight-gradient pass over the rank's own DP
  // groups (one copy of the stage; DualPipe's two copies sum their shards
  // once, in the step's tail: training.cpp), so a GPU keeps 1/dp of each
  // gradient, plus the unreduced FP32 gradients of two layers: the double
  // buffer a pass fills while the previous layer's reduce-scatter runs
  // (training.cpp GradBuffers).
  const int grad_shard_dense = std::max(1, plan.data.degree);
  const int grad_shard_expert = std::max(1, plan.data.degree * plan.tensor.degree / ep);
  double grad_bucket = 0, param_bucket = 0;
  double weights = 0, grads = 0, master = 0, moments = 0;
  int64_t params = 0;
  Bytes act_stage_max;
  std::map<int, double> act_of_stage;  // bytes of one micro-batch's activations, per held stage
  for (int st : held) {
    int64_t dense = 0, expert = 0;
    double act = 0;
    const auto& sl = stages[st];
    for (int i = sl.first; i < sl.first + sl.count; ++i) {
      const auto [d, e] = layer_params(spec, pc, layer_kind[i], ep, plan.tensor.degree);
      dense += d;
      expert += e;
      grad_bucket = std::max(grad_bucket, double{kGradBytesPerParam} * static_cast<double>(d + e));
      param_bucket = std::max(param_bucket, double{kWeightBytesPerParam} * static_cast<double>(d + e));
      const auto k = static_cast<models::LayerKind>(layer_kind[i]);
      if (k == models::LayerKind::kDense || k == models::LayerKind::kMoe ||
          k == models::LayerKind::kMtp)
        act += activation_bytes_per_token_layer(spec, plan, k != models::LayerKind::kDense)
                   .as_double();
    }
    // MTP shares the embedding and head: with DualPipe they sit on this rank already.
    params += dense + expert;
    const double p = static_cast<double>(dense + expert);
    // ZeRO-3 keeps the stage copy's 1/dp shard (as its gradients) between uses.
    const double grad_shard_params = static_cast<double>(dense) / grad_shard_dense +
                                     static_cast<double>(expert) / grad_shard_expert;
    weights += double{kWeightBytesPerParam} * (plan.data.zero_stage >= 3 ? grad_shard_params : p);
    const double shard_d = plan.data.zero_stage >= 1 ? dp_dense : 1;
    const double shard_e = plan.data.zero_stage >= 1 ? dp_expert : 1;
    master += double{kMasterBytesPerParam} * (dense / shard_d + expert / shard_e);
    moments += static_cast<double>(plan.precision.moment_bytes_per_param()) * (dense / shard_d + expert / shard_e);
    grads += double{kGradBytesPerParam} * (plan.data.zero_stage >= 2 ? grad_shard_params : p);
    // Under TP with sequence parallelism a GPU keeps 1/tp of every cached
    // activation (Korthikanti et al. 2022: each term of the per-layer
    // activation memory divides by t).
    const double stage_act = act * static_cast<double>(plan.tokens_per_gpu_micro_batch());
    act_of_stage[st] = stage_act;
    act_stage_max = std::max(act_stage_max, Bytes::from_double(stage_act));
  }
  if (plan.data.zero_stage >= 2) grads += 2 * grad_bucket;
  // ZeRO-3's gathered layers (training.cpp ParamBuffers): two per pass in
  // flight, and DualPipe's overlapped pairs run a forward and a backward.
  // (Only where there is a DP group to shard over, as training.cpp's zero3.)
  if (plan.data.zero_stage >= 3 && (plan.data.degree > 1 || (spec.moe && grad_shard_expert > 1)))
    weights += (is_dual(plan.pipeline.schedule) ? 4 : 2) * param_bucket;
  m.params = params;
  m.weights = Bytes::from_double(weights);
  m.gradients = Bytes::from_double(grads);
  m.master_weights = Bytes::from_double(master);
  m.optimizer_moments = Bytes::from_double(moments);
  m.activation_per_micro_batch_stage = act_stage_max;
  if (check_pipeline(plan.pipeline.schedule, pp, plan.micro_batches(), plan.pipeline.virtual_stages).empty()) {
    // One program for every rank's call (check_plan asks for each rank, and
    // again for each fix it tries): built once per shape and thread.
    struct Cached {
      PipelineSchedule schedule;
      int pp, micro_batches, chunks;
      std::shared_ptr<const PipelineProgram> prog;
    };
    thread_local Cached cached{PipelineSchedule::k1F1B, -1, -1, -1, nullptr};
    if (!cached.prog || cached.schedule != plan.pipeline.schedule || cached.pp != pp ||
        cached.micro_batches != plan.micro_batches() || cached.chunks != plan.pipeline.virtual_stages)
      cached = {plan.pipeline.schedule, pp, plan.micro_batches(), plan.pipeline.virtual_stages,
                std::make_shared<const PipelineProgram>(
                    build_pipeline(plan.pipeline.schedule, pp, plan.micro_batches(), plan.pipeline.virtual_stages))};
    const PipelineProgram& prog = *cached.prog;
    const auto [bytes, sets] = peak_activations(prog, rank, [&](int stage) {
      const auto it = act_of_stage.find(stage);
      return it == act_of_stage.end() ? 0.0 : it->second;
    });
    m.peak_in_flight = sets;
    m.activations = Bytes::from_double(bytes);
  }
  m.runtime = runtime_reserve;
  return m;
}

namespace {
// Why TP over `tp` GPUs cannot run this model and plan ("" when it can): it
// splits heads, FFN widths, the vocabulary and a micro-batch's tokens
// evenly, and its collectives run on every layer, so the group stays inside
// one node's NVLink.
std::string tp_split_problem(const models::ModelSpec& spec, const Plan& plan, int tp, int gpus_per_node) {
  auto splits = [&](int64_t n) { return n % tp == 0; };
  if (gpus_per_node > 0 && gpus_per_node % tp != 0)
    return "the TP group must fit in one node's NVLink domain: it must divide the node's " +
           std::to_string(gpus_per_node) + " GPUs";
  if (!splits(spec.n_heads)) return std::to_string(spec.n_heads) + " attention heads do not split evenly";
  if (spec.gqa && !splits(spec.gqa->n_kv_heads))
    return std::to_string(spec.gqa->n_kv_heads) + " KV heads do not split evenly";
  if ((!spec.moe || spec.moe->n_dense_layers > 0) && !splits(spec.inter_dim))
    return "the FFN width " + std::to_string(spec.inter_dim) + " does not split evenly";
  if (spec.moe && !splits(int64_t{spec.moe->n_shared_experts} * spec.moe->moe_inter_dim))
    return "the shared experts' width does not split evenly";
  if (!splits(spec.vocab_size)) return "the vocabulary of " + std::to_string(spec.vocab_size) + " does not split evenly";
  if (!splits(plan.tokens_per_micro_batch()))
    return "sequence parallelism splits a micro-batch's " + std::to_string(plan.tokens_per_micro_batch()) +
           " tokens evenly, and they do not";
  return "";
}
}  // namespace

void check_plan(const Plan& plan, int cluster_gpus, int gpus_per_node, const models::ModelSpec& spec,
                const GpuCompute& gpu, Bytes hbm, const ComputeCalibration& cal, config::Reader& r,
                const std::string& prefix) {
  auto key = [&](const char* k) { return prefix + "." + k; };
  if (plan.comm_sms >= gpu.sms) {
    r.check(false, key("comm_sms"),
            "reserves " + std::to_string(plan.comm_sms) + " SMs for communication, but the GPU has " +
                std::to_string(gpu.sms) + "; it must leave the compute some (DeepSeek: 20 of 132)");
    return;
  }
  if (spec.moe && plan.expert.degree > 1 && plan.comm_sms < 1) {
    r.check(false, key("comm_sms"),
            "EP = " + std::to_string(plan.expert.degree) +
                " runs its all-to-all on DeepEP kernels, which take SMs from the compute; reserve them "
                "(DeepSeek: 20 of 132; the all-to-all is timed as fitted at " +
                std::to_string(cal.deepep_fit_sms) + ")");
    return;
  }
  if (plan.gpus() != cluster_gpus) {
    r.check(false, key("data.degree"),
            "PP x DP x TP = " + std::to_string(plan.pipeline.degree) + " x " +
                std::to_string(plan.data.degree) + " x " + std::to_string(plan.tensor.degree) +
                " = " + std::to_string(plan.gpus()) + " GPUs, but the cluster has " +
                std::to_string(cluster_gpus));
    return;
  }
  if (plan.tensor.degree > 1)
    if (const std::string why = tp_split_problem(spec, plan, plan.tensor.degree, gpus_per_node); !why.empty()) {
      r.check(false, key("tensor.degree"), "TP = " + std::to_string(plan.tensor.degree) + ": " + why);
      return;
    }
  const int stage_gpus = plan.data.degree * plan.tensor.degree;
  if (stage_gpus % plan.expert.degree != 0) {
    r.check(false, key("expert.degree"),
            "EP = " + std::to_string(plan.expert.degree) + " must divide the " +
                std::to_string(stage_gpus) + " GPUs of a pipeline stage");
    return;
  }
  if (!spec.moe && plan.expert.degree > 1) {
    r.check(false, key("expert.degree"),
            "EP = " + std::to_string(plan.expert.degree) + ", but the model (" + spec.name +
                ") has no routed experts to spread; set it to 1");
    return;
  }
  if (spec.moe) {
    if (spec.moe->n_routed_experts % plan.expert.degree != 0) {
      r.check(false, key("expert.degree"),
              std::to_string(spec.moe->n_routed_experts) + " routed experts do not split over EP = " +
                  std::to_string(plan.expert.degree) + " GPUs");
      return;
    }
    if (gpus_per_node > 0 && plan.expert.degree % gpus_per_node != 0) {
      r.check(false, key("expert.degree"),
              "EP = " + std::to_string(plan.expert.degree) + " is not a whole number of " +
                  std::to_string(gpus_per_node) + "-GPU nodes (an EP group is expert.nodes_per_group whole nodes: EP = " +
                  "nodes_per_group x " + std::to_string(gpus_per_node) + ")");
      return;
    }
    if (gpus_per_node > 0 && plan.expert.nodes_per_group * gpus_per_node != plan.expert.degree) {
      r.check(false, key("expert.nodes_per_group"),
              "EP = " + std::to_string(plan.expert.degree) + " with " + std::to_string(gpus_per_node) +
                  " GPUs per node spans " + std::to_string(plan.expert.degree / std::max(1, gpus_per_node)) +
                  " nodes, not " + std::to_string(plan.expert.nodes_per_group));
      return;
    }
    r.check(plan.expert.max_nodes_per_token <= plan.expert.nodes_per_group,
            key("expert.max_nodes_per_token"),
            "node limit M = " + std::to_string(plan.expert.max_nodes_per_token) +
                " exceeds the group's " + std::to_string(plan.expert.nodes_per_group) + " nodes");
  }
  // Memory on every rank (the most loaded one decides).
  const auto layers = plan_op_list(spec, plan);
  if (const int stages = plan.pipeline.stages(); stages > static_cast<int>(layers.size())) {
    const bool virt = stages != plan.pipeline.degree;
    r.check(false,
            key(plan.pipeline.schedule == PipelineSchedule::kInterleaved ? "pipeline.virtual_stages" : "pipeline.degree"),
            std::to_string(stages) + " pipeline stages" +
                (virt ? " (" + std::to_string(plan.pipeline.degree) + " ranks x " +
                            std::to_string(stages / plan.pipeline.degree) + " per rank)"
                      : std::string()) +
                " for the model's " + std::to_string(layers.size()) + " op-list layers (embed + " +
                std::to_string(spec.n_layers) + " layers + head + " + std::to_string(spec.mtp_depth) +
                " MTP): every stage needs at least one layer");
    return;
  }
  const std::vector<int> kinds = layer_kinds(layers);
  if (!plan.pipeline.layers_per_stage.empty()) {
    int sum = 0;
    for (int c : plan.pipeline.layers_per_stage) sum += c;
    const int stages = plan.pipeline.stages();
    if (static_cast<int>(plan.pipeline.layers_per_stage.size()) != stages ||
        sum != static_cast<int>(layers.size())) {
      r.check(false, key("pipeline.layers_per_stage"),
              "needs " + std::to_string(stages) + " entries (one per stage" +
                  (stages != plan.pipeline.degree ? ", " + std::to_string(stages / plan.pipeline.degree) + " per rank" : "") +
                  ") summing to the model's " +
                  std::to_string(layers.size()) + " op-list layers (embed + " +
                  std::to_string(spec.n_layers) + " layers + head + " + std::to_string(spec.mtp_depth) +
                  " MTP), got " + std::to_string(plan.pipeline.layers_per_stage.size()) +
                  " entries summing to " + std::to_string(sum));
      return;
    }
  }
  const auto stages =
      stage_split(plan, layer_costs(layers, gpu, cal, std::max(1, gpu.sms - plan.comm_sms)));
  for (int rank = 0; rank < plan.pipeline.degree; ++rank) {
    const MemoryBreakdown m = plan_memory(spec, plan, stages, kinds, rank, cal.training_memory_reserve);
    if (m.total() > hbm) {
      // What one change would make every rank fit (the stage split kept).
      std::string fixes;
      std::vector<std::string> tried;
      auto shown = [&](const char* k) { return (prefix.empty() ? std::string("plan") : prefix) + "." + k; };
      auto try_fix = [&](const char* knob, const std::string& what, const Plan& alt) {
        if (tried.empty() || tried.back() != knob) tried.emplace_back(knob);
        // (A change the schedule cannot take is no fix; plan_memory would
        // count no activations for it.)
        if (!check_pipeline(alt.pipeline.schedule, alt.pipeline.degree, alt.micro_batches(),
                            alt.pipeline.virtual_stages).empty())
          return;
        Bytes t;  // the fullest rank under the change
        for (int q = 0; q < alt.pipeline.degree; ++q)
          t = std::max(t, plan_memory(spec, alt, stages, kinds, q, cal.training_memory_reserve).total());
        if (t <= hbm) fixes += (fixes.empty() ? "" : ", ") + what + " (" + gb(t) + ")";
      };
      // The lowest higher ZeRO stage that fits.
      for (int z = plan.data.zero_stage + 1; z <= 3; ++z) {
        Plan alt = plan;
        alt.data.zero_stage = z;
        const size_t before = fixes.size();
        try_fix("ZeRO stage", shown("data.zero_stage") + ": " + std::to_string(z), alt);
        if (fixes.size() != before) break;
      }
      if (spec.moe && stage_gpus % (2 * plan.expert.degree) == 0 &&
          spec.moe->n_routed_experts % (2 * plan.expert.degree) == 0) {
        Plan alt = plan;
        alt.expert.degree *= 2;
        alt.expert.nodes_per_group *= 2;
        alt.expert.max_nodes_per_token = std::min(alt.expert.max_nodes_per_token, alt.expert.nodes_per_group);
        try_fix("EP size",
                shown("expert.degree") + ": " + std::to_string(alt.expert.degree) + " with " +
                    shown("expert.nodes_per_group") + ": " + std::to_string(alt.expert.nodes_per_group),
                alt);
      }
      // Twice the TP over half the DP (the same GPUs), where the node and
      // the model's widths allow it.
      if (const int tp2 = 2 * plan.tensor.degree;
          plan.data.degree % 2 == 0 && tp_split_problem(spec, plan, tp2, gpus_per_node).empty()) {
        Plan alt = plan;
        alt.tensor.degree = tp2;
        alt.data.degree /= 2;
        try_fix("TP", shown("tensor.degree") + ": " + std::to_string(tp2) + " with " + shown("data.degree") + ": " +
                          std::to_string(alt.data.degree), alt);
      }
      if (plan.batch.micro_batch % 2 == 0) {
        Plan alt = plan;
        alt.batch.micro_batch /= 2;
        try_fix("micro-batch", shown("batch.micro_batch") + ": " + std::to_string(alt.batch.micro_batch), alt);
      }
      std::string knobs;
      for (size_t i = 0; i < tried.size(); ++i)
        knobs += (i == 0 ? "" : i + 1 == tried.size() ? " or " : ", ") + tried[i];
      // The key of the largest part one knob shrinks: activations (the
      // micro-batch) or the model state (its expert share, by EP).
      const Bytes state = m.weights + m.gradients + m.master_weights + m.optimizer_moments;
      // Near the limit one decimal would print the same figure twice.
      const int digits = gb(m.total()) == gb(hbm) ? 3 : 1;
      const std::string need = gb(m.total(), digits), have = gb(hbm, digits);
      r.check(false, key(m.activations >= state ? "batch.micro_batch" : spec.moe ? "expert.degree" : "tensor.degree"),
              "pipeline rank " + std::to_string(rank) + " needs " + need + " of HBM but the GPU has " + have +
                  ": " + m.str() +
                  (!fixes.empty()   ? "; it fits with " + fixes
                   : knobs.empty() ? std::string()
                                   : "; no single change of " + knobs + " makes it fit"));
      return;
    }
  }
}

}  // namespace codesim::workloads
