// File: sim/event_queue.hpp
//
// The discrete-event core. Time is integer picoseconds (sim/units.hpp). The
// order of events is part of the contract and never depends on the heap's
// internals or on addresses:
//
//     (time, priority, sequence)   -- smaller first
//
// `priority` breaks ties between events at the same instant (lower runs
// first; see Priority), and `sequence` is the insertion counter, so two
// events with equal time and priority run in the order they were scheduled
// (as ns-3's EventKey and gem5's Priority do). tests/sim/engine_event_test
// checks it.
//
// schedule() asserts `when >= now()`: an event in the past is a bug in the
// caller, not something to round. Cancelling is lazy (the entry is skipped
// when popped), so cancel() is O(1).
//
// Ownership: the queue owns the callbacks. Components hold the EventId of
// what they scheduled if they may need to cancel it. No globals: every
// component gets a Scheduler& in its constructor.
#pragma once

#include <cassert>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "sim/units.hpp"

namespace codesim::sim {

// Tie-breakers for events at the same picosecond.
enum class Priority : int {
  kFaults = -10,     // link failures/degradations apply before traffic moves
  kNetwork = 0,      // flow activations and completions
  kTasks = 10,       // task starts that follow completions at the same instant
  kObservers = 100,  // samplers, trace flushes
};

struct EventId {
  uint64_t seq = 0;  // 0 = none
  bool valid() const { return seq != 0; }
};

class Scheduler {
 public:
  using Callback = std::function<void()>;

  Time now() const { return now_; }

  // Runs `cb` at `when` (>= now()). `name` must outlive the event (use a
  // string literal); it names the event in traces and assertion messages.
  EventId schedule(Time when, Priority priority, std::string_view name, Callback cb);
  EventId schedule_in(Duration delay, Priority priority, std::string_view name, Callback cb) {
    return schedule(now_ + delay, priority, name, std::move(cb));
  }
  // True when the event was pending (and is now cancelled).
  bool cancel(EventId id);

  // Runs the next event; false when none is left.
  bool step();
  // Runs until no event is left, or until the next event is after `until`.
  void run(std::optional<Time> until = std::nullopt);

  std::optional<Time> next_time();
  size_t pending() const { return pending_.size(); }
  uint64_t executed() const { return executed_; }
  // Name of the event being run (for diagnostics), "" outside step().
  std::string_view current_name() const { return current_name_; }

 private:
  struct Entry {
    int64_t when_ps;
    int priority;
    uint64_t seq;
    std::string_view name;
    Callback cb;
  };
  struct Later {
    bool operator()(const Entry& a, const Entry& b) const {
      if (a.when_ps != b.when_ps) return a.when_ps > b.when_ps;
      if (a.priority != b.priority) return a.priority > b.priority;
      return a.seq > b.seq;
    }
  };
  void drop_cancelled_top();

  std::vector<Entry> heap_;
  std::unordered_set<uint64_t> pending_;    // scheduled, not run, not cancelled
  std::unordered_set<uint64_t> cancelled_;  // cancelled, still in heap_
  Time now_;
  uint64_t next_seq_ = 1;
  uint64_t executed_ = 0;
  std::string_view current_name_;
};

}  // namespace codesim::sim
