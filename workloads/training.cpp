#include "workloads/training.hpp"

#include <algorithm>
#include <numeric>
#include <array>
#include <cmath>
#include <filesystem>
#include <map>
#include <mutex>
#include <tuple>

#include "models/counts.hpp"
#include "models/eplb.hpp"
#include "models/op_list.hpp"
#include "models/routing.hpp"
#include "models/trace.hpp"
#include "sim/strings.hpp"
#include "workloads/streams.hpp"

namespace codesim::workloads {

void TrainingOptions::validate(config::Reader& r) {
  r.check(!model.empty(), "model", "must name a model spec file");
  r.check(rental_usd_per_gpu_hour >= 0, "rental_usd_per_gpu_hour", "must be >= 0");
  r.check(lifetime_years > 0, "lifetime_years", "must be > 0");
  r.check(node_power_kw >= 0, "node_power_kw", "must be >= 0");
  r.check(pue >= 1, "pue", "must be >= 1");
  r.check(electricity_usd_per_kwh >= 0, "electricity_usd_per_kwh", "must be >= 0");
  r.check(report_rank >= 0, "report_rank", "must be >= 0");
  // Resolve the model and calibration paths relative to the file that names
  // them, and say where a missing one was named (not only that it is missing).
  auto resolve = [&](const std::string& key, const std::string& value, const char* what) {
    std::filesystem::path p(value);
    const config::Node* n = r.node().find(key);
    if (p.is_relative() && n && !n->mark.file.empty() && n->mark.file.rfind("--set", 0) != 0)
      p = std::filesystem::path(n->mark.file).parent_path() / p;
    const std::string out = p.lexically_normal().string();
    std::error_code ec;
    r.check(std::filesystem::is_regular_file(p, ec), key,
            "cannot read " + std::string(what) + " file '" + out + "'");
    return out;
  };
  model_path = model.empty() ? model : resolve("model", model, "model spec");
  calibration_path = calibration.empty() ? calibration : resolve("calibration", calibration, "calibration");
}

RoutingFanout routing_fanout(int top_k, int nodes_per_group, int max_nodes, int gpus_per_node) {
  RoutingFanout f;
  const int g = std::max(1, nodes_per_group);
  const int n = (max_nodes > 0 && max_nodes < g) ? max_nodes : g;  // nodes a token may use
  const double k = std::max(0, top_k);
  // The k experts fall uniformly on the n chosen nodes; the token's own node
  // is among the chosen ones with probability n/g.
  const double distinct_nodes = n * (1.0 - std::pow(1.0 - 1.0 / n, k));
  f.remote_nodes = distinct_nodes * (1.0 - 1.0 / g);
  const double slots = static_cast<double>(n) * std::max(1, gpus_per_node);
  f.gpus = slots * (1.0 - std::pow(1.0 - 1.0 / slots, k));
  return f;
}

RoutingFanout gate_fanout(const models::ModelSpec& spec, int ep, int gpus_per_node, int max_nodes,
                          int tokens, uint64_t seed) {
  RoutingFanout f;
  if (!spec.moe || ep < 1 || tokens < 1) return f;
  const int gpn = std::max(1, std::min(gpus_per_node, ep));
  // Memoised: the draw depends only on the gate's shape, the placement, the
  // node limit, the token count and the seed, and sweeps ask for the same
  // few over and over (it is most of a fast training point's time).
  const auto& m = *spec.moe;
  using Key = std::tuple<int, int, int, int, int, double, int, int, int, int, uint64_t>;
  const Key key{m.n_routed_experts, m.n_activated_experts, m.n_expert_groups, m.n_limited_groups,
                static_cast<int>(m.score_func), m.route_scale, ep, gpn, max_nodes, tokens, seed};
  static std::mutex memo_mutex;
  static std::map<Key, RoutingFanout> memo;
  {
    std::lock_guard<std::mutex> lock(memo_mutex);
    if (auto it = memo.find(key); it != memo.end()) return it->second;
  }
  const models::ExpertPlacement placement =
      models::ExpertPlacement::contiguous(spec.moe->n_routed_experts, ep, gpn);
  models::ModelSpec one = spec;  // one MoE layer is enough: the gate is the same in every layer
  one.n_layers = spec.moe->n_dense_layers + 1;
  const std::vector<models::LayerRouting> r =
      models::synthetic_routing(one, tokens, 0.0, seed, &placement, max_nodes);
  if (r.empty()) return f;
  const int nodes = std::max(1, ep / gpn);
  const int k = r[0].top_k;
  double node_sum = 0, gpu_sum = 0;
  std::vector<int> seen_node, seen_gpu;
  for (int t = 0; t < r[0].n_tokens; ++t) {
    seen_node.clear();
    seen_gpu.clear();
    for (int j = 0; j < k; ++j) {
      const int g = placement.expert_gpu[static_cast<size_t>(r[0].experts[static_cast<size_t>(t * k + j)])];
      const int n = g / gpn;
      if (std::find(seen_gpu.begin(), seen_gpu.end(), g) == seen_gpu.end()) seen_gpu.push_back(g);
      if (std::find(seen_node.begin(), seen_node.end(), n) == seen_node.end()) seen_node.push_back(n);
    }
    node_sum += static_cast<double>(seen_node.size());
    gpu_sum += static_cast<double>(seen_gpu.size());
  }
  const double n_tok = r[0].n_tokens;
  // A source GPU's own node is one of the chosen ones with probability
  // (distinct nodes) / nodes, the contents being symmetric over nodes.
  f.remote_nodes = node_sum / n_tok * (1.0 - 1.0 / nodes);
  f.gpus = gpu_sum / n_tok;
  std::lock_guard<std::mutex> lock(memo_mutex);
  memo.emplace(key, f);
  return f;
}

int ep_island(const CommModel& net, int ep) {
  const int n = std::max(1, net.gpus_per_node);
  const int d = std::max(n, net.gpus_per_domain);
  ep = std::max(1, ep);
  if (d <= n || ep <= n) return n;
  if (d % ep == 0) return ep;
  if (ep % d == 0) return d;
  return n;
}

bool ep_straddles_domains(const CommModel& net, int ep) {
  const int n = std::max(1, net.gpus_per_node);
  const int d = std::max(n, net.gpus_per_domain);
  return d > n && ep > n && d % ep != 0 && ep % d != 0;
}

Duration ep_all_to_all_time(const CommModel& net, int64_t tokens, Bytes per_copy,
                            const RoutingFanout& f, bool crosses_leaf) {
  const double t = static_cast<double>(tokens);
  Bandwidth ib = net.nic_effective;
  if (crosses_leaf && net.oversubscription > 1) ib = ib / net.oversubscription;
  const Bytes ib_bytes = per_copy * (t * f.remote_nodes);
  // NVLink: copies to GPUs other than the one the token (or its IB copy) lands on.
  const double nvl_copies = f.gpus * (1.0 - 1.0 / std::max(1, net.gpus_per_node));
  const Bytes nvl_bytes = per_copy * (t * nvl_copies);
  return std::max(ib_bytes / ib, nvl_bytes / net.nvlink) + net.latency;
}

Duration ring_collective_time(const CommModel& net, Bytes bytes, int ranks, bool crosses_leaf) {
  return concurrent_rings_time({Ring{&net, bytes, ranks, crosses_leaf}});
}

Duration concurrent_rings_time(std::initializer_list<Ring> rings) {
  Duration nic, nvlink, latency;
  for (const Ring& r : rings) {
    if (r.ranks <= 1 || r.bytes.count() == 0) continue;
    const CommModel& net = *r.net;
    // A ring over `ranks` GPUs, `g` of them per node: every GPU moves
    // (n-1)/n of the buffer. NCCL runs one ring (channel) per NIC, each
    // leaving the node from a different GPU, so a node's g NICs share the
    // inter-node part and each GPU's NVLink carries the other g-1 of the g
    // channels: (g-1)/g of the moved bytes on NVLink. (The flow replay runs
    // the same channels, fabric_comm.cpp replay_dp.) A ring inside one node
    // is all NVLink.
    const int g = std::min(r.ranks, std::max(1, net.gpus_per_node));
    const bool multi_node = r.ranks > g;
    const Bytes moved = r.bytes * (static_cast<double>(r.ranks - 1) / r.ranks);
    Bandwidth ib = net.nic_effective * static_cast<double>(g);
    if (r.crosses_leaf && net.oversubscription > 1) ib = ib / net.oversubscription;
    if (multi_node) nic += moved / ib;
    if (g > 1) nvlink += (multi_node ? moved * (static_cast<double>(g - 1) / g) : moved) / net.nvlink;
    latency = std::max(latency, net.latency * static_cast<int64_t>(r.ranks - 1));
  }
  return std::max(nic, nvlink) + latency;
}

namespace {

// One layer's work, split at its all-to-alls (compute times already divided
// by the stream occupancy).
struct LayerWork {
  bool has_comm = false;
  Duration f_pre, f_mlp, f_post;       // attn(F) | mlp(F) | after combine
  Duration dispatch_f, combine_f;
  Duration b_mlp, b_attn;              // mlp(B) (incl. pre-combine bits) | attn(B)
  Duration combine_b, dispatch_b;      // gradient all-to-alls: combine(B) is a dispatch kernel
  Duration cast_b;                     // the FP8 cast before combine(B), on the communication stream
  Duration w_mlp, w_attn;
  // ZeRO-2: the reduce-scatter of this layer's weight gradients over the
  // DP group, on the background stream after its last weight-gradient
  // kernel (zero otherwise).
  Duration grad_rs;
  // ZeRO-3: the all-gather of this layer's BF16 parameters over the same
  // group, on the gather stream before its forward and again before its
  // input-gradient pass (FSDP's full shard: freed after each use).
  Duration param_ag;
};

bool is_shared_expert(const std::string& name) { return name.find("shared") != std::string::npos; }
bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }
// Ops whose work is proportional to the routed rows a GPU receives: the
// routed experts' GEMMs and activation, forward and backward (".dgrad",
// ".wgrad", ".bwd" suffixes).
bool is_routed_expert(const std::string& name) {
  std::string n = name;
  for (const char* suffix : {".dgrad", ".wgrad", ".bwd"}) {
    const std::string sx(suffix);
    if (n.size() > sx.size() && n.compare(n.size() - sx.size(), sx.size(), sx) == 0) {
      n.resize(n.size() - sx.size());
      break;
    }
  }
  return n == "moe.up" || n == "moe.down" || n == "moe.swiglu";
}

struct Context {
  const TrainingInputs* in;
  RoutingFanout fanout;
  bool ep_crosses_leaf = false;
  // The EP all-to-all's NVLink island (ep_island): the node on HGX.
  int ep_island = 8;
  int sms = 0;
  // DeepEP's kernels below the SMs they were fitted at
  // (calibration.deepep_fit_sms, TR 3.2.2's 20: "sufficient to fully
  // utilize the bandwidths of IB and NVLink"): each of their channels (2
  // SMs) moves its share, so fewer SMs move proportionally less per second,
  // NIC and NVLink legs alike; more cannot speed past the links. The whole
  // replayed time scales, its few microseconds of latency included (first
  // order).
  double deepep_sm_factor = 1;
  // Busiest GPU's routed rows / mean in one micro-batch (every MoE layer's
  // experts and all-to-alls wait for it).
  double expert_imbalance = 1;
  // Flow timing: EP replays by (dispatch?, tokens, bytes per copy), filled
  // by measure_ep() before the layers are timed.
  bool flow = false;
  CommLayout layout;
  std::map<std::tuple<bool, int64_t, uint64_t>, Duration> ep_times;
  uint64_t flows = 0;
  double wall_s = 0;
  uint64_t undelivered = 0;
  void count(const CommReplay& r) {
    flows += r.flows;
    wall_s += r.wall_s;
    undelivered += r.undelivered;
  }
};

// AdamW on one parameter of the shard: read the FP32 gradient, FP32 master
// and the moments m, v (plan.hpp's bytes per parameter); write master,
// moments and the BF16 weight for the next step. BF16 moments: 4 + 2 x (4 +
// 4) + 2 = 22 bytes.
double adam_bytes_per_param(const PrecisionPlan& p) {
  return static_cast<double>(kGradBytesPerParam + 2 * (kMasterBytesPerParam + p.moment_bytes_per_param()) +
                             kWeightBytesPerParam);
}

// An EP op's (dispatch?, tokens, bytes per token copy).
std::tuple<bool, int64_t, uint64_t> ep_key(const models::Op& op) {
  const auto& s = std::get<models::CommShape>(op.shape);
  const double per_copy = op.bytes_read.as_double() / static_cast<double>(std::max<int64_t>(1, s.copies));
  return {op.kind == models::OpType::kDispatch, s.tokens, static_cast<uint64_t>(std::llround(per_copy))};
}

// DeepEP's kernels reach this fraction of the NIC's effective rate
// (calibration.yaml); NVLink forwarding runs at its own achievable rate.
double deepep_fraction(const Context& c, bool dispatch) {
  return dispatch ? c.in->calibration.deepep_dispatch_fraction : c.in->calibration.deepep_combine_fraction;
}

void measure_ep(Context& c, const std::vector<models::LayerOps>& layers) {
  for (const auto& l : layers)
    for (const auto& op : l.ops) {
      if (op.kind != models::OpType::kDispatch && op.kind != models::OpType::kCombine) continue;
      const auto key = ep_key(op);
      if (c.ep_times.count(key)) continue;
      const bool dispatch = std::get<0>(key);
      const CommReplay r = replay_ep(c.in->fabric_comm, c.layout, std::get<1>(key), B(std::get<2>(key)),
                                     c.fanout, !dispatch, 1.0 / deepep_fraction(c, dispatch));
      c.ep_times[key] = r.time;
      c.count(r);
    }
}

// A TP all-gather or reduce-scatter: a ring over the TP group's NVLink,
// each GPU moving (tp-1)/tp of the whole tensor (BF16), one NVLink latency
// per ring step. It runs on the compute stream, as Megatron issues it (no
// TP communication overlap).
// The TP group as the ring model sees it: inside one node, NVLink latency.
CommModel tp_net(const CommModel& net) {
  CommModel n = net;
  n.latency = net.nvlink_latency;
  return n;
}

Duration tp_comm_time(const Context& c, const models::Op& op) {
  const auto& s = std::get<models::CommShape>(op.shape);
  const Bytes whole = B(static_cast<uint64_t>(s.tokens * s.hidden) * models::bytes_per_element(op.precision));
  return ring_collective_time(tp_net(c.in->net), whole, static_cast<int>(s.copies), false);
}

// An op with those of its FP8 quantisation kernels that run in its own
// pass, as wall time on the compute stream (a TP collective: its ring);
// `other` gets the helper kernels that run in the input-gradient pass
// instead (a weight-gradient GEMM's casts of BF16 operands:
// compute_model.hpp auxiliary_kernels).
Duration compute_time(const Context& c, const models::Op& op, Duration* other = nullptr) {
  if (op.kind == models::OpType::kTpComm) return tp_comm_time(c, op);
  Duration t = time_op(op, c.in->gpu, c.in->calibration, c.sms).time;
  Duration elsewhere;
  for (const auto& q : auxiliary_kernels(op))
    (q.pass == op.pass || !other ? t : elsewhere) += time_op(q, c.in->gpu, c.in->calibration, c.sms).time;
  const double scale = (is_routed_expert(op.name) ? c.expert_imbalance : 1.0) / c.in->calibration.stream_occupancy;
  if (other) *other = elsewhere * scale;
  return t * scale;
}

// A communication op's own kernels (an FP8 dispatch's cast) as plain kernel
// time, for those that run on the communication stream.
Duration comm_cast_time(const Context& c, const models::Op& op) {
  Duration t;
  for (const auto& q : auxiliary_kernels(op)) t += time_op(q, c.in->gpu, c.in->calibration, c.sms).time;
  return t;
}

Duration comm_time(const Context& c, const models::Op& op) {
  if (c.flow) return c.ep_times.at(ep_key(op)) * (c.expert_imbalance * c.deepep_sm_factor);
  const auto& s = std::get<models::CommShape>(op.shape);
  const Bytes per_copy = Bytes::from_double(op.bytes_read.as_double() /
                                            static_cast<double>(std::max<int64_t>(1, s.copies)));
  CommModel net = c.in->net;
  net.nic_effective = net.nic_effective * deepep_fraction(c, op.kind == models::OpType::kDispatch);
  net.gpus_per_node = c.ep_island;
  if (c.ep_island >= c.in->plan.expert.degree) net.latency = net.nvlink_latency;  // never leaves NVLink
  return ep_all_to_all_time(net, s.tokens, per_copy, c.fanout, c.ep_crosses_leaf) *
         (c.expert_imbalance * c.deepep_sm_factor);
}

LayerWork layer_work(const Context& c, const models::LayerOps& layer) {
  LayerWork w;
  const RecomputePlan& rc = c.in->plan.recompute;
  int seg_f = 0, seg_b = 0;
  for (const auto& op : layer.ops) {
    const bool comm = op.kind == models::OpType::kDispatch || op.kind == models::OpType::kCombine;
    if (comm) w.has_comm = true;
    switch (op.pass) {
      case models::Pass::kForward: {
        if (comm) {
          // The dispatch's FP8 cast of the sender's tokens runs on the
          // compute stream before it (train.json: attn(F), stream 7).
          if (seg_f == 0) w.f_pre += compute_time(c, op);
          (seg_f == 0 ? w.dispatch_f : w.combine_f) += comm_time(c, op);
          ++seg_f;
          break;
        }
        const Duration t = compute_time(c, op);
        if (is_shared_expert(op.name) || seg_f == 1)
          w.f_mlp += t;
        else
          (seg_f == 0 ? w.f_pre : w.f_post) += t;
        // Recomputation in the backward pass (DeepSeek-V3 TR 3.3 / 3.2).
        if ((rc.mla_up_projection && (op.name == "attn.wq_b" || op.name == "attn.wkv_b")) ||
            (rc.norms && op.kind == models::OpType::kNorm))
          w.b_attn += t;
        if (rc.swiglu && op.kind == models::OpType::kActivation) w.b_mlp += t;
        break;
      }
      case models::Pass::kBackwardInput: {
        if (comm) {
          // The gradients' FP8 dispatch (the combine's backward) casts them
          // on the DeepEP stream first (train.json: combine(B), stream 27).
          if (seg_b == 0) w.cast_b += comm_cast_time(c, op);
          (seg_b == 0 ? w.combine_b : w.dispatch_b) += comm_time(c, op);
          ++seg_b;
          break;
        }
        const Duration t = compute_time(c, op);
        if (!w.has_comm || seg_b >= 2)
          w.b_attn += t;
        else
          w.b_mlp += t;  // before and between the gradient all-to-alls
        break;
      }
      case models::Pass::kBackwardWeight: {
        const bool mlp = starts_with(op.name, "moe.") || starts_with(op.name, "mtp.moe");
        Duration in_b;
        (mlp ? w.w_mlp : w.w_attn) += compute_time(c, op, &in_b);
        // Its casts of BF16 operands ran in the input-gradient pass, where
        // those tensors exist (compute_model.hpp auxiliary_kernels).
        (mlp ? w.b_mlp : w.b_attn) += in_b;
        break;
      }
    }
  }
  if (!w.has_comm) {  // dense layers, embedding, head: one compute segment per pass
    w.f_pre += w.f_mlp + w.f_post;
    w.f_mlp = w.f_post = Duration::zero();
    w.b_attn += w.b_mlp;
    w.b_mlp = Duration::zero();
  }
  return w;
}

// A double buffer on the timeline: the tasks that free its two slots (the
// last two pushed); a new use of a slot waits for the older one (gate).
struct DoubleBuffer {
  int older = -1, last = -1;
  int gate() const { return older; }
  void push(int task) {
    older = last;
    last = task;
  }
};

// ZeRO-3's parameter buffers: a layer's all-gather may start once the layer
// two before it is done with its weights (pushed: its last task), so one
// layer is prefetched while the previous one computes. Returns the gather
// (-1 when there is none); the layer's first weight-using kernel waits on it.
using ParamBuffers = DoubleBuffer;
int gather_params(Streams& s, const LayerWork& w, const ParamBuffers& pb) {
  return w.param_ag > Duration::zero() ? s.add(Streams::kGather, w.param_ag, {pb.gate()}) : -1;
}

// Forward of layer l after `prev`; returns the task the next layer waits on.
int forward_layer(Streams& s, const LayerWork& w, int prev, Duration carry, ParamBuffers& pb) {
  const int pre = s.add(false, carry + w.f_pre, {prev, gather_params(s, w, pb)});
  int end = pre;
  if (w.has_comm) {
    const int d = s.add(true, w.dispatch_f, {pre});
    const int mlp = s.add(false, w.f_mlp, {d});
    end = s.add(true, w.combine_f, {mlp});  // f_post rides on the next layer's attn(F)
  }
  pb.push(end);
  return end;
}

// ZeRO-2's gradient buffers: a layer's reduce-scatter (pushed) starts once
// its last weight-gradient kernel is done, and a layer's first
// weight-gradient kernel waits until the reduce-scatter of the layer before
// the previous one has freed its buffer, so at most two layers' FP32
// gradients are unreduced at a time (plan.cpp counts two as the bucket).
using GradBuffers = DoubleBuffer;

// ZeRO-2: the layer's gradient reduce-scatter once its last weight-gradient
// kernel (`last_w`) is done.
void reduce_grads(Streams& s, const LayerWork& w, int last_w, GradBuffers& gb) {
  if (w.grad_rs > Duration::zero()) gb.push(s.add(Streams::kBackground, w.grad_rs, {last_w}));
}

// A chunk's end, and when its outputs can leave (its compute and
// communication done; ZeRO-2's reduce-scatters may still run).
struct ChunkEnd {
  Duration all, out;
};
ChunkEnd chunk_end(const Streams& s) { return {s.makespan(), s.foreground_makespan()}; }

int backward_layer(Streams& s, const LayerWork& w, int prev, bool with_weight, GradBuffers& gb,
                   ParamBuffers& pb) {
  const int ag = gather_params(s, w, pb);
  if (!w.has_comm) {
    const int b = s.add(false, w.b_attn, {prev, ag});
    pb.push(b);
    if (with_weight) reduce_grads(s, w, s.add(false, w.w_mlp + w.w_attn, {b, gb.gate()}), gb);
    return b;
  }
  const int cb = s.add(true, w.cast_b + w.combine_b, {prev});
  const int mlp = s.add(false, w.b_mlp, {cb, ag});  // mlp(B): the first kernel that needs the weights
  const int db = s.add(true, w.dispatch_b, {mlp});
  if (with_weight) s.add(false, w.w_mlp, {mlp, gb.gate()});
  const int attn = s.add(false, w.b_attn, {db});
  pb.push(attn);
  if (with_weight) reduce_grads(s, w, s.add(false, w.w_attn, {attn}), gb);
  return attn;
}

Duration forward_chunk(const std::vector<LayerWork>& layers) {
  Streams s;
  ParamBuffers pb;
  int prev = -1;
  Duration carry;
  for (const auto& w : layers) {
    prev = forward_layer(s, w, prev, carry, pb);
    carry = w.f_post;
  }
  s.add(false, carry, {prev});
  return s.makespan();
}

ChunkEnd backward_chunk(const std::vector<LayerWork>& layers, bool with_weight) {
  Streams s;
  GradBuffers gb;
  ParamBuffers pb;
  int prev = -1;
  for (auto it = layers.rbegin(); it != layers.rend(); ++it)
    prev = backward_layer(s, *it, prev, with_weight, gb, pb);
  return chunk_end(s);
}

Duration weight_chunk(const std::vector<LayerWork>& layers) {
  Streams s;
  GradBuffers gb;
  int prev = -1;
  for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
    prev = s.add(false, it->w_mlp + it->w_attn, {prev, gb.gate()});
    reduce_grads(s, *it, prev, gb);
  }
  return s.makespan();
}

