#include "sim/event_queue.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace codesim::sim {

EventId Scheduler::schedule(Time when, Priority priority, std::string_view name, Callback cb) {
  if (when < now_)
    throw std::logic_error("Scheduler: event '" + std::string(name) + "' scheduled at " +
                           std::to_string(when.ps()) + " ps, before now = " +
                           std::to_string(now_.ps()) + " ps");
  const uint64_t seq = next_seq_++;
  heap_.push_back(Entry{when.ps(), static_cast<int>(priority), seq, name, std::move(cb)});
  pending_.insert(seq);
  std::push_heap(heap_.begin(), heap_.end(), Later{});
  return EventId{seq};
}

bool Scheduler::cancel(EventId id) {
  if (!id.valid() || !pending_.count(id.seq)) return false;
  pending_.erase(id.seq);
  cancelled_.insert(id.seq);  // skipped when it reaches the top
  return true;
}

void Scheduler::drop_cancelled_top() {
  while (!heap_.empty() && !cancelled_.empty() && cancelled_.count(heap_.front().seq)) {
    cancelled_.erase(heap_.front().seq);
    std::pop_heap(heap_.begin(), heap_.end(), Later{});
    heap_.pop_back();
  }
}

std::optional<Time> Scheduler::next_time() {
  drop_cancelled_top();
  if (heap_.empty()) return std::nullopt;
  return Time::from_ps(heap_.front().when_ps);
}

bool Scheduler::step() {
  drop_cancelled_top();
  if (heap_.empty()) return false;
  std::pop_heap(heap_.begin(), heap_.end(), Later{});
  Entry e = std::move(heap_.back());
  heap_.pop_back();
  pending_.erase(e.seq);
  assert(e.when_ps >= now_.ps());
  now_ = Time::from_ps(e.when_ps);
  current_name_ = e.name;
  ++executed_;
  e.cb();
  current_name_ = {};
  return true;
}

void Scheduler::run(std::optional<Time> until) {
  while (true) {
    auto t = next_time();
    if (!t || (until && *t > *until)) break;
    step();
  }
}

}  // namespace codesim::sim
