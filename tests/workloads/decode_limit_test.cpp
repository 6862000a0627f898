// The ISCA'25 decode speed limit (Sec. 2.3.2), targets T7-T9 of
// shared/reference/deepseek-v3-published.md, from the two scenario files.
// The closed form is integer arithmetic on picoseconds, so T7/T8 are exact.
#include "workloads/decode_limit.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "serving_test_util.hpp"

namespace codesim::workloads {
namespace {

using testing::load_section;

TEST(DecodeLimit, PaperIbCaseIsExact) {
  DecodeLimitSpec s;
  ASSERT_TRUE(load_section("scenarios/paper/v3-decode-limit-ib.yaml", "decode_limit", s));
  const DecodeLimit l = decode_speed_limit(s);
  // T7: (1 B + 2 B) x 32 x 9 x 7000 = 6,048,000 B; / 50e9 B/s = 120.96 us exactly.
  EXPECT_EQ(l.bytes_per_step.count(), 6'048'000u);
  EXPECT_EQ(l.ep_step, Nanoseconds(120'960));
  // T8: 2 micro-batches -> 241.92 us per layer; 61 layers -> 14.757 ms, printed 14.76 ms.
  EXPECT_EQ(l.layer, Nanoseconds(241'920));
  EXPECT_EQ(l.tpot, Nanoseconds(14'757'120));
  EXPECT_EQ(std::round(l.tpot / Microseconds(10)) / 100, 14.76);
  // "equivalent to 67 tokens per second": 1 / 14.757 ms = 67.76; the paper truncates.
  EXPECT_EQ(static_cast<int>(l.tokens_per_s), 67);
}

TEST(DecodeLimit, PaperNvl72Case) {
  DecodeLimitSpec s;
  ASSERT_TRUE(load_section("scenarios/paper/v3-decode-limit-nvl72.yaml", "decode_limit", s));
  const DecodeLimit l = decode_speed_limit(s);
  // T9: 6,048,000 B / 900e9 B/s = 6.72 us exactly.
  EXPECT_EQ(l.ep_step, Nanoseconds(6'720));
  // 61 x 2 x 6.72 us = 0.81984 ms, printed "0.82 ms".
  EXPECT_EQ(l.tpot, Nanoseconds(819'840));
  EXPECT_EQ(std::round(l.tpot / Microseconds(10)) / 100, 0.82);
  // "approximately 1200 tokens per second": 1219.7; within the paper's rounding (2%).
  EXPECT_NEAR(l.tokens_per_s, 1200, 24);
}

TEST(DecodeLimit, BandwidthScalingIsExact) {
  // 50/900 x 120.96 us = 6.72 us: the NVL72 figure is a pure bandwidth scaling.
  DecodeLimitSpec s;
  s.bandwidth = GBps(50);
  const Duration ib = decode_speed_limit(s).ep_step;
  s.bandwidth = GBps(900);
  EXPECT_EQ(decode_speed_limit(s).ep_step * int64_t{18}, ib);
}

TEST(DecodeLimit, FullModelIsSlowerAndSaysWhy) {
  DecodeLimitSpec s;
  ServingSpec sv;
  ASSERT_TRUE(load_section("scenarios/paper/v3-decode-limit-ib.yaml", "decode_limit", s));
  ASSERT_TRUE(load_section("scenarios/paper/v3-decode-limit-ib.yaml", "serving", sv));
  const DecodeLimitFull f = decode_limit_full(s, sv, 4096);
  ASSERT_EQ(f.steps.size(), 5u);
  EXPECT_EQ(f.steps[0].tpot, f.paper.tpot);
  // Hidden 7168 with FP8 scales: (7392 + 14336) B x 32 x 9 = 6,257,664 B per
  // step, 125.15 us, TPOT 15.27 ms (the reference's [D] note: 15.1 ms without scales).
  EXPECT_NEAR(f.steps[1].tpot / Milliseconds(1), 61 * 2 * 6'257'664 / 50e9 * 1e3, 1e-6);
  // Each correction only adds time.
  for (size_t i = 1; i < f.steps.size() - 1; ++i) EXPECT_GT(f.steps[i].tpot, f.steps[i - 1].tpot);
  EXPECT_GT(f.tpot, f.paper.tpot);
  EXPECT_GT(f.slowdown, 1.0);
  EXPECT_NEAR(f.slowdown, f.tpot / f.paper.tpot, 1e-12);
}

}  // namespace
}  // namespace codesim::workloads
