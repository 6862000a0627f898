#include "sim/units.hpp"

#include <gtest/gtest.h>

namespace codesim {
namespace {

TEST(Units, DimensionalOperators) {
  // 1 MB at 50 GB/s = 1e6 / 50e9 s = 20 us.
  EXPECT_EQ(MB(1) / GBps(50), Microseconds(20));
  // 400 Gb/s is 50 GB/s.
  EXPECT_DOUBLE_EQ(Gbps(400) / GBps(1), 50.0);
  // 50 GB/s for 2 us = 100,000 B.
  EXPECT_EQ(GBps(50) * Microseconds(2), B(100000));
  // 989 TFLOP at 989 TFLOPS is one second.
  EXPECT_EQ(TFlopCount(989) / TFlops(989), Seconds(1));
  EXPECT_EQ((Time::zero() + Milliseconds(3)) - Time::zero(), Milliseconds(3));
  EXPECT_DOUBLE_EQ(Milliseconds(3) / Microseconds(1), 3000.0);
}

TEST(Units, ZeroBandwidthIsInfiniteAndSaturates) {
  Duration d = MB(1) / GBps(0);
  EXPECT_TRUE(d.is_infinite());
  EXPECT_TRUE((d + Seconds(1)).is_infinite());
  EXPECT_EQ(B(0) / GBps(0), Duration::zero());
}

TEST(Units, RoundsToNearestPicosecond) {
  // 1 B at 3 B/s = 0.333... s -> 333,333,333,333 ps (rounded, not truncated).
  EXPECT_EQ((B(2) / BytesPerSecond(3)).ps(), 666'666'666'667);
}

TEST(Units, DecimalAndBinaryPrefixesAreExact) {
  Bytes b;
  std::string why;
  ASSERT_TRUE(parse_bytes("80GiB", b, why)) << why;
  EXPECT_EQ(b.count(), 80ULL << 30);
  ASSERT_TRUE(parse_bytes("70.272KB", b, why)) << why;  // the paper's KB = 1000 B
  EXPECT_EQ(b.count(), 70272u);
  ASSERT_TRUE(parse_bytes("16MiB", b, why));
  EXPECT_EQ(b, MiB(16));
}

TEST(Units, ParsesEveryKind) {
  std::string why;
  Bandwidth bw;
  ASSERT_TRUE(parse_bandwidth("400Gbps", bw, why));
  EXPECT_DOUBLE_EQ(bw.bytes_per_second(), 50e9);
  ASSERT_TRUE(parse_bandwidth("50GB/s", bw, why));
  EXPECT_DOUBLE_EQ(bw.bytes_per_second(), 50e9);
  ASSERT_TRUE(parse_bandwidth("3.35 TB/s", bw, why));
  EXPECT_DOUBLE_EQ(bw.bytes_per_second(), 3.35e12);
  Duration d;
  ASSERT_TRUE(parse_duration("1.5us", d, why));
  EXPECT_EQ(d.ps(), 1'500'000);
  ASSERT_TRUE(parse_duration("2.8us", d, why));
  EXPECT_EQ(d, Nanoseconds(2800));
  FlopRate r;
  ASSERT_TRUE(parse_flop_rate("989TFLOPS", r, why));
  EXPECT_DOUBLE_EQ(r.per_second(), 989e12);
  Flops f;
  ASSERT_TRUE(parse_flops("250GFLOP", f, why));
  EXPECT_DOUBLE_EQ(f.count(), 250e9);
  ASSERT_TRUE(parse_flops("1e9FLOP", f, why));
  EXPECT_DOUBLE_EQ(f.count(), 1e9);
}

TEST(Units, RejectsMissingOrWrongUnits) {
  std::string why;
  Bandwidth bw;
  EXPECT_FALSE(parse_bandwidth("400", bw, why));
  EXPECT_NE(why.find("has no unit"), std::string::npos) << why;
  EXPECT_FALSE(parse_bandwidth("400GB", bw, why));  // bytes, not a rate
  EXPECT_NE(why.find("unknown bandwidth unit 'GB'"), std::string::npos) << why;
  Duration d;
  EXPECT_FALSE(parse_duration("fast", d, why));
  EXPECT_FALSE(parse_duration("-1us", d, why));
  Bytes b;
  EXPECT_FALSE(parse_bytes("1.2.3GB", b, why));
}

TEST(Units, PrintedFormsParseBack) {
  std::string why;
  for (Duration d : {Nanoseconds(2800), Microseconds(120), Seconds(19), Picoseconds(7)}) {
    Duration back;
    ASSERT_TRUE(parse_duration(to_string(d), back, why)) << to_string(d);
    EXPECT_EQ(back, d);
  }
  for (Bytes b : {GiB(80), B(70272), MiB(16), GB(80)}) {
    Bytes back;
    ASSERT_TRUE(parse_bytes(to_string(b), back, why)) << to_string(b);
    EXPECT_EQ(back, b);
  }
  EXPECT_EQ(to_string(GiB(80)), "80GiB");
  EXPECT_EQ(to_string(Gbps(400)), "50GB/s");
  EXPECT_EQ(to_string(TFlops(989)), "989TFLOPS");
}

}  // namespace
}  // namespace codesim
