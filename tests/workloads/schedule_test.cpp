// Pipeline schedules: DualPipe op counts (T26) and simulated bubbles against
// the closed forms of the DualPipe README / DeepSeek-V3 TR Table 2 (T25).
// Source: shared/reference/deepseek-v3-published.md, Sec. 3.2.
#include <gtest/gtest.h>

#include "workloads/schedule.hpp"

namespace codesim::workloads {
namespace {

// T26: for PP = 16 and 120 micro-batches per DP rank, half-rank h has
// 97 + h overlapped F&B pairs, 23 - h standalone F, 23 - h standalone B and
// 15 - h standalone W (exact: integer arithmetic of dualpipe.py step()).
TEST(DualPipeSchedule, CountsMatchT26) {
  const auto p = build_pipeline(PipelineSchedule::kDualPipe, 16, 120);
  ASSERT_EQ(p.ops.size(), 16u);
  for (int r = 0; r < 16; ++r) {
    const int h = std::min(r, 15 - r);
    const ScheduleCounts c = count_ops(p.ops[r]);
    EXPECT_EQ(c.fb, 97 + h) << "rank " << r;
    EXPECT_EQ(c.f, 23 - h) << "rank " << r;
    EXPECT_EQ(c.b, 23 - h) << "rank " << r;
    EXPECT_EQ(c.w, 15 - h) << "rank " << r;
    // Every micro-batch of both directions passes forward and backward once:
    // F + FB = 120 forwards, B + FB = 120 backwards.
    EXPECT_EQ(c.f + c.fb, 120);
    EXPECT_EQ(c.b + c.fb, 120);
  }
}

TEST(DualPipeSchedule, RejectsShapesDualPipeCannotTake) {
  EXPECT_EQ(check_pipeline(PipelineSchedule::kDualPipe, 16, 120), "");
  EXPECT_NE(check_pipeline(PipelineSchedule::kDualPipe, 15, 120), "");  // odd ranks
  EXPECT_NE(check_pipeline(PipelineSchedule::kDualPipe, 16, 121), "");  // odd chunks
  EXPECT_NE(check_pipeline(PipelineSchedule::kDualPipe, 16, 30), "");   // < 2 x PP
  EXPECT_EQ(check_pipeline(PipelineSchedule::k1F1B, 16, 3), "");
}

ChunkTimes chunk(int64_t f_ms, int64_t b_in_ms, int64_t w_ms) {
  ChunkTimes c;
  c.f = Milliseconds(f_ms);
  c.b_input = Milliseconds(b_in_ms);
  c.w = Milliseconds(w_ms);
  c.b = c.b_input + c.w;
  return c;
}

PipelineTiming uniform(int ranks, const ChunkTimes& c, Duration fb, int stages = 0) {
  PipelineTiming t;
  t.stage.assign(stages > 0 ? stages : ranks, c);
  t.fb.assign(ranks, {fb, fb});
  return t;
}

// Busy time per rank is the same on every rank (each runs every chunk once),
// so bubble = makespan - busy is the rank-independent idle of the step.
Duration sim_bubble(PipelineSchedule s, int ranks, int mbs, const ChunkTimes& c, Duration fb) {
  const auto p = build_pipeline(s, ranks, mbs);
  const auto r = simulate_pipeline(p, uniform(ranks, c, fb, p.stages()));
  EXPECT_TRUE(r.ok) << r.error;
  return r.bubble(0);
}

// T25, 1F1B: (PP-1)(F+B) exactly, for any F, B.
TEST(PipelineBubble, OneFOneBClosedForm) {
  for (int pp : {2, 4, 8, 16}) {
    const ChunkTimes c = chunk(10, 14, 6);
    EXPECT_EQ(sim_bubble(PipelineSchedule::k1F1B, pp, 4 * pp, c, {}),
              bubble_closed_form(PipelineSchedule::k1F1B, pp, c, {}))
        << "PP " << pp;
  }
}

// T25, ZB1P: (PP-1)(F+B-2W) with B = B_in + W, exactly when F = B_in = W
// (the ZB-H1 construction assumes equal F, B and W).
TEST(PipelineBubble, Zb1pClosedForm) {
  for (int pp : {2, 4, 8, 16}) {
    const ChunkTimes c = chunk(10, 10, 10);
    EXPECT_EQ(sim_bubble(PipelineSchedule::kZb1p, pp, 4 * pp, c, {}),
              bubble_closed_form(PipelineSchedule::kZb1p, pp, c, {}))
        << "PP " << pp;
  }
}

// T25, DualPipe: (PP/2-1)(F&B+B-3W), exactly, with F&B = F + B (no overlap
// gain) and F = B_in = W, as in the README figure's unit chunks.
TEST(PipelineBubble, DualPipeClosedForm) {
  for (int pp : {4, 8, 16}) {
    const ChunkTimes c = chunk(10, 10, 10);
    const Duration fb = c.f + c.b;
    EXPECT_EQ(sim_bubble(PipelineSchedule::kDualPipe, pp, 2 * pp + 8, c, fb),
              bubble_closed_form(PipelineSchedule::kDualPipe, pp, c, fb))
        << "PP " << pp;
  }
}

// T25, DualPipeV (dualpipev.py, "cut-in-half"): the DualPipe README gives
// the same (PP/2-1)(F&B+B-3W) with PP = 2 x ranks stages, i.e.
// (ranks-1)(F&B+B-3W), exactly for the README's unit chunks.
TEST(PipelineBubble, DualPipeVClosedForm) {
  for (int ranks : {2, 4, 8}) {
    const ChunkTimes c = chunk(10, 10, 10);
    const Duration fb = c.f + c.b;
    for (int mbs : {2 * ranks, 2 * ranks + 5, 4 * ranks}) {
      EXPECT_EQ(sim_bubble(PipelineSchedule::kDualPipeV, ranks, mbs, c, fb),
                bubble_closed_form(PipelineSchedule::kDualPipeV, ranks, c, fb))
          << "ranks " << ranks << ", micro-batches " << mbs;
    }
  }
}

// DualPipeV's program: every rank runs the forward and the backward of both
// of its stages for every micro-batch, defers exactly the W of its
// zero-bubble backwards, and uses half the ranks of DualPipe for the same
// number of stages.
TEST(DualPipeVSchedule, EveryRankRunsBothPhasesOfEveryMicroBatch) {
  const int ranks = 8, mbs = 20;
  EXPECT_EQ(check_pipeline(PipelineSchedule::kDualPipeV, ranks, mbs), "");
  EXPECT_NE(check_pipeline(PipelineSchedule::kDualPipeV, ranks, 2 * ranks - 1), "");
  EXPECT_EQ(check_pipeline(PipelineSchedule::kDualPipeV, 3, 7), "");  // odd is fine
  const auto p = build_pipeline(PipelineSchedule::kDualPipeV, ranks, mbs);
  EXPECT_EQ(p.stages(), 2 * ranks);
  for (int r = 0; r < ranks; ++r) {
    EXPECT_EQ(p.stage_of(r, 0), r);
    EXPECT_EQ(p.stage_of(r, 1), 2 * ranks - 1 - r);
    const ScheduleCounts k = count_ops(p.ops[r]);
    EXPECT_EQ(k.f + k.fb, 2 * mbs) << "rank " << r;
    EXPECT_EQ(k.b + k.fb, 2 * mbs) << "rank " << r;
    EXPECT_EQ(k.w, k.b - k.b_full) << "rank " << r;
  }
  const auto res = simulate_pipeline(p, uniform(ranks, chunk(10, 10, 10), Milliseconds(30), p.stages()));
  EXPECT_TRUE(res.ok) << res.error;
}

// Interleaved 1F1B (Narayanan et al. 2021, Megatron-LM's virtual
// pipeline): with v chunks per rank the bubble is (PP-1)(F+B) in units of
// one virtual stage, i.e. 1F1B's bubble over v for the same layers per
// rank; exact for any F, B and micro-batch counts that are multiples of PP.
TEST(PipelineBubble, InterleavedClosedForm) {
  for (int pp : {2, 4, 8}) {
    for (int v : {2, 3, 4}) {
      for (int mbs : {pp, 2 * pp, 4 * pp}) {
        const ChunkTimes c = chunk(10, 14, 6);
        const auto p = build_pipeline(PipelineSchedule::kInterleaved, pp, mbs, v);
        ASSERT_EQ(p.stages(), v * pp);
        const auto r = simulate_pipeline(p, uniform(pp, c, {}, p.stages()));
        ASSERT_TRUE(r.ok) << r.error << " PP " << pp << " v " << v << " m " << mbs;
        EXPECT_EQ(r.bubble(0), bubble_closed_form(PipelineSchedule::kInterleaved, pp, c, {}))
            << "PP " << pp << ", chunks " << v << ", micro-batches " << mbs;
      }
    }
  }
}

// Its program: every rank runs each of its chunks' forward and backward once
// per micro-batch (stage c x PP + r), Megatron's warm-up count, and the
// micro-batch count must be a multiple of PP.
TEST(InterleavedSchedule, EveryChunkRunsEveryMicroBatch) {
  const int pp = 4, v = 2, mbs = 8;
  EXPECT_EQ(check_pipeline(PipelineSchedule::kInterleaved, pp, mbs, v), "");
  EXPECT_NE(check_pipeline(PipelineSchedule::kInterleaved, pp, 10, v), "");
  EXPECT_NE(check_pipeline(PipelineSchedule::kInterleaved, pp, mbs, 1), "");
  const auto p = build_pipeline(PipelineSchedule::kInterleaved, pp, mbs, v);
  for (int r = 0; r < pp; ++r) {
    EXPECT_EQ(p.stage_of(r, 1), pp + r);
    EXPECT_EQ(p.rank_of_stage(pp + r), r);
    const ScheduleCounts k = count_ops(p.ops[static_cast<size_t>(r)]);
    EXPECT_EQ(k.f, v * mbs);
    EXPECT_EQ(k.b, v * mbs);
    // Warm-up: (PP - r - 1) x 2 + (v - 1) x PP forwards before the first B.
    int warm = 0;
    while (p.ops[static_cast<size_t>(r)][static_cast<size_t>(warm)].kind == PipeOpKind::kF) ++warm;
    EXPECT_EQ(warm, (pp - r - 1) * 2 + (v - 1) * pp + 1) << "rank " << r;  // + the steady state's first F
  }
}

TEST(PipelineBubble, PrintsDualPipeForUnequalChunks) {
  // Informational: how the simulated bubble compares with the closed form
  // when F, B_in, W and F&B differ (the formula is exact only for the
  // README's idealised chunks).
  const ChunkTimes c = chunk(49, 60, 30);
  const Duration fb = Milliseconds(130);
  for (int pp : {8, 16}) {
    const Duration sim = sim_bubble(PipelineSchedule::kDualPipe, pp, 120, c, fb);
    const Duration cf = bubble_closed_form(PipelineSchedule::kDualPipe, pp, c, fb);
    std::printf("DualPipe PP=%d: simulated bubble %.1f ms, closed form %.1f ms\n", pp,
                sim / Milliseconds(1), cf / Milliseconds(1));
    EXPECT_GT(sim, Duration::zero());
  }
}

}  // namespace
}  // namespace codesim::workloads
