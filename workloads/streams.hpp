// File: workloads/streams.hpp
//
// The in-order streams of one pipeline chunk (training.cpp schedules a
// chunk's layers on them) and when their tasks end.
#pragma once

#include <initializer_list>
#include <vector>

#include "sim/units.hpp"

namespace codesim::workloads {

// A chunk's streams, each in order: compute, communication (the EP
// all-to-all and PP's DeepEP/NCCL kernels), under ZeRO-2/3 the background
// DP stream of gradient reduce-scatters, and under ZeRO-3 the stream of
// parameter all-gathers (FSDP2 runs the two on separate streams). Tasks
// start when their stream is free and their dependencies are done. The
// three network streams share one network resource max-min fairly: while
// k of them run, each moves at 1/k of its standalone rate (they saturate
// the same NIC and NVLink ports; which of them holds the critical path
// decides who is slowed, as on the real NIC, where DeepEP's and NCCL's
// queue pairs are arbitrated evenly). Without background or gather tasks
// this is the plain two-stream list schedule.
class Streams {
 public:
  enum Stream { kCompute = 0, kComm = 1, kBackground = 2, kGather = 3 };
  // A task of `d` on `stream` after `deps` (earlier tasks' indices; -1 is
  // none); returns its index.
  int add(Stream stream, Duration d, std::initializer_list<int> deps);
  int add(bool comm, Duration d, std::initializer_list<int> deps) {
    return add(comm ? kComm : kCompute, d, deps);
  }
  // When every task is done.
  Duration makespan() const;
  // When every compute and communication task is done (background and
  // gather ones may still run).
  Duration foreground_makespan() const;
  // Per task (in the order added), its end.
  std::vector<Time> ends() const;

 private:
  struct Task {
    Stream stream = kCompute;
    int64_t ps = 0;
    std::vector<int> deps;  // earlier tasks
  };
  // Event-driven: work in sixths of a picosecond, so that a lone task (six
  // per ps) and one sharing with one or two others (three or two per ps)
  // all stay integral.
  std::vector<int64_t> run() const;
  std::vector<Task> tasks_;
};

}  // namespace codesim::workloads
