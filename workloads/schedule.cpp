#include "workloads/schedule.hpp"

#include <algorithm>
#include <deque>
#include <limits>

namespace codesim::workloads {
namespace {

// DualPipe step() (dualpipe.py), per rank. Phase 0/1 are the rank's two
// stages; on the first half of the ranks phase 0 is direction 0, on the
// second half phase 0 is direction 1.
class DualPipeBuilder {
 public:
  // `v`: DualPipeV, whose phases are the V's two halves on every rank.
  DualPipeBuilder(int rank, int ranks, bool v = false) : pp_(ranks), second_half_(!v && rank >= ranks / 2) {}

  void forward(int phase) {
    PipeOp op;
    op.kind = PipeOpKind::kF;
    op.fwd_dir = dir(phase);
    op.fwd_mb = f_count_[phase]++;
    ops_.push_back(op);
  }
  void backward(int phase, bool zero_bubble) {
    PipeOp op;
    op.kind = zero_bubble ? PipeOpKind::kBInput : PipeOpKind::kB;
    op.bwd_dir = dir(phase);
    op.bwd_mb = b_count_[phase]++;
    if (zero_bubble) deferred_.push_back({op.bwd_dir, op.bwd_mb});
    ops_.push_back(op);
  }
  void weight() {
    PipeOp op;
    op.kind = PipeOpKind::kW;
    op.bwd_dir = deferred_.front().first;
    op.bwd_mb = deferred_.front().second;
    deferred_.pop_front();
    ops_.push_back(op);
  }
  void forward_backward(int phase0, int phase1, bool overlapped = true) {
    PipeOp op;
    op.kind = PipeOpKind::kFB;
    op.fwd_dir = dir(phase0);
    op.fwd_mb = f_count_[phase0]++;
    op.bwd_dir = dir(phase1);
    op.bwd_mb = b_count_[phase1]++;
    op.overlapped = overlapped;
    ops_.push_back(op);
  }
  std::vector<PipeOp> take() { return std::move(ops_); }
  int pp() const { return pp_; }

