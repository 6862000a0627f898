// File: sim/detail/stream_order.hpp
//
// The ordering rules of a task-graph replay, shared by codesim's engine
// (sim/task_graph.cpp) and the SimGrid backend (sim/simgrid_backend.cpp), so
// that the two differ only in how they time communication:
//  * tasks on one (gpu, stream) run one at a time, in the order added;
//  * a task starts only when all its dependencies have ended.
// The caller owns the clock: it asks claim(t) when a task could start, and
// calls finish(t, try_start) when it ends; try_start(u) is called for every
// task that may have become ready.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <utility>
#include <vector>

#include "sim/task_graph.hpp"

namespace codesim::sim::detail {

class StreamOrder {
 public:
  // Throws std::invalid_argument when a task depends on one not added before it.
  explicit StreamOrder(const TaskGraph& g) {
    const size_t n = g.tasks.size();
    deps_left_.resize(n);
    dependents_.resize(n);
    started_.assign(n, 0);
    for (size_t t = 0; t < n; ++t) {
      deps_left_[t] = static_cast<int>(g.tasks[t].deps.size());
      for (int d : g.tasks[t].deps) {
        if (d < 0 || static_cast<size_t>(d) >= t)
          throw std::invalid_argument("TaskGraph: task '" + g.tasks[t].name +
                                      "' depends on a task that is not added before it");
        dependents_[static_cast<size_t>(d)].push_back(static_cast<int>(t));
      }
      const auto key = std::pair{g.tasks[t].gpu, g.tasks[t].stream};
      auto it = stream_ids_.find(key);
      if (it == stream_ids_.end()) {
        it = stream_ids_.emplace(key, static_cast<int>(queues_.size())).first;
        queues_.emplace_back();
      }
      stream_of_.push_back(it->second);
      queues_[static_cast<size_t>(it->second)].push_back(static_cast<int>(t));
    }
    heads_.assign(queues_.size(), 0);
    busy_.assign(queues_.size(), 0);
  }

  // Calls try_start on the first task of every stream.
  template <class F>
  void start_all(F&& try_start) {
    for (const auto& q : queues_)
      if (!q.empty()) try_start(q[0]);
  }

  // True (and marks t running) when t is at the head of its idle stream, not
  // started, and all its dependencies have ended.
  bool claim(int t) {
    const size_t ti = static_cast<size_t>(t);
    const size_t s = static_cast<size_t>(stream_of_[ti]);
    if (started_[ti] || deps_left_[ti] > 0 || busy_[s]) return false;
    if (heads_[s] >= queues_[s].size() || queues_[s][heads_[s]] != t) return false;
    busy_[s] = 1;
    started_[ti] = 1;
    return true;
  }

  // Ends t: frees its stream, releases its dependents and the next task of
  // its stream, calling try_start on each.
  template <class F>
  void finish(int t, F&& try_start) {
    const size_t ti = static_cast<size_t>(t);
    const size_t s = static_cast<size_t>(stream_of_[ti]);
    busy_[s] = 0;
    heads_[s]++;
    for (int d : dependents_[ti]) {
      deps_left_[static_cast<size_t>(d)]--;
      try_start(d);
    }
    if (heads_[s] < queues_[s].size()) try_start(queues_[s][heads_[s]]);
  }

 private:
  std::vector<int> deps_left_;
  std::vector<std::vector<int>> dependents_;
  std::map<std::pair<int, int>, int> stream_ids_;
  std::vector<int> stream_of_;
  std::vector<std::vector<int>> queues_;
  std::vector<size_t> heads_;
  std::vector<uint8_t> busy_;
  std::vector<uint8_t> started_;
};

}  // namespace codesim::sim::detail
