// File: workloads/schedule.hpp
//
// Pipeline-parallel schedules as exact per-rank op orders, and a small list
// scheduler that times them.
//
// Vocabulary (DeepSeek's DualPipe README): F = forward of one chunk (one
// pipeline stage, one micro-batch); B = full backward of a chunk (input and
// weight gradients); B_in = input-gradient backward only (ZeroBubble: the
// weight gradient is deferred); W = the deferred weight-gradient chunk;
// F&B = a forward chunk and a backward chunk executed overlapped (DualPipe).
//
// Schedules:
//  * 1F1B: rank s runs min(PP-1-s, m) warm-up forwards, then F,B pairs, then
//    the cool-down backwards (PipeDream-flush / Megatron order).
//  * ZB1P (ZB-H1, Qi et al. 2024): the 1F1B memory limit (at most PP-s
//    micro-batches in flight on rank s), backward split into B_in and W; the
//    order is produced once by a greedy unit-time list schedule with
//    priority B_in > F > W (W fills the time a rank would wait), which yields
//    the ZB-H1 order for F = B_in = W.
//  * Interleaved 1F1B (Narayanan et al. 2021; Megatron-LM
//    forward_backward_pipelining_with_interleaving): each rank holds
//    `chunks` model chunks, stage c x PP + r on rank r; (PP - r - 1) x 2 +
//    (chunks - 1) x PP warm-up forwards, then F,B pairs, then the
//    cool-down; the k-th virtual micro-batch runs on chunk (k mod (PP x
//    chunks)) / PP (backwards from the last chunk). Micro-batches must be a
//    multiple of PP.
//  * DualPipe: the order of deepseek-ai/DualPipe dualpipe.py step() (steps
//    1-8, including zero-bubble B/W splits and the middle rank's
//    non-overlapped first pair), re-derived, not copied. Rank r holds stage r
//    of direction 0 and stage PP-1-r of direction 1; micro-batches enter from
//    both ends, m/2 per direction.
//
// Simulation (simulate_pipeline): each op starts when its rank is free and
// its inputs have arrived: F of micro-batch j at stage s needs F(j) of stage
// s-1 plus one p2p transfer; B needs B(j) of stage s+1 plus p2p (or, on the
// last stage, F(j) of the same stage); W follows its B on the same rank by
// program order. Ops never preempt each other. This is exact for the
// schedule's dependency structure with the given durations; it ignores the
// send/recv rendezvous of NCCL (a send completing only when the receiver has
// posted its receive). With PipelineTiming::blocking_sends, an op's
// outgoing transfers are serialised on the sender and hold its next op.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/units.hpp"

