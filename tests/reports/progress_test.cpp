// sim/progress.hpp: the progress line, silence when disabled, and thread
// safety of advance(). (Kept in reports_tests; the bar itself lives in sim/.)
#include "sim/progress.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <thread>
#include <vector>

namespace codesim {
namespace {

TEST(ProgressLine, BarPercentAndEta) {
  // 16 of 50 after 6 s: 34 left at 16 per 6 s -> 12.75 s -> "0:13".
  EXPECT_EQ(Progress::line("sweep", 16, 50, 6.0, 10), "sweep [===>      ]  32% 16/50 ETA 0:13");
  EXPECT_EQ(Progress::line("sweep", 0, 50, 0.0, 4), "sweep [    ]   0% 0/50 ETA --:--");
  // Done: the elapsed time instead of an ETA.
  EXPECT_EQ(Progress::line("run", 5, 5, 3725.0, 4), "run [====] 100% 5/5 1:02:05");
}

TEST(Progress, DisabledPrintsNothing) {
  std::ostringstream out;
  ProgressOptions o;
  o.out = &out;  // enabled = false
  {
    Progress p("x", 10, o);
    for (int i = 0; i < 10; ++i) p.advance();
    EXPECT_EQ(p.done(), 10);
  }
  EXPECT_EQ(out.str(), "");
}

TEST(Progress, QuietOrNotATerminalIsOff) {
  EXPECT_FALSE(ProgressOptions::for_stderr(true).enabled);
  EXPECT_EQ(ProgressOptions::for_stderr(false).enabled, stderr_is_terminal());
}

TEST(Progress, RedrawsAtMostEveryIntervalAndEndsTheLine) {
  std::ostringstream out;
  double now = 0;
  ProgressOptions o;
  o.enabled = true;
  o.out = &out;
  o.width = 4;
  o.now_s = [&now] { return now; };
  Progress p("x", 4, o);
  p.advance();            // first draw
  p.advance();            // same instant: skipped
  now = 1;
  p.advance();            // drawn
  p.finish();
  p.finish();             // once only
  const std::string s = out.str();
  EXPECT_EQ(std::count(s.begin(), s.end(), '\r'), 3) << s;
  EXPECT_TRUE(s.ends_with("x [===>]  75% 3/4 ETA 0:00\n")) << s;
}

TEST(Progress, ThreadSafeCount) {
  std::ostringstream out;
  ProgressOptions o;
  o.enabled = true;
  o.out = &out;
  o.min_interval_s = 0;
  Progress p("x", 8000, o);
  std::vector<std::thread> ts;
  for (int t = 0; t < 8; ++t)
    ts.emplace_back([&p] {
      for (int i = 0; i < 1000; ++i) p.advance();
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(p.done(), 8000);
  p.finish();
  // The final line pads with spaces over a longer earlier one (an "ETA"
  // line some thread printed): compare it without the padding.
  std::string last = out.str();
  ASSERT_TRUE(last.ends_with("\n"));
  last.pop_back();
  while (!last.empty() && last.back() == ' ') last.pop_back();
  EXPECT_TRUE(last.ends_with("8000/8000 0:00")) << out.str().substr(out.str().size() - 60);
}

}  // namespace
}  // namespace codesim
