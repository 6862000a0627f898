#include "workloads/streams.hpp"

#include <algorithm>
#include <array>
#include <limits>

namespace codesim::workloads {

int Streams::add(Stream stream, Duration d, std::initializer_list<int> deps) {
  Task t;
  t.stream = stream;
  t.ps = d.ps();
  for (int dep : deps)
    if (dep >= 0) t.deps.push_back(dep);
  tasks_.push_back(std::move(t));
  return static_cast<int>(tasks_.size()) - 1;
}

Duration Streams::makespan() const {
  int64_t m = 0;
  for (int64_t e : run()) m = std::max(m, e);
  return Duration::from_ps(m);
}

Duration Streams::foreground_makespan() const {
  const std::vector<int64_t> end = run();
  int64_t m = 0;
  for (size_t i = 0; i < end.size(); ++i)
    if (tasks_[i].stream == kCompute || tasks_[i].stream == kComm) m = std::max(m, end[i]);
  return Duration::from_ps(m);
}

std::vector<Time> Streams::ends() const {
  std::vector<Time> out;
  for (int64_t e : run()) out.push_back(Time::from_ps(e));
  return out;
}

std::vector<int64_t> Streams::run() const {
  constexpr int kStreams = 4;
  std::vector<int64_t> end(tasks_.size(), -1);
  std::array<std::vector<int>, kStreams> queue;
  for (size_t i = 0; i < tasks_.size(); ++i) queue[tasks_[i].stream].push_back(static_cast<int>(i));
  std::array<size_t, kStreams> head{};
  std::array<int, kStreams> running{-1, -1, -1, -1};
  std::array<int64_t, kStreams> left{};  // sixths of a ps of work
  int64_t now = 0;
  size_t done = 0;
  while (done < tasks_.size()) {
    bool started = true;
    while (started) {  // start every ready head; zero-length tasks finish at once
      started = false;
      for (int s = 0; s < kStreams; ++s) {
        if (running[s] >= 0 || head[s] >= queue[s].size()) continue;
        const int i = queue[s][head[s]];
        const Task& t = tasks_[static_cast<size_t>(i)];
        const bool ready = std::all_of(t.deps.begin(), t.deps.end(), [&](int d) {
          return end[static_cast<size_t>(d)] >= 0 && end[static_cast<size_t>(d)] <= now;
        });
        if (!ready) continue;
        ++head[s];
        started = true;
        if (t.ps == 0) {
          end[static_cast<size_t>(i)] = now;
          ++done;
        } else {
          running[s] = i;
          left[s] = 6 * t.ps;
        }
      }
    }
    if (done == tasks_.size()) break;
    // The network streams share max-min fairly: 1, 1/2 or 1/3 of the rate each.
    const int sharing = (running[kComm] >= 0) + (running[kBackground] >= 0) + (running[kGather] >= 0);
    const int64_t net_rate = sharing > 0 ? 6 / sharing : 6;
    const std::array<int64_t, kStreams> rate{6, net_rate, net_rate, net_rate};
    int64_t step = std::numeric_limits<int64_t>::max();
    for (int s = 0; s < kStreams; ++s)
      if (running[s] >= 0) step = std::min(step, (left[s] + rate[s] - 1) / rate[s]);
    if (step == std::numeric_limits<int64_t>::max()) break;  // cannot happen: deps point backwards
    now += step;
    for (int s = 0; s < kStreams; ++s) {
      if (running[s] < 0) continue;
      left[s] -= step * rate[s];
      if (left[s] <= 0) {
        end[static_cast<size_t>(running[s])] = now;
        running[s] = -1;
        ++done;
      }
    }
  }
  return end;
}

}  // namespace codesim::workloads