namespace codesim::workloads {

// DualPipeV (dualpipev.py, "cut-in-half"): PP ranks hold 2 PP stages each in
// a V, rank r holding stages r and 2 PP - 1 - r; every micro-batch runs the
// V down and back up (F of stage r, ..., stage PP-1 then PP on the last
// rank, ..., stage 2 PP - 1 on rank 0, whose output meets the loss).
enum class PipelineSchedule { k1F1B, kZb1p, kDualPipe, kDualPipeV, kInterleaved };
constexpr auto enum_names(PipelineSchedule) {
  return std::array{std::pair{PipelineSchedule::k1F1B, std::string_view("1f1b")},
                    std::pair{PipelineSchedule::kZb1p, std::string_view("zb1p")},
                    std::pair{PipelineSchedule::kDualPipe, std::string_view("dualpipe")},
                    std::pair{PipelineSchedule::kDualPipeV, std::string_view("dualpipev")},
                    std::pair{PipelineSchedule::kInterleaved, std::string_view("1f1b-interleaved")}};
}
// Schedules whose ranks hold two stages and overlap F&B pairs.
constexpr bool is_dual(PipelineSchedule s) {
  return s == PipelineSchedule::kDualPipe || s == PipelineSchedule::kDualPipeV;
}
// Model stages of a plan with `ranks` pipeline ranks: 2 x ranks for
// DualPipeV, `chunks` (virtual stages per rank) x ranks for interleaved 1F1B.
constexpr int pipeline_stages(PipelineSchedule s, int ranks, int chunks = 2) {
  return s == PipelineSchedule::kDualPipeV ? 2 * ranks : s == PipelineSchedule::kInterleaved ? chunks * ranks : ranks;
}
// Schedules that run every micro-batch down one path of more stages than
// ranks (a rank holds several stages of it).
constexpr bool is_single_path_multi_stage(PipelineSchedule s) {
  return s == PipelineSchedule::kDualPipeV || s == PipelineSchedule::kInterleaved;
}

// Pipeline ranks that hold each model stage: DualPipe runs both directions
// over the same PP stages, so rank r and rank PP-1-r each hold stages r and
// PP-1-r (DualPipe README: "Parameter Per Device 2x"), and the two copies'
// gradients are summed every step (DualPipe's examples/example_dualpipe.py
// adds each rank's gradient to its mirror rank's). DualPipeV's V places
// every stage once.
constexpr int stage_copies(PipelineSchedule s) { return s == PipelineSchedule::kDualPipe ? 2 : 1; }
// The other rank holding rank r's stages (r itself when there is one copy).
constexpr int mirror_rank(PipelineSchedule s, int ranks, int r) {
  return stage_copies(s) == 2 ? ranks - 1 - r : r;
}

enum class PipeOpKind {
  kF,       // forward chunk
  kB,       // full backward chunk (input + weight gradients)
  kBInput,  // input-gradient backward; its W comes later
  kW,       // deferred weight-gradient chunk (FIFO over the kBInput ops)
  kFB,      // forward of one direction + full backward of the other, overlapped
};

struct PipeOp {
  PipeOpKind kind = PipeOpKind::kF;
  int fwd_dir = 0;  // F, FB: direction (0 or 1; always 0 outside DualPipe)
  int fwd_mb = -1;  // F, FB: micro-batch index within its direction
  int bwd_dir = 0;  // B, BInput, W, FB
  int bwd_mb = -1;
  bool overlapped = true;  // FB: false = run F then B back to back (DualPipe middle rank)
};

struct PipelineProgram {
  PipelineSchedule schedule = PipelineSchedule::k1F1B;
  int ranks = 0;
  int micro_batches = 0;  // in total (DualPipe: half per direction)
  int chunks = 2;         // interleaved 1F1B: virtual stages (model chunks) per rank
  std::vector<std::vector<PipeOp>> ops;  // ops[rank], in execution order

