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
// all-to-all and PP's DeepEP/NCCL kernels) and, under ZeRO-2, the
// background DP stream of gradient reduce-scatters. Tasks start when their
// stream is free and their dependencies are done. Communication and
// background share one network resource max-min fairly: while both run,
// each moves at half its standalone rate (the two saturate the same NIC
// and NVLink ports; which of them holds the critical path decides who is
// slowed, as on the real NIC, where DeepEP's and NCCL's queue pairs are
// arbitrated evenly). Without background tasks this is the plain two-stream
// list schedule.
class Streams {
 public:
  enum Stream { kCompute = 0, kComm = 1, kBackground = 2 };
  // A task of `d` on `stream` after `deps` (earlier tasks' indices; -1 is
  // none); returns its index.
  int add(Stream stream, Duration d, std::initializer_list<int> deps);
  int add(bool comm, Duration d, std::initializer_list<int> deps) {
    return add(comm ? kComm : kCompute, d, deps);
  }
  // When every task is done.
  Duration makespan() const;
  // When every compute and communication task is done (background ones may
  // still run).
  Duration foreground_makespan() const;
  // Per task (in the order added), its end.
  std::vector<Time> ends() const;

 private:
  struct Task {
    Stream stream = kCompute;
    int64_t ps = 0;
    std::vector<int> deps;  // earlier tasks
  };
  // Event-driven: work in half-picoseconds, so that a shared task (one
  // half-ps per ps) and a lone one (two per ps) both stay integral.
  std::vector<int64_t> run() const;
  std::vector<Task> tasks_;
};

}  // namespace codesim::workloads