// DualPipe's overlapped pair: forward of `fl` and full backward of `bl`,
// interleaved layer by layer in train.json's order.
ChunkEnd fb_pair(const std::vector<LayerWork>& fl, const std::vector<LayerWork>& bl) {
  Streams s;
  GradBuffers gb;
  ParamBuffers pf, pbk;  // ZeRO-3: each direction's layers double-buffered
  const size_t n = std::max(fl.size(), bl.size());
  int f_prev = -1, b_prev = -1;
  Duration carry;
  for (size_t i = 0; i < n; ++i) {
    const LayerWork* f = i < fl.size() ? &fl[i] : nullptr;
    const LayerWork* b = i < bl.size() ? &bl[bl.size() - 1 - i] : nullptr;
    int cb = -1, attn_f = -1, mlp_b = -1;
    const int ag_b = b ? gather_params(s, *b, pbk) : -1;                           // [ZeRO-3 AG]
    const int ag_f = f ? gather_params(s, *f, pf) : -1;
    if (b) cb = s.add(true, b->cast_b + b->combine_b, {b_prev});           // combine(B)
    if (f) attn_f = s.add(false, carry + f->f_pre, {f_prev, ag_f});        // attn(F)
    if (b) mlp_b = s.add(false, b->b_mlp, {cb, ag_b});                     // mlp(B)
    int disp_f = -1, disp_b = -1;
    if (f) disp_f = s.add(true, f->dispatch_f, {attn_f});                  // dispatch(F)
    if (b) disp_b = s.add(true, b->dispatch_b, {mlp_b});                   // dispatch(B)
    if (b) s.add(false, b->w_mlp, {mlp_b, gb.gate()});                     // mlp(W)
    int mlp_f = -1;
    if (f) mlp_f = s.add(false, f->f_mlp, {disp_f});                       // mlp(F)
    if (b) {
      b_prev = s.add(false, b->b_attn, {disp_b});                          // attn(B)
      pbk.push(b_prev);
      reduce_grads(s, *b, s.add(false, b->w_attn, {b_prev}), gb);          // attn(W) [, ZeRO-2 RS]
    }
    if (f) {
      f_prev = s.add(true, f->combine_f, {mlp_f});                         // combine(F)
      pf.push(f_prev);
      carry = f->f_post;
    }
  }
  s.add(false, carry, {f_prev});
  return chunk_end(s);
}

}  // namespace

