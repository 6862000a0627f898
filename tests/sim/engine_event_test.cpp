// The event core's ordering contract: (time, priority, sequence).
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "sim/event_queue.hpp"

using namespace codesim;
using namespace codesim::sim;

TEST(EngineEvent, OrderIsTimeThenPriorityThenInsertion) {
  Scheduler s;
  std::vector<std::string> log;
  auto rec = [&log](std::string n) { return [&log, n] { log.push_back(n); }; };
  s.schedule(Time::zero() + Nanoseconds(10), Priority::kTasks, "c", rec("t10-tasks-1"));
  s.schedule(Time::zero() + Nanoseconds(10), Priority::kNetwork, "b", rec("t10-net-1"));
  s.schedule(Time::zero() + Nanoseconds(5), Priority::kObservers, "a", rec("t5-obs"));
  s.schedule(Time::zero() + Nanoseconds(10), Priority::kTasks, "d", rec("t10-tasks-2"));
  s.schedule(Time::zero() + Nanoseconds(10), Priority::kFaults, "e", rec("t10-fault"));
  s.schedule(Time::zero() + Nanoseconds(10), Priority::kNetwork, "f", rec("t10-net-2"));
  s.run();
  const std::vector<std::string> want = {"t5-obs",      "t10-fault",   "t10-net-1",
                                         "t10-net-2",   "t10-tasks-1", "t10-tasks-2"};
  EXPECT_EQ(log, want);
  EXPECT_EQ(s.now(), Time::zero() + Nanoseconds(10));
  EXPECT_EQ(s.executed(), 6u);
}

TEST(EngineEvent, EventsScheduledDuringAnEventAtTheSameInstantRunAfterIt) {
  Scheduler s;
  std::vector<int> log;
  s.schedule(Time::zero(), Priority::kNetwork, "outer", [&] {
    log.push_back(1);
    s.schedule_in(Duration::zero(), Priority::kNetwork, "inner", [&] { log.push_back(3); });
    s.schedule_in(Duration::zero(), Priority::kFaults, "urgent", [&] { log.push_back(2); });
  });
  s.run();
  EXPECT_EQ(log, (std::vector<int>{1, 2, 3}));
}

TEST(EngineEvent, CancelAndPastEvents) {
  Scheduler s;
  int ran = 0;
  EventId a = s.schedule(Time::zero() + Microseconds(1), Priority::kNetwork, "a", [&] { ++ran; });
  s.schedule(Time::zero() + Microseconds(2), Priority::kNetwork, "b", [&] { ++ran; });
  EXPECT_TRUE(s.cancel(a));
  EXPECT_FALSE(s.cancel(a));  // already cancelled
  EXPECT_EQ(s.pending(), 1u);
  s.run();
  EXPECT_EQ(ran, 1);
  // when >= now is asserted: scheduling in the past is a caller bug.
  EXPECT_THROW(s.schedule(Time::zero(), Priority::kNetwork, "past", [] {}), std::logic_error);
}

TEST(EngineEvent, RunUntilStopsBeforeLaterEvents) {
  Scheduler s;
  int ran = 0;
  s.schedule(Time::zero() + Microseconds(1), Priority::kNetwork, "a", [&] { ++ran; });
  s.schedule(Time::zero() + Microseconds(3), Priority::kNetwork, "b", [&] { ++ran; });
  s.run(Time::zero() + Microseconds(2));
  EXPECT_EQ(ran, 1);
  ASSERT_TRUE(s.next_time().has_value());
  EXPECT_EQ(*s.next_time(), Time::zero() + Microseconds(3));
}