 private:
  int dir(int phase) const { return phase ^ (second_half_ ? 1 : 0); }
  int pp_;
  bool second_half_;
  int f_count_[2] = {0, 0};
  int b_count_[2] = {0, 0};
  std::deque<std::pair<int, int>> deferred_;
  std::vector<PipeOp> ops_;
};

std::vector<PipeOp> dualpipe_rank(int rank, int ranks, int chunks) {
  DualPipeBuilder b(rank, ranks);
  const int half_ranks = ranks / 2;
  const int h = std::min(rank, ranks - 1 - rank);
  const int half_chunks = chunks / 2;
  const bool middle = rank == half_ranks - 1 || rank == half_ranks;

  for (int i = 0; i < (half_ranks - h - 1) * 2; ++i) b.forward(0);  // step 1: nF0
  for (int i = 0; i < h + 1; ++i) {                                  // step 2: nF0F1
    b.forward(0);
    b.forward(1);
  }
  for (int i = 0; i < half_ranks - h - 1; ++i) {  // step 3: nB1W1F1 (zero bubble)
    b.backward(1, true);
    b.weight();
    b.forward(1);
  }
  const int step4 = half_chunks - ranks + h + 1;  // step 4: nF0B1F1B0
  for (int i = 0; i < step4; ++i) {
    b.forward_backward(0, 1, !(i == 0 && middle));  // middle rank: first pair not overlapped
    b.forward_backward(1, 0);
  }
  for (int i = 0; i < half_ranks - h - 1; ++i) {  // step 5: nB1F1B0
    b.backward(1, false);
    b.forward_backward(1, 0);
  }
  const int step6 = h + 1;  // step 6: nB1B0, the second half with zero bubble
  bool zb = false;
  for (int i = 0; i < step6; ++i) {
    if (i == step6 / 2 && h % 2 == 1) zb = true;
    b.backward(1, zb);
    if (i == step6 / 2 && h % 2 == 0) zb = true;
    b.backward(0, zb);
  }
  for (int i = 0; i < half_ranks - h - 1; ++i) {  // step 7: nWB0
    b.weight();
    b.backward(0, true);
  }
  for (int i = 0; i < h + 1; ++i) b.weight();  // step 8: nW
  return b.take();
}

// DualPipeV step() (dualpipev.py), per rank: phase 0 is stage `rank`, phase
// 1 is stage 2 PP - 1 - rank; the last rank's first F&B pair runs F then B.
std::vector<PipeOp> dualpipev_rank(int rank, int ranks, int chunks) {
  DualPipeBuilder b(rank, ranks, true);
  const bool last = rank == ranks - 1;
  for (int i = 0; i < (ranks - rank - 1) * 2; ++i) b.forward(0);  // step 1: nF0
  for (int i = 0; i < rank + 1; ++i) {                            // step 2: nF0F1
    b.forward(0);
    b.forward(1);
  }
  for (int i = 0; i < ranks - rank - 1; ++i) {  // step 3: nB1W1F1 (zero bubble)
    b.backward(1, true);
    b.weight();
    b.forward(1);
  }
  const int step4 = chunks - ranks * 2 + rank + 1;  // step 4: nF0B1F1B0
  for (int i = 0; i < step4; ++i) {
    b.forward_backward(0, 1, !(i == 0 && last));
    b.forward_backward(1, 0);
  }
  for (int i = 0; i < ranks - rank - 1; ++i) {  // step 5: nB1F1B0
    b.backward(1, false);
    b.forward_backward(1, 0);
  }
  const int step6 = rank + 1;  // step 6: nB1B0, the second half with zero bubble
  bool zb = false;
  for (int i = 0; i < step6; ++i) {
    if (i == step6 / 2 && rank % 2 == 1) zb = true;
    b.backward(1, zb);
    if (i == step6 / 2 && rank % 2 == 0) zb = true;
    b.backward(0, zb);
  }
  for (int i = 0; i < ranks - rank - 1; ++i) {  // step 7: nWB0
    b.weight();
    b.backward(0, true);
  }
  for (int i = 0; i < rank + 1; ++i) b.weight();  // step 8: nW
  return b.take();
}

// Megatron-LM's interleaved order for rank r of p with v chunks and m
// micro-batches (m a multiple of p): virtual micro-batch k runs on chunk
// (k mod p v) / p, and each chunk takes its micro-batches in order.
std::vector<PipeOp> interleaved_rank(int r, int p, int v, int m) {
  const int total = m * v;
  const int warmup = m == p ? total : std::min(total, (p - r - 1) * 2 + (v - 1) * p);
  std::vector<int> next_f(static_cast<size_t>(v), 0), next_b(static_cast<size_t>(v), 0);
  std::vector<PipeOp> ops;
  auto chunk = [&](int k, bool forward) {
    const int c = (k % (p * v)) / p;
    return forward ? c : v - 1 - c;
  };
  auto F = [&](int k) {
    const int c = chunk(k, true);
    ops.push_back(PipeOp{PipeOpKind::kF, c, next_f[static_cast<size_t>(c)]++, 0, -1, true});
  };
  auto B = [&](int k) {
    const int c = chunk(k, false);
    ops.push_back(PipeOp{PipeOpKind::kB, 0, -1, c, next_b[static_cast<size_t>(c)]++, true});
  };
  for (int k = 0; k < warmup; ++k) F(k);
  for (int i = 0; i < total - warmup; ++i) {
    F(warmup + i);
    B(i);
  }
  for (int k = total - warmup; k < total; ++k) B(k);
  return ops;
}

std::vector<PipeOp> one_f_one_b_rank(int s, int ranks, int m) {
  std::vector<PipeOp> ops;
  const int warmup = std::min(ranks - 1 - s, m);
  int f = 0, bmb = 0;
  auto F = [&] { ops.push_back(PipeOp{PipeOpKind::kF, 0, f++, 0, -1, true}); };
  auto B = [&] { ops.push_back(PipeOp{PipeOpKind::kB, 0, -1, 0, bmb++, true}); };
  for (int i = 0; i < warmup; ++i) F();
  for (int i = 0; i < m - warmup; ++i) {
    F();
    B();
  }
  for (int i = 0; i < warmup; ++i) B();
  return ops;
}

// ZB-H1 order: greedy unit-time list schedule under the 1F1B memory limit.
std::vector<std::vector<PipeOp>> zb1p_program(int ranks, int m) {
  constexpr int kNever = std::numeric_limits<int>::max();
  std::vector<std::vector<int>> f_done(ranks, std::vector<int>(m, kNever));
  std::vector<std::vector<int>> b_done(ranks, std::vector<int>(m, kNever));
  std::vector<int> next_f(ranks, 0), next_b(ranks, 0);
  std::vector<std::deque<int>> pending_w(ranks);
  std::vector<std::vector<PipeOp>> ops(ranks);
  int remaining = 3 * ranks * m;
  for (int t = 0; remaining > 0; ++t) {
    for (int s = 0; s < ranks; ++s) {
      const int fb = next_f[s], bb = next_b[s];
      const bool b_ready = bb < fb && (s == ranks - 1 ? f_done[s][bb] <= t : b_done[s + 1][bb] <= t);
      const bool f_ready = fb < m && fb - bb < ranks - s && (s == 0 || f_done[s - 1][fb] <= t);
      if (b_ready) {
        ops[s].push_back(PipeOp{PipeOpKind::kBInput, 0, -1, 0, bb, true});
        b_done[s][bb] = t + 1;
        pending_w[s].push_back(bb);
        ++next_b[s];
      } else if (f_ready) {
        ops[s].push_back(PipeOp{PipeOpKind::kF, 0, fb, 0, -1, true});
        f_done[s][fb] = t + 1;
        ++next_f[s];
      } else if (!pending_w[s].empty()) {
        ops[s].push_back(PipeOp{PipeOpKind::kW, 0, -1, 0, pending_w[s].front(), true});
        pending_w[s].pop_front();
      } else {
        continue;
      }
      --remaining;
    }
  }
  return ops;
}

}  // namespace

std::string check_pipeline(PipelineSchedule schedule, int ranks, int micro_batches, int chunks) {
  if (ranks < 1) return "pipeline degree must be >= 1, got " + std::to_string(ranks);
  if (micro_batches < 1) return "micro-batches per step must be >= 1, got " + std::to_string(micro_batches);
  if (schedule == PipelineSchedule::kInterleaved) {
    if (chunks < 2)
      return "interleaved 1F1B needs at least 2 virtual stages per rank (pipeline.virtual_stages), got " +
             std::to_string(chunks);
    if (micro_batches % ranks != 0)
      return "interleaved 1F1B needs the micro-batches per step (" + std::to_string(micro_batches) +
             ") to be a multiple of PP = " + std::to_string(ranks);
  }
  if (schedule == PipelineSchedule::kDualPipe) {
    if (ranks % 2 != 0) return "DualPipe needs an even number of pipeline ranks, got " + std::to_string(ranks);
    if (micro_batches % 2 != 0)
      return "DualPipe needs an even number of micro-batches, got " + std::to_string(micro_batches);
    if (micro_batches < 2 * ranks)
      return "DualPipe needs at least 2 x PP = " + std::to_string(2 * ranks) +
             " micro-batches per step, got " + std::to_string(micro_batches);
  }
  if (schedule == PipelineSchedule::kDualPipeV && micro_batches < 2 * ranks)
    return "DualPipeV needs at least 2 x PP ranks = " + std::to_string(2 * ranks) +
           " micro-batches per step, got " + std::to_string(micro_batches);
  return "";
}

PipelineProgram build_pipeline(PipelineSchedule schedule, int ranks, int micro_batches, int chunks) {
  PipelineProgram p;
  p.schedule = schedule;
  p.ranks = ranks;
  p.micro_batches = micro_batches;
  p.chunks = chunks;
  switch (schedule) {
    case PipelineSchedule::kInterleaved:
      for (int r = 0; r < ranks; ++r) p.ops.push_back(interleaved_rank(r, ranks, chunks, micro_batches));
      break;
    case PipelineSchedule::k1F1B:
      for (int s = 0; s < ranks; ++s) p.ops.push_back(one_f_one_b_rank(s, ranks, micro_batches));
      break;
    case PipelineSchedule::kZb1p:
      p.ops = zb1p_program(ranks, micro_batches);
      break;
    case PipelineSchedule::kDualPipe:
      for (int r = 0; r < ranks; ++r) p.ops.push_back(dualpipe_rank(r, ranks, micro_batches));
      break;
    case PipelineSchedule::kDualPipeV:
      for (int r = 0; r < ranks; ++r) p.ops.push_back(dualpipev_rank(r, ranks, micro_batches));
      break;
  }
  return p;
}

ScheduleCounts count_ops(const std::vector<PipeOp>& rank_ops) {
  ScheduleCounts c;
  for (const auto& op : rank_ops) {
    switch (op.kind) {
      case PipeOpKind::kF: ++c.f; break;
      case PipeOpKind::kB: ++c.b; ++c.b_full; break;
      case PipeOpKind::kBInput: ++c.b; break;
      case PipeOpKind::kW: ++c.w; break;
      case PipeOpKind::kFB: ++c.fb; break;
    }
  }
  return c;
}

PipelineResult simulate_pipeline(const PipelineProgram& p, const PipelineTiming& timing) {
  PipelineResult res;
  const int R = p.ranks, M = p.micro_batches_per_direction(), S = p.stages();
  const bool v = is_single_path_multi_stage(p.schedule);
  // DualPipe's two directions are separate micro-batches on separate stage
  // paths; DualPipeV's phases are one path of 2 PP stages, interleaved
  // 1F1B's chunks one path of chunks x PP stages.
  const int D = v ? 1 : p.directions();
  if (static_cast<int>(timing.stage.size()) != S) {
    res.error = "timing has " + std::to_string(timing.stage.size()) + " stages, schedule has " +
                std::to_string(S);
    return res;
  }
  const bool needs_fb = is_dual(p.schedule);
  if (needs_fb && static_cast<int>(timing.fb.size()) != R) {
    res.error = "DualPipe needs an F&B time per rank";
    return res;
  }
  const int64_t kUnknown = std::numeric_limits<int64_t>::min();
  // done[kind][dir][stage][mb] in ps; kind 0 = forward, 1 = input-gradient backward.
  std::vector<int64_t> done(static_cast<size_t>(2 * D * S * M), kUnknown);
  auto at = [&](int kind, int dir, int stage, int mb) -> int64_t& {
    return done[((static_cast<size_t>(kind) * D + (v ? 0 : dir)) * S + stage) * M + mb];
  };
  // A transfer between stages s and s2 crosses ranks (costs p2p) unless both
  // are on one rank (DualPipeV's turn of the V on the last rank).
  auto crosses = [&](int r, int s2) { return !v || p.rank_of_stage(s2) != r; };

  res.op_times.resize(R);
  res.ranks.assign(R, RankTimes{});
  std::vector<size_t> next(R, 0);
  std::vector<int64_t> free_at(R, 0);
  const int64_t p2p = timing.p2p.ps();
  size_t remaining = 0;
  for (int r = 0; r < R; ++r) {
    res.op_times[r].resize(p.ops[r].size());
    remaining += p.ops[r].size();
  }

  // Ready time of a forward (dir, mb) on rank r, or kUnknown.
  auto f_ready = [&](int r, int dir, int mb) -> int64_t {
    const int s = p.stage_of(r, dir);
    if (s == 0) return 0;
    const int64_t t = at(0, dir, s - 1, mb);
    return t == kUnknown ? kUnknown : t + (crosses(r, s - 1) ? p2p : 0);
  };
  auto b_ready = [&](int r, int dir, int mb) -> int64_t {
    const int s = p.stage_of(r, dir);
    if (s == S - 1) return at(0, dir, s, mb);  // loss: after this stage's own forward
    const int64_t t = at(1, dir, s + 1, mb);
    return t == kUnknown ? kUnknown : t + (crosses(r, s + 1) ? p2p : 0);
  };

  bool progress = true;
  while (remaining > 0 && progress) {
    progress = false;
    for (int r = 0; r < R; ++r) {
      while (next[r] < p.ops[r].size()) {
        const PipeOp& op = p.ops[r][next[r]];
        int64_t ready = free_at[r];
        auto need = [&](int64_t t) {
          if (t == kUnknown || ready == kUnknown) ready = kUnknown;
          else ready = std::max(ready, t);
        };
        const bool has_f = op.kind == PipeOpKind::kF || op.kind == PipeOpKind::kFB;
        const bool has_b = op.kind == PipeOpKind::kB || op.kind == PipeOpKind::kBInput ||
                           op.kind == PipeOpKind::kFB;
        if (has_f) need(f_ready(r, op.fwd_dir, op.fwd_mb));
        if (has_b) need(b_ready(r, op.bwd_dir, op.bwd_mb));
        if (ready == kUnknown) break;

        const ChunkTimes& fs = timing.stage[has_f ? p.stage_of(r, op.fwd_dir) : 0];
        const ChunkTimes& bs = timing.stage[p.stage_of(r, op.bwd_dir)];
        RankTimes& rt = res.ranks[r];
        int64_t f_end = kUnknown, b_end = kUnknown, end = ready;
        int64_t out = kUnknown;  // when the op's outputs can leave (default: its end)
        auto b_out = [&](const ChunkTimes& t) { return (t.b_out > Duration::zero() ? t.b_out : t.b).ps(); };
        switch (op.kind) {
          case PipeOpKind::kF:
            end = ready + fs.f.ps();
            f_end = end;
            rt.f += fs.f;
            break;
          case PipeOpKind::kB:
            // A full backward interleaves input and weight gradients layer by
            // layer, so the input gradient is complete only at the end.
            end = ready + bs.b.ps();
            out = ready + b_out(bs);
            b_end = out;
            rt.b += bs.b;
            break;
          case PipeOpKind::kBInput:
            end = ready + bs.b_input.ps();
            b_end = end;
            rt.b += bs.b_input;
            break;
          case PipeOpKind::kW:
            end = ready + bs.w.ps();
            rt.w += bs.w;
            break;
          case PipeOpKind::kFB:
            if (op.overlapped) {
              const Duration d = timing.fb[r][op.fwd_dir];
              end = ready + d.ps();
              out = timing.fb_out.empty() ? end : ready + timing.fb_out[r][op.fwd_dir].ps();
              f_end = b_end = out;
              rt.fb += d;
            } else {
              f_end = ready + fs.f.ps();
              end = f_end + bs.b.ps();
              out = f_end + b_out(bs);
              b_end = out;
              rt.fb += fs.f + bs.b;
            }
            break;
        }
        // Outgoing transfers: the forward output goes first, then the input
        // gradient; with blocking sends the k-th leaves (k-1) transfers late.
        int sends = 0;
        const int fs_stage = p.stage_of(r, op.fwd_dir), bs_stage = p.stage_of(r, op.bwd_dir);
        const bool f_sends = f_end != kUnknown && fs_stage < S - 1 && crosses(r, fs_stage + 1);
        const bool b_sends = b_end != kUnknown && bs_stage > 0 && crosses(r, bs_stage - 1);
        if (out == kUnknown) out = end;
        if (f_sends && timing.blocking_sends) f_end = std::max(f_end, out) + p2p * sends++;
        if (b_sends && timing.blocking_sends) b_end = std::max(b_end, out) + p2p * sends++;
        if (f_end != kUnknown) at(0, op.fwd_dir, p.stage_of(r, op.fwd_dir), op.fwd_mb) = f_end;
        if (b_end != kUnknown) at(1, op.bwd_dir, p.stage_of(r, op.bwd_dir), op.bwd_mb) = b_end;
        if (next[r] == 0) rt.first_start = Time::from_ps(ready);
        res.op_times[r][next[r]] = {Time::from_ps(ready), Time::from_ps(end)};
        rt.end = Time::from_ps(end);
        free_at[r] = std::max(end, out + (timing.blocking_sends ? p2p * sends : 0));
        ++next[r];
        --remaining;
        progress = true;
      }
    }
  }
  if (remaining > 0) {
    res.error = "pipeline schedule deadlocks: " + std::to_string(remaining) + " ops never become ready";
    return res;
  }
  int64_t mk = 0;
  for (int r = 0; r < R; ++r) mk = std::max(mk, res.ranks[r].end.ps());
  res.makespan = Duration::from_ps(mk);
  res.ok = true;
  return res;
}

Duration bubble_closed_form(PipelineSchedule schedule, int ranks, const ChunkTimes& c, Duration fb) {
  switch (schedule) {
    case PipelineSchedule::k1F1B: return (c.f + c.b) * static_cast<int64_t>(ranks - 1);
    case PipelineSchedule::kZb1p: return (c.f + c.b - c.w * int64_t{2}) * static_cast<int64_t>(ranks - 1);
    case PipelineSchedule::kDualPipe:
      return (fb + c.b - c.w * int64_t{3}) * static_cast<int64_t>(ranks / 2 - 1);
    case PipelineSchedule::kDualPipeV:  // PP stages = 2 x ranks: (PP/2 - 1) = ranks - 1
      return (fb + c.b - c.w * int64_t{3}) * static_cast<int64_t>(ranks - 1);
    case PipelineSchedule::kInterleaved:  // per virtual stage: (PP-1)(F+B), 1/chunks of 1F1B's for a rank's layers
      return (c.f + c.b) * static_cast<int64_t>(ranks - 1);
  }
  return Duration::zero();
}

}  // namespace codesim::workloads
