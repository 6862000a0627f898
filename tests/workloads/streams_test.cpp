// A chunk's streams (workloads/streams.hpp): in-order list scheduling, and
// the fair sharing of the network between the EP all-to-all (communication
// stream) and ZeRO-2's gradient reduce-scatters (background stream). The
// expected ends are worked by hand from processor sharing: two transfers on
// one resource each move at half rate while both are in flight.
#include <gtest/gtest.h>

#include "workloads/streams.hpp"

namespace codesim::workloads {
namespace {

Duration ms(double v) { return Duration::from_seconds(v * 1e-3); }
double end_ms(const std::vector<Time>& e, int i) { return (e[static_cast<size_t>(i)] - Time::zero()).seconds() * 1e3; }

// Without background tasks: each task starts when its stream is free and its
// dependencies are done (compute 2 -> comm 3 -> compute 1, compute 4 alongside).
TEST(ChunkStreams, TwoStreamsAreAListSchedule) {
  Streams s;
  const int a = s.add(false, ms(2), {});
  const int b = s.add(true, ms(3), {a});
  const int c = s.add(false, ms(4), {a});
  const int d = s.add(false, ms(1), {b});
  const auto e = s.ends();
  EXPECT_DOUBLE_EQ(end_ms(e, a), 2);
  EXPECT_DOUBLE_EQ(end_ms(e, b), 5);
  EXPECT_DOUBLE_EQ(end_ms(e, c), 6);
  EXPECT_DOUBLE_EQ(end_ms(e, d), 7);  // waits for the compute stream (c), not only for b
  EXPECT_DOUBLE_EQ(s.makespan().seconds() * 1e3, 7);
}

// Communication 10 ms and background 4 ms from t = 0: the background one
// finishes at 8 (4 ms of work at half rate), the all-to-all has 6 ms left
// then, at full rate: 14. Total work is conserved (14 = 10 + 4).
TEST(ChunkStreams, BackgroundSharesTheNetworkFairly) {
  Streams s;
  const int a2a = s.add(true, ms(10), {});
  const int rs = s.add(Streams::kBackground, ms(4), {});
  const auto e = s.ends();
  EXPECT_DOUBLE_EQ(end_ms(e, rs), 8);
  EXPECT_DOUBLE_EQ(end_ms(e, a2a), 14);
}

// Compute does not share: a background transfer behind a compute task runs
// alongside the next compute task at full rate, and hides behind it.
TEST(ChunkStreams, BackgroundHidesBehindCompute) {
  Streams s;
  const int w = s.add(false, ms(3), {});
  s.add(Streams::kBackground, ms(2), {w});
  s.add(false, ms(5), {w});
  EXPECT_DOUBLE_EQ(s.makespan().seconds() * 1e3, 8);
  // The same transfer with nothing after it is exposed.
  Streams t;
  t.add(Streams::kBackground, ms(2), {t.add(false, ms(3), {})});
  EXPECT_DOUBLE_EQ(t.makespan().seconds() * 1e3, 5);
}

// A background queue stays in order; one starting mid-way through an
// all-to-all slows it only while they overlap: a2a 6 ms from 0, RS 2 ms
// queued behind a compute task of 2: the RS runs [2, 6) at half rate, the
// a2a has 4 ms left at t = 2, 2 ms done by 6, ends at 8.
TEST(ChunkStreams, OverlapOnlySlowsWhileBothRun) {
  Streams s;
  const int a2a = s.add(true, ms(6), {});
  const int c = s.add(false, ms(2), {});
  const int rs = s.add(Streams::kBackground, ms(2), {c});
  const auto e = s.ends();
  EXPECT_DOUBLE_EQ(end_ms(e, rs), 6);
  EXPECT_DOUBLE_EQ(end_ms(e, a2a), 8);
}

// Three network streams (ZeRO-3's gathers beside ZeRO-2's reduce-scatters
// and the all-to-all) each move at a third while all three run: a2a 9,
// RS 3, AG 3 ms from 0: RS and AG end at 9 (3 ms each at a third), the
// a2a has 6 ms left then, at full rate: 15 = 9 + 3 + 3. foreground_makespan
// leaves out both background kinds.
TEST(ChunkStreams, ThreeNetworkStreamsShareInThirds) {
  Streams s;
  const int a2a = s.add(true, ms(9), {});
  const int rs = s.add(Streams::kBackground, ms(3), {});
  const int ag = s.add(Streams::kGather, ms(3), {});
  const auto e = s.ends();
  EXPECT_DOUBLE_EQ(end_ms(e, rs), 9);
  EXPECT_DOUBLE_EQ(end_ms(e, ag), 9);
  EXPECT_DOUBLE_EQ(end_ms(e, a2a), 15);
  Streams t;
  t.add(false, ms(1), {});
  t.add(Streams::kGather, ms(4), {});
  EXPECT_DOUBLE_EQ(t.foreground_makespan().seconds() * 1e3, 1);
  EXPECT_DOUBLE_EQ(t.makespan().seconds() * 1e3, 4);
}

}  // namespace
}  // namespace codesim::workloads