  // DualPipe: two directions, half the micro-batches each. DualPipeV: the
  // two "directions" are the two phases of the V, every micro-batch runs both.
  int directions() const { return is_dual(schedule) ? 2 : 1; }
  int micro_batches_per_direction() const {
    return is_single_path_multi_stage(schedule) ? micro_batches : micro_batches / directions();
  }
  int stages() const { return pipeline_stages(schedule, ranks, chunks); }
  // The model stage that rank `rank` holds for direction (phase) `dir`;
  // interleaved 1F1B: `dir` is the model chunk, stage dir x PP + rank.
  int stage_of(int rank, int dir) const {
    if (schedule == PipelineSchedule::kDualPipeV) return dir == 0 ? rank : 2 * ranks - 1 - rank;
    if (schedule == PipelineSchedule::kInterleaved) return dir * ranks + rank;
    return dir == 0 ? rank : ranks - 1 - rank;
  }
  int rank_of_stage(int stage) const {
    if (schedule == PipelineSchedule::kDualPipeV) return stage < ranks ? stage : 2 * ranks - 1 - stage;
    if (schedule == PipelineSchedule::kInterleaved) return stage % ranks;
    return stage;  // per direction; the stage index of a direction is its position on that path
  }
};

// "" when the schedule accepts (ranks, micro_batches); else why not, e.g.
// DualPipe needs an even number of ranks, an even number of micro-batches
// and at least 2 x ranks of them (dualpipe.py's asserts).
// Interleaved 1F1B needs `chunks` >= 2 and a micro-batch count that is a
// multiple of the ranks (Megatron-LM's assertion).
std::string check_pipeline(PipelineSchedule schedule, int ranks, int micro_batches, int chunks = 2);

// The exact op order of every rank. Precondition: check_pipeline() == "".
PipelineProgram build_pipeline(PipelineSchedule schedule, int ranks, int micro_batches, int chunks = 2);

struct ScheduleCounts {
  int f = 0;        // standalone forwards
  int fb = 0;       // F&B pairs (incl. a non-overlapped middle-rank pair)
  int b = 0;        // standalone backwards (full or input-only)
  int b_full = 0;   //   of which full
  int w = 0;        // deferred weight chunks
};
ScheduleCounts count_ops(const std::vector<PipeOp>& rank_ops);

// Durations of one stage's chunks (one micro-batch).
struct ChunkTimes {
  Duration f;
  Duration b;  // full backward = b_input + w (by construction of the caller)
  Duration b_input;
  Duration w;
  // When a full backward's input gradient can leave (zero: at its end, b).
  // Earlier when background work (ZeRO-2's reduce-scatters) outlasts the
  // chunk's own kernels: the send does not wait for it, the rank's next op
  // does.
  Duration b_out;
};

struct PipelineTiming {
  std::vector<ChunkTimes> stage;  // per stage (size = PipelineProgram::stages())
  // fb[rank][fwd_dir]: the overlapped F&B on `rank` with the forward of
  // direction fwd_dir (and the backward of the other direction). Empty for
  // schedules without F&B.
  std::vector<std::array<Duration, 2>> fb;
  // When the F&B pair's outputs can leave, like ChunkTimes::b_out (empty:
  // at the pair's end).
  std::vector<std::array<Duration, 2>> fb_out;
  Duration p2p;  // activation/gradient transfer between adjacent stages
  // dualpipe.py semantics (_commit_and_wait_comm): the sends an op posts
  // must complete before the rank starts its next op, and a rank's sends
  // leave one after another through its NIC (an F&B op sends two tensors).
  // false: transfers are free for the sender (the closed-form setting).
  bool blocking_sends = false;
};

struct RankTimes {
  Duration f, b, w, fb;  // busy time per op kind (b: full and input-only)
  Time first_start, end;
  Duration busy() const { return f + b + w + fb; }
};

struct PipelineResult {
  bool ok = false;
  std::string error;  // deadlock or inconsistent input
  Duration makespan;  // latest op end over all ranks
  std::vector<RankTimes> ranks;
  // Per rank, per op (same indices as PipelineProgram::ops): start and end.
  std::vector<std::vector<std::pair<Time, Time>>> op_times;
  // makespan - busy on `rank`: idle time inside the pipeline step.
  Duration bubble(int rank) const { return makespan - ranks[rank].busy(); }
};

PipelineResult simulate_pipeline(const PipelineProgram& program, const PipelineTiming& timing);

// Closed forms of the bubble (DualPipe README, T25), for equal stages:
//   1F1B (PP-1)(F+B); ZB1P (PP-1)(F+B-2W); DualPipe (PP/2-1)(F&B+B-3W);
//   DualPipeV the same as DualPipe with PP = 2 x ranks stages; interleaved
//   1F1B (PP-1)(F+B) per virtual stage (Narayanan et al. 2021: the 1F1B
//   bubble over the number of chunks, for a rank's layers);
// with B the full backward.
Duration bubble_closed_form(PipelineSchedule schedule, int ranks, const ChunkTimes& c,
                            Duration fb);

}  // namespace codesim::workloads