TrainingResult simulate_training(const TrainingInputs& in, std::string& error) {
  TrainingResult res;
  const Plan& plan = in.plan;
  const models::ModelSpec& spec = in.model;
  const int pp = plan.pipeline.degree;
  const int stages = plan.pipeline.stages();
  const int mbs = plan.micro_batches();
  if (std::string why = check_pipeline(plan.pipeline.schedule, pp, mbs, plan.pipeline.virtual_stages); !why.empty()) {
    error = why;
    return res;
  }

  Context c;
  c.in = &in;
  c.sms = std::max(1, in.gpu.sms - plan.comm_sms);
  if (plan.comm_sms > 0 && plan.comm_sms < in.calibration.deepep_fit_sms)
    c.deepep_sm_factor = static_cast<double>(in.calibration.deepep_fit_sms) / plan.comm_sms;
  const int k = spec.moe ? spec.moe->n_activated_experts : 0;
  c.ep_island = ep_island(in.net, plan.expert.degree);
  c.fanout = spec.moe ? gate_fanout(spec, std::max(1, plan.expert.degree), c.ep_island,
                                     plan.expert.max_nodes_per_token)
                       : RoutingFanout{};
  c.ep_crosses_leaf = in.net.nodes_per_leaf > 0 && plan.expert.nodes_per_group > in.net.nodes_per_leaf &&
                      c.ep_island < plan.expert.degree;
  // Training routes with auxiliary-loss-free balancing (TR 2.1.2): the
  // bias controller evens the experts' expected loads, so every GPU of the
  // EP group expects its own tokens x top-k rows; one micro-batch's rows are
  // still a finite sample, and the busiest GPU sets the pace.
  if (spec.moe && plan.expert.degree > 1) {
    const double rows = static_cast<double>(plan.tokens_per_gpu_micro_batch()) * k;
    const std::vector<double> even(static_cast<size_t>(plan.expert.degree), 1.0);
    c.expert_imbalance = models::expected_max_load(even, rows);
  }

  // 1. Op list of one micro-batch; routed experts re-shaped to one GPU.
  const std::vector<models::LayerOps> layers = plan_op_list(spec, plan);

  // Flow timing: replay each distinct EP all-to-all on the fabric.
  c.flow = in.options.comm == CommTiming::kFlow && in.fabric_comm.fabric != nullptr;
  if (c.flow) {
    c.layout.gpus = plan.gpus();
    c.layout.gpus_per_node = c.ep_island;  // EP flows land once per island (the node on HGX)
    c.layout.pp = pp;
    c.layout.ep = std::max(1, plan.expert.degree);
    c.layout.ep_nodes = std::max(1, plan.expert.degree / c.ep_island);
    c.layout.gpus_per_domain = std::max(in.net.gpus_per_node, in.net.gpus_per_domain);
    try {
      measure_ep(c, layers);
    } catch (const std::exception& e) {
      error = e.what();
      return res;
    }
  }

  // 2. Stages: contiguous layers, balanced by precision-weighted FLOPs
  // (per DualPipe rank pair), or as the plan fixes them.
  const std::vector<int> kinds = layer_kinds(layers);
  const std::vector<StageLayers> split =
      stage_split(plan, layer_costs(layers, in.gpu, in.calibration, c.sms));
  {
    int total = 0;
    for (const auto& sl : split) total += sl.count;
    if (static_cast<int>(split.size()) != stages || total != static_cast<int>(layers.size())) {
      error = "pipeline.layers_per_stage must have " + std::to_string(stages) + " entries summing to " +
              std::to_string(layers.size());
      return res;
    }
  }

  // DP groups. DualPipe holds every stage on two ranks (r and PP-1-r):
  // each parameter's gradient is reduced over both copies' DP replicas, and
  // ZeRO shards its optimizer state over them all.
  const int copies = stage_copies(plan.pipeline.schedule);
  const ReplicaGroups replicas = replica_groups(plan);
  const int stage_gpus = plan.data.degree * plan.tensor.degree;
  const int dp_expert = std::max(1, stage_gpus / std::max(1, plan.expert.degree));
  const int dense_nodes = std::max(1, stage_gpus / std::max(1, in.net.gpus_per_node));
  // A rank's nodes are contiguous; DualPipe's mirror rank PP-1-r holds other
  // nodes, for most ranks far away, so a two-copy group is taken to cross
  // leaves whenever the cluster has more than one (conservative for the
  // middle pair, whose ranks are adjacent). The expert replicas of a
  // mirrored group cross with it.
  const bool mirrored_crosses = copies > 1 && in.net.nodes_per_leaf > 0 && in.nodes > in.net.nodes_per_leaf;
  const bool dp_crosses_leaf =
      (in.net.nodes_per_leaf > 0 && dense_nodes > in.net.nodes_per_leaf) || mirrored_crosses;
  auto bytes = [](int64_t n, uint64_t per) { return B(static_cast<uint64_t>(n) * per); };
  // The DP rings' NVLink island: the node, or in a larger NVLink domain
  // (NVL72) the rank's GPUs that surely share one domain (a rank's GPUs are
  // contiguous, so blocks of gcd(rank GPUs, domain GPUs) never straddle),
  // as NCCL rings over a multi-node NVLink domain.
  const int ring_island =
      std::max(in.net.gpus_per_node, std::gcd(stage_gpus, std::max(in.net.gpus_per_node, in.net.gpus_per_domain)));
  if (c.flow) c.layout.ring_gpus = stage_gpus % ring_island == 0 ? ring_island : in.net.gpus_per_node;
  // Expert replicas sit one per EP group: on different nodes (a ring of one
  // GPU per node, no NVLink leg), unless an island holds several EP groups.
  CommModel per_rail = in.net;
  per_rail.gpus_per_node = std::max(1, ring_island / std::max(1, plan.expert.degree));
  // A dense DP group holds one GPU per TP group: island / TP of it share an
  // island (TP8 on HGX: one, a pure rail ring).
  CommModel dp_net = in.net;
  dp_net.gpus_per_node = std::max(1, ring_island / std::max(1, plan.tensor.degree));

  // 3. Chunk times per stage.
  std::vector<LayerWork> work;
  for (const auto& l : layers) work.push_back(layer_work(c, l));
  // ZeRO-2 keeps a 1/dp shard of each gradient, so every weight-gradient
  // pass reduce-scatters what it produced, layer by layer, over the DP
  // group of its own stage copy (data.degree GPUs, the expert slot's
  // replicas), before the next pass accumulates (DeepSpeed's stage 2 syncs
  // its reductions at the end of each backward); DualPipe's two copies sum
  // their shards once, in the tail.
  const bool zero2 = plan.data.zero_stage >= 2 && (plan.data.degree > 1 || (spec.moe && dp_expert > 1));
  // ZeRO-3 keeps only that shard of the parameters too: each layer is
  // all-gathered before its forward and again before its input-gradient pass.
  const bool zero3 = zero2 && plan.data.zero_stage >= 3;
  if (zero2) {
    const models::ParamCounts pc = models::count_params(spec);
    const int ep = std::max(1, plan.expert.degree);
    const bool own_crosses = in.net.nodes_per_leaf > 0 && dense_nodes > in.net.nodes_per_leaf;
    // (dense, expert) params, bytes per param -> time of its collective
    std::map<std::tuple<int64_t, int64_t, uint64_t>, Duration> by_size;
    auto collective = [&](std::pair<int64_t, int64_t> de, uint64_t per_param) {
      const auto key = std::make_tuple(de.first, de.second, per_param);
      if (auto it = by_size.find(key); it != by_size.end()) return it->second;
      const Bytes dg = bytes(de.first, per_param), eg = bytes(de.second, per_param);
      Duration t = concurrent_rings_time(
          {Ring{&dp_net, dg, plan.data.degree, own_crosses}, Ring{&per_rail, eg, dp_expert, own_crosses}});
      if (c.flow) {  // every rank's rings at once; the slowest rank's time
        CommReplay tr;
        const std::vector<Duration> per = replay_dp(in.fabric_comm, c.layout, plan.data.degree, dp_expert,
                                                    std::vector<Bytes>(pp, dg), std::vector<Bytes>(pp, eg), tr, {});
        c.count(tr);
        t = *std::max_element(per.begin(), per.end());
      }
      by_size.emplace(key, t);
      return t;
    };
    try {
      for (size_t i = 0; i < layers.size(); ++i) {
        const std::pair<int64_t, int64_t> de = layer_params(spec, pc, kinds[i], ep, plan.tensor.degree);
        work[i].grad_rs = collective(de, kGradBytesPerParam);
        if (zero3) work[i].param_ag = collective(de, kWeightBytesPerParam);
      }
    } catch (const std::exception& e) {
      error = e.what();
      return res;
    }
  }
  std::vector<std::vector<LayerWork>> stage_work(stages);
  PipelineTiming timing;
  for (int st = 0; st < stages; ++st) {
    StageTimes t;
    t.first_layer = split[st].first;
    t.layers = split[st].count;
    for (int i = t.first_layer; i < t.first_layer + t.layers; ++i) {
      stage_work[st].push_back(work[i]);
      t.layer_names.push_back(layers[i].name);
      t.grad_reduce += work[i].grad_rs;
      t.param_gather += work[i].param_ag;
    }
    t.chunk.f = forward_chunk(stage_work[st]);
    t.chunk.b_input = backward_chunk(stage_work[st], false).all;
    t.chunk.w = weight_chunk(stage_work[st]);
    const ChunkEnd b = backward_chunk(stage_work[st], true);
    t.chunk.b = b.all;
    t.chunk.b_out = b.out;
    res.stages.push_back(t);
    timing.stage.push_back(t.chunk);
  }
  const PipelineProgram program = build_pipeline(plan.pipeline.schedule, pp, mbs, plan.pipeline.virtual_stages);
  if (is_dual(plan.pipeline.schedule)) {
    for (int r = 0; r < pp; ++r) {
      std::array<Duration, 2> fb, out;
      for (int d = 0; d < 2; ++d) {
        const ChunkEnd e = fb_pair(stage_work[program.stage_of(r, d)], stage_work[program.stage_of(r, 1 - d)]);
        fb[d] = e.all;
        out[d] = e.out;
      }
      timing.fb.push_back(fb);
      timing.fb_out.push_back(out);
    }
  }
  res.fb = timing.fb;

  // PP: one micro-batch's hidden states (BF16) between adjacent stages, cross-node
  // (under TP each GPU sends its sequence-parallel share).
  const Bytes pp_bytes = B(static_cast<uint64_t>(plan.tokens_per_gpu_micro_batch()) *
                           static_cast<uint64_t>(spec.dim) * 2);
  const bool pp_crosses_leaf = in.net.nodes_per_leaf > 0 && in.nodes > in.net.nodes_per_leaf;
  Bandwidth pp_bw = in.net.nic_effective;
  if (pp_crosses_leaf && in.net.oversubscription > 1) pp_bw = pp_bw / in.net.oversubscription;
  timing.p2p = pp > 1 ? pp_bytes / pp_bw + in.net.latency : Duration::zero();  // PP = 1: no sends
  if (c.flow && pp > 1) {
    const CommReplay r = replay_pp(in.fabric_comm, c.layout, pp_bytes);
    timing.p2p = r.time;
    c.count(r);
  }
  timing.blocking_sends = true;
  res.pp_transfer = timing.p2p;

  // 4. The pipeline.
  const PipelineResult pr = simulate_pipeline(program, timing);
  if (!pr.ok) {
    error = pr.error;
    return res;
  }
  res.pipeline = pr.makespan;
  res.program = program;
  res.op_times = pr.op_times;

  // 5. DP gradient reduce-scatter, AdamW on the shard, parameter all-gather
  // (over the DP groups above). Under ZeRO-2 the passes have reduced the
  // gradients already: what is left is DualPipe's sum of the two copies'
  // shards, a swap of half the shard between each GPU and its mirror.
  int64_t step_end = 0;
  res.per_rank.resize(pp);
  std::vector<RankParams> params;
  for (int r = 0; r < pp; ++r) params.push_back(rank_params(spec, plan, split, kinds, r));
  // Flow timing: the DP rings of every rank at once (reduce-scatter of the
  // gradients, all-gather of the weights; ZeRO-0 all-reduces the gradients,
  // i.e. reduce-scatter then all-gather of the same bytes).
  // The bytes of a GPU's ZeRO-2 gradient shard (one stage copy's DP groups).
  auto zero2_shard = [&](const RankParams& rp) {
    return Bytes::from_double(static_cast<double>(kGradBytesPerParam) *
                              (static_cast<double>(rp.dense) / std::max(1, plan.data.degree) +
                               static_cast<double>(rp.expert) / dp_expert));
  };
  // ZeRO-3: the BF16 parameter shard a GPU keeps between uses.
  auto zero3_shard = [&](const RankParams& rp) {
    return Bytes::from_double(zero2_shard(rp).as_double() * kWeightBytesPerParam / kGradBytesPerParam);
  };
  std::vector<Duration> flow_rs, flow_ag;
  if (c.flow && replicas.dense > 1) {
    std::vector<Bytes> dense_g, expert_g, dense_p, expert_p;
    for (const RankParams& rp : params) {
      dense_g.push_back(bytes(rp.dense, kGradBytesPerParam));
      expert_g.push_back(bytes(rp.expert, kGradBytesPerParam));
      dense_p.push_back(bytes(rp.dense, kWeightBytesPerParam));
      expert_p.push_back(bytes(rp.expert, kWeightBytesPerParam));
    }
    try {
      CommReplay tr;
      std::vector<int> mirror;
      for (int r = 0; r < pp; ++r) mirror.push_back(mirror_rank(plan.pipeline.schedule, pp, r));
      if (!zero2) {
        flow_rs = replay_dp(in.fabric_comm, c.layout, plan.data.degree, dp_expert, dense_g, expert_g, tr, mirror);
        c.count(tr);
      } else if (copies > 1) {  // the mirror pairs' swap: rings of 2 (DP 1 per copy)
        std::vector<Bytes> shard, none(static_cast<size_t>(pp));
        for (const RankParams& rp : params) shard.push_back(zero2_shard(rp));
        flow_rs = replay_dp(in.fabric_comm, c.layout, 1, 1, shard, none, tr, mirror);
        c.count(tr);
      } else {
        flow_rs.assign(static_cast<size_t>(pp), Duration::zero());
      }
      if (zero3 && copies > 1) {  // the mirror pairs swap their updated BF16 halves
        std::vector<Bytes> shard, none(static_cast<size_t>(pp));
        for (const RankParams& rp : params) shard.push_back(zero3_shard(rp));
        flow_ag = replay_dp(in.fabric_comm, c.layout, 1, 1, shard, none, tr, mirror);
        c.count(tr);
      } else if (zero3) {
        flow_ag.assign(static_cast<size_t>(pp), Duration::zero());
      } else if (plan.data.zero_stage >= 1) {
        flow_ag = replay_dp(in.fabric_comm, c.layout, plan.data.degree, dp_expert, dense_p, expert_p, tr, mirror);
        c.count(tr);
      } else {
        flow_ag = flow_rs;  // all-reduce = reduce-scatter + all-gather of the same bytes
      }
    } catch (const std::exception& e) {
      error = e.what();
      return res;
    }
  }
  // Per rank: start of its tail, then reduce-scatter, [norm pass], AdamW,
  // all-gather. With clipping, AdamW starts on every rank at the same time:
  // when the last norm pass is done and its scalar all-reduce (a tree over
  // all GPUs: 2 log2(n) messages) has come back.
  struct Tail {
    int64_t start = 0;
    Duration rs, norm, opt, ag;
  };
  std::vector<Tail> tails(static_cast<size_t>(pp));
  for (int r = 0; r < pp; ++r) {
    const RankParams& rp = params[static_cast<size_t>(r)];
    Duration rs, ag;
    double shard = static_cast<double>(rp.dense + rp.expert);
    const int dp_all = replicas.dense, dp_expert_all = replicas.expert;
    if (zero2) {
      CommModel mirror_net = in.net;  // DualPipe's mirror ranks: other nodes, one GPU each
      mirror_net.gpus_per_node = 1;
      rs = copies > 1 ? ring_collective_time(mirror_net, zero2_shard(rp), 2, mirrored_crosses) : Duration::zero();
      if (zero3)  // the next step gathers each layer again: only DualPipe's copies swap halves
        ag = copies > 1 ? ring_collective_time(mirror_net, zero3_shard(rp), 2, mirrored_crosses) : Duration::zero();
      else
        ag = concurrent_rings_time({Ring{&dp_net, bytes(rp.dense, kWeightBytesPerParam), dp_all, dp_crosses_leaf},
                                    Ring{&per_rail, bytes(rp.expert, kWeightBytesPerParam), dp_expert_all,
                                         dp_crosses_leaf}});
      shard = static_cast<double>(rp.dense) / dp_all + static_cast<double>(rp.expert) / dp_expert_all;
    } else if (dp_all > 1 && plan.data.zero_stage >= 1) {
      rs = concurrent_rings_time(
          {Ring{&dp_net, bytes(rp.dense, kGradBytesPerParam), dp_all, dp_crosses_leaf},
           Ring{&per_rail, bytes(rp.expert, kGradBytesPerParam), dp_expert_all, dp_crosses_leaf}});
      ag = concurrent_rings_time(
          {Ring{&dp_net, bytes(rp.dense, kWeightBytesPerParam), dp_all, dp_crosses_leaf},
           Ring{&per_rail, bytes(rp.expert, kWeightBytesPerParam), dp_expert_all, dp_crosses_leaf}});
      shard = static_cast<double>(rp.dense) / dp_all + static_cast<double>(rp.expert) / dp_expert_all;
    } else if (dp_all > 1) {  // ZeRO-0: all-reduce = reduce-scatter + all-gather
      rs = concurrent_rings_time(
          {Ring{&dp_net, bytes(rp.dense, kGradBytesPerParam), dp_all, dp_crosses_leaf},
           Ring{&per_rail, bytes(rp.expert, kGradBytesPerParam), dp_expert_all, dp_crosses_leaf}});
      ag = rs;
    }
    if (!flow_rs.empty()) {
      rs = flow_rs[static_cast<size_t>(r)];
      ag = flow_ag[static_cast<size_t>(r)];
    }
    // TP: the partial gradients of the parameters every TP GPU holds whole
    // are all-reduced over the TP group (an NVLink ring) before the DP
    // reduction.
    if (plan.tensor.degree > 1)  // all-reduce = reduce-scatter + all-gather
      rs += ring_collective_time(tp_net(in.net), bytes(rp.tp_replicated, kGradBytesPerParam), plan.tensor.degree,
                                 false) *
            int64_t{2};
    const Bandwidth hbm_rate = in.gpu.hbm * in.calibration.elementwise_fraction;
    Tail& t = tails[static_cast<size_t>(r)];
    t.rs = rs;
    t.ag = ag;
    t.opt = Bytes::from_double(adam_bytes_per_param(plan.precision) * shard) / hbm_rate;
    // The squared norm reads the FP32 gradient shard once.
    if (in.options.gradient_clipping)
      t.norm = Bytes::from_double(static_cast<double>(kGradBytesPerParam) * shard) / hbm_rate;
    // The reduction starts when every copy of the rank's stages is done.
    t.start = std::max(pr.ranks[r].end.ps(), pr.ranks[mirror_rank(plan.pipeline.schedule, pp, r)].end.ps());
  }
  int64_t norm_ready = 0;  // when every GPU has the global gradient norm
  if (in.options.gradient_clipping) {
    for (const Tail& t : tails) norm_ready = std::max(norm_ready, t.start + (t.rs + t.norm).ps());
    const int gpus = std::max(2, plan.gpus());
    norm_ready += (in.net.latency * static_cast<int64_t>(2 * std::ceil(std::log2(gpus)))).ps();
  }
  for (int r = 0; r < pp; ++r) {
    const Tail& t = tails[static_cast<size_t>(r)];
    const int64_t norm_done = t.start + (t.rs + t.norm).ps();
    const int64_t adam_start = std::max(norm_done, norm_ready);
    const int64_t end = adam_start + (t.opt + t.ag).ps();
    step_end = std::max(step_end, end);
    res.dp_tail.emplace_back(Time::from_ps(t.start), Time::from_ps(end));
    if (r == std::min(in.options.report_rank, pp - 1)) {
      res.dp_reduce_scatter = t.rs;
      res.dp_all_gather = t.ag;
      res.optimizer_compute = t.opt;
      res.grad_norm_compute = t.norm;
      res.grad_norm_wait = Duration::from_ps(adam_start - norm_done);
    }
  }
  res.step = Duration::from_ps(step_end);
  if (zero2) {
    // What the per-pass collectives cost: per rank, its passes that
    // reduce-scatter (weight gradients) and their standalone time, and its
    // ZeRO-3 gathers (every forward and input-gradient pass); the busiest
    // rank of each, against the pipeline they slowed.
    struct PassLoad {
      int rs_passes = 0;
      Duration rs, ag;
    };
    std::vector<PassLoad> load(static_cast<size_t>(pp));
    for (int r = 0; r < pp; ++r) {
      PassLoad& l = load[static_cast<size_t>(r)];
      auto layers_of = [&](int dir) -> const std::vector<LayerWork>& {
        return stage_work[static_cast<size_t>(program.stage_of(r, dir))];
      };
      for (const PipeOp& op : program.ops[static_cast<size_t>(r)]) {
        const bool fwd = op.kind == PipeOpKind::kF || op.kind == PipeOpKind::kFB;
        const bool input = op.kind == PipeOpKind::kB || op.kind == PipeOpKind::kBInput || op.kind == PipeOpKind::kFB;
        const bool weight = op.kind == PipeOpKind::kB || op.kind == PipeOpKind::kW || op.kind == PipeOpKind::kFB;
        if (fwd)
          for (const LayerWork& w : layers_of(op.fwd_dir)) l.ag += w.param_ag;
        if (input)
          for (const LayerWork& w : layers_of(op.bwd_dir)) l.ag += w.param_ag;
        if (weight) {
          ++l.rs_passes;
          for (const LayerWork& w : layers_of(op.bwd_dir)) l.rs += w.grad_rs;
        }
      }
    }
    auto busiest = [&](Duration PassLoad::*what) {
      size_t worst = 0;
      for (size_t r = 1; r < load.size(); ++r)
        if (load[r].*what > load[worst].*what) worst = r;
      return worst;
    };
    const size_t rs_rank = busiest(&PassLoad::rs);
    res.notes.push_back(sim::strprintf(
        "ZeRO-%d: every weight-gradient pass reduce-scatters its layers' FP32 gradients over its stage copy's DP "
        "group on a stream of its own%s, and the pass ends when "
        "they are done; pipeline rank %zu runs %d such passes, %.2f s of reduce-scatter per step standalone%s",
        zero3 ? 3 : 2, spec.moe ? ", sharing the network fairly with the EP all-to-all" : "", rs_rank,
        load[rs_rank].rs_passes, load[rs_rank].rs.seconds(),
        copies > 1 ? "; DualPipe's two copies then sum their shards in the tail" : ""));
    if (zero3) {
      const size_t ag_rank = busiest(&PassLoad::ag);
      const std::string experts = spec.moe ? sim::strprintf(" (1/%d of the routed experts')", dp_expert) : "";
      res.notes.push_back(sim::strprintf(
          "ZeRO-3: each GPU keeps 1/%d of its layers' BF16 parameters%s and all-gathers each layer on a stream "
          "of its own (sharing the network with %sthe reduce-scatters) before its forward and "
          "again before its input-gradient pass, one layer ahead (two layers' parameters in flight per pass); "
          "pipeline rank %zu gathers %.2f s per step standalone, and the tail has no all-gather%s",
          plan.data.degree, experts.c_str(), spec.moe ? "the all-to-all and " : "", ag_rank, load[ag_rank].ag.seconds(),
          copies > 1 ? " (DualPipe's copies swap their updated halves)" : ""));
    }
  }
  {
    // Which rank's tail ends the step (the DP sync of the last rank to finish).
    size_t last = 0;
    for (size_t r = 1; r < res.dp_tail.size(); ++r)
      if (res.dp_tail[r].second > res.dp_tail[last].second) last = r;
    if (!res.dp_tail.empty())
      res.notes.push_back(sim::strprintf(
          "the step ends with pipeline rank %zu's DP sync: it starts at %.3f s (the last chunk of every copy of "
          "its stages), then %.1f ms of %s%sAdamW%s%s",
          last, res.dp_tail[last].first.seconds(), (res.dp_tail[last].second - res.dp_tail[last].first) / Milliseconds(1),
          zero2 ? (copies > 1 ? "the mirror copies' gradient swap, " : "") : "gradient reduce-scatter, ",
          in.options.gradient_clipping ? "the global gradient norm (clipping; every rank waits for the last), " : "",
          zero3 ? (copies > 1 ? " and the copies' swap of updated halves" : "") : " and parameter all-gather",
          copies > 1 && !zero2 ? " over both DualPipe copies of its stages"
          : zero2             ? " (the passes have reduced the gradients already)"
                              : ""));
  }
  for (int r = 0; r < pp; ++r) {
    Table4& t = res.per_rank[r];
    t.f = pr.ranks[r].f;
    t.b = pr.ranks[r].b;
    t.w = pr.ranks[r].w;
    t.fb = pr.ranks[r].fb;
    t.bubble = pr.bubble(r);
    t.opt = res.step - res.pipeline;
  }
  res.report_rank = std::min(in.options.report_rank, pp - 1);
  res.breakdown = res.per_rank[res.report_rank];

  // One block's TP collectives (forward), for the record.
  for (const auto& l : layers)
    if (l.kind == (spec.moe ? models::LayerKind::kMoe : models::LayerKind::kDense)) {
      for (const auto& op : l.ops)
        if (op.kind == models::OpType::kTpComm)
          (op.pass == models::Pass::kForward ? res.tp_comm_f : res.tp_comm_b) += tp_comm_time(c, op);
      break;
    }
  // First MoE layer's all-to-alls, for the record.
  for (const auto& w : work)
    if (w.has_comm) {
      res.dispatch_f = w.dispatch_f;
      res.combine_f = w.combine_f;
      res.dispatch_b = w.dispatch_b;
      res.combine_b = w.combine_b;
      const double occ = in.calibration.stream_occupancy;
      res.moe_compute_f = (w.f_pre + w.f_mlp + w.f_post) * occ;
      res.moe_compute_b = (w.b_mlp + w.b_attn) * occ;
      res.moe_compute_w = (w.w_mlp + w.w_attn) * occ;
      break;
    }

  // Outputs.
  res.gpus = plan.gpus();
  res.tokens_per_step = static_cast<double>(plan.tokens_per_step());
  const double step_s = res.step.seconds();
  res.tokens_per_day = res.tokens_per_step / step_s * 86400.0;
  const models::TrainFlops tf = models::train_flops_per_token(spec, plan.batch.sequence_length, false);
  res.tflops_causal = tf.causal().count() * res.tokens_per_step / step_s / res.gpus / 1e12;
  res.tflops_noncausal = tf.noncausal().count() * res.tokens_per_step / step_s / res.gpus / 1e12;
  res.mfu_causal = res.tflops_causal * 1e12 / in.gpu.bf16_dense.per_second();
  res.mfu_noncausal = res.tflops_noncausal * 1e12 / in.gpu.bf16_dense.per_second();
  const double hours_per_trillion = 1e12 / res.tokens_per_step * step_s / 3600.0;
  res.gpu_hours_per_trillion_tokens = hours_per_trillion * res.gpus;
  res.usd_per_trillion_rental = res.gpu_hours_per_trillion_tokens * in.options.rental_usd_per_gpu_hour;
  const double lifetime_hours = in.options.lifetime_years * 365.25 * 24.0;
  res.owned_capex_usd = in.capex_usd;
  res.owned_fabric_usd = in.fabric_usd;
  const double capex_per_hour = (in.capex_usd + in.fabric_usd) / lifetime_hours;
  const double power_per_hour = in.nodes * in.options.node_power_kw * in.options.pue *
                                in.options.electricity_usd_per_kwh;
  res.usd_per_trillion_owned = (capex_per_hour + power_per_hour) * hours_per_trillion;

  res.memory = plan_memory(spec, plan, split, kinds, res.report_rank, in.calibration.training_memory_reserve);
  res.memory_peak = res.memory;
  res.memory_peak_rank = res.report_rank;
  for (int r = 0; r < pp; ++r) {
    const MemoryBreakdown m = plan_memory(spec, plan, split, kinds, r, in.calibration.training_memory_reserve);
    if (m.total() > res.memory_peak.total()) {
      res.memory_peak = m;
      res.memory_peak_rank = r;
    }
  }

  res.notes.push_back(std::string("folded by symmetry (exact for equal loads on a symmetric fabric") +
                      (spec.moe ? "; each MoE layer is timed at its EP group's expected busiest GPU" : "") +
                      "): the " + std::to_string(plan.data.degree) + " DP replicas" +
                      (plan.tensor.degree > 1 ? ", the " + std::to_string(plan.tensor.degree) +
                                                    " TP ranks (equal shares of every op)"
                                              : std::string()) +
                      (spec.moe ? " and the EP ranks" : "") +
                      " of a stage run identical ops; 1 GPU per pipeline stage simulated, " + std::to_string(pp) +
                      " PP ranks in full detail (" + std::to_string(res.gpus) + " GPUs represented)");
  if (plan.tensor.degree > 1)
    res.notes.push_back(sim::strprintf(
        "TP %d with sequence parallelism: each block enters its attention and FFN with an all-gather and "
        "leaves with a reduce-scatter over NVLink (ring, on the compute stream, no TP overlap): %.2f ms per "
        "block and micro-batch forward, %.2f ms backward (the two swapped, and the inputs all-gathered again "
        "for the weight gradients)",
        plan.tensor.degree, res.tp_comm_f / Milliseconds(1), res.tp_comm_b / Milliseconds(1)));
  res.comm_timing = c.flow ? "flow" : "analytic";
  res.comm_flows = c.flows;
  res.comm_wall_s = c.wall_s;
  if (c.flow) {
    res.notes.push_back("communication replayed on the flow engine over the " + in.net.kind + " fabric (" +
                        std::string(config::enum_to_string(in.fabric_comm.routing.policy)) + " routing): " +
                        (c.ep_times.empty() ? "" : std::to_string(c.ep_times.size()) + " EP all-to-all shapes, ") +
                        (pp > 1 ? "PP send/recv and " : "") + "the DP rings, each with all " +
                        std::to_string(res.gpus) + " GPUs at once, " +
                        std::to_string(c.flows) + " flows");
    if (c.undelivered > 0)
      res.notes.push_back("WARNING: " + std::to_string(c.undelivered) +
                          " flows could not be delivered (no path); their collectives are timed without them");
  } else {
    res.notes.push_back("communication is analytic (bytes over the bottleneck of NIC/NVLink with "
                        "fabric oversubscription; training.comm: analytic), not replayed on the fabric");
    if (in.net.direct)
      res.notes.push_back("WARNING: the " + in.net.kind +
                          " fabric is a direct network: the analytic model does not see its router links and "
                          "times the step as on a non-blocking fabric, an optimistic estimate; training.comm: flow (the "
                          "default) routes every collective over them");
    if (in.net.hashed_routing)
      res.notes.push_back("WARNING: routing is static ECMP: the analytic model assumes every link evenly shared and "
                          "does not count hash collisions, an optimistic estimate; training.comm: flow (the default) "
                          "routes every flow by its hash");
  }
  if (spec.moe && c.ep_island > in.net.gpus_per_node) {
    if (c.ep_island >= plan.expert.degree)
      res.notes.push_back(sim::strprintf(
          "EP: each group of %d GPUs lies inside one %d-GPU NVLink domain, so its all-to-all runs on NVLink "
          "only (direct copies to %.2f GPUs per token; the node limit has nothing to limit)",
          plan.expert.degree, in.net.gpus_per_domain, c.fanout.gpus));
    else
      res.notes.push_back(sim::strprintf(
          "EP: each group spans %d whole %d-GPU NVLink domains; a token goes over the network once per "
          "remote domain (%.2f of them, the node limit counting domains) and over NVLink inside it (%.2f GPUs)",
          plan.expert.degree / c.ep_island, c.ep_island, c.fanout.remote_nodes, c.fanout.gpus));
  } else if (spec.moe) {
    res.notes.push_back(sim::strprintf("EP routing fan-out per token: %.2f remote nodes", c.fanout.remote_nodes) +
                        sim::strprintf(", %.2f GPUs", c.fanout.gpus));
  }
  if (spec.moe && ep_straddles_domains(in.net, plan.expert.degree))
    res.notes.push_back(sim::strprintf(
        "WARNING: EP groups of %d GPUs straddle the %d-GPU NVLink domains (neither divides the other), so "
        "the EP all-to-all takes DeepEP's node-level path between %d-GPU nodes, not one NVLink island: the "
        "analytic model (training.comm: analytic) puts every node-to-node copy on the NIC, an upper bound; "
        "the flow replay carries those inside a domain over NVLink, and the groups that cross a domain "
        "boundary set the pace. Choose an EP degree that divides %d or is a multiple of it; if the job "
        "uses only part of each domain (say 64 of 72 GPUs), set cluster.node_spec.scale_up_gpus to that",
        plan.expert.degree, in.net.gpus_per_domain, in.net.gpus_per_node, in.net.gpus_per_domain));
  // A batch of millions of sequences is more likely a token count typed
  // into a sequence count (the paper's 15,360 x 4,096 = 62.9M tokens): no
  // published run comes near a million sequences per step (DeepSeek-V3
  // 15,360, LLaMA-3.1 405B 4,096 at 4K context).
  constexpr int kSuspectSequencesPerStep = 1000000;
  if (plan.batch.global_batch >= kSuspectSequencesPerStep)
    res.notes.push_back(sim::strprintf(
        "WARNING: plan.batch.global_batch is %lld sequences of %lld tokens (%.3g tokens per step); it counts "
        "sequences, not tokens: for %lld tokens per step set it to %lld",
        static_cast<long long>(plan.batch.global_batch), static_cast<long long>(plan.batch.sequence_length),
        static_cast<double>(plan.batch.global_batch) * static_cast<double>(plan.batch.sequence_length),
        static_cast<long long>(plan.batch.global_batch),
        static_cast<long long>(plan.batch.global_batch / std::max<int64_t>(1, plan.batch.sequence_length))));
  if (spec.moe && plan.expert.degree > 1 && plan.comm_sms < in.calibration.deepep_fit_sms)
    res.notes.push_back(sim::strprintf(
        "DeepEP: %d communication SMs, fewer than the %d its NIC fractions were fitted at "
        "(workloads/calibration.yaml; TR 3.2.2: 20 SMs fill IB and NVLink): the all-to-all moves %d/%d of "
        "the fitted rate, %.2fx its time, while the compute gets %d SMs",
        plan.comm_sms, in.calibration.deepep_fit_sms, plan.comm_sms, in.calibration.deepep_fit_sms,
        c.deepep_sm_factor, c.sms));
  else if (spec.moe && plan.expert.degree > 1 && plan.comm_sms > in.calibration.deepep_fit_sms)
    res.notes.push_back(sim::strprintf(
        "DeepEP: %d communication SMs, more than the %d that fill the links (workloads/calibration.yaml; "
        "TR 3.2.2): the all-to-all is no faster, and the compute loses the extra %d SMs (it gets %d)",
        plan.comm_sms, in.calibration.deepep_fit_sms, plan.comm_sms - in.calibration.deepep_fit_sms, c.sms));
  res.expert_imbalance = c.expert_imbalance;
  if (c.expert_imbalance > 1)
    res.notes.push_back(sim::strprintf(
        "EP load: the busiest of %d GPUs receives %.3fx the mean routed rows per micro-batch (balanced "
        "routing, Poisson spread of a finite batch); routed-expert kernels and all-to-alls wait for it",
        plan.expert.degree, c.expert_imbalance));
  return res;
}

}  // namespace codesim::workloads
