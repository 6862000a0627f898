// File: sim/task_graph.hpp
//
// A graph of compute and communication tasks, and its replay on a
// FlowNetwork.
//
//  * A compute task occupies stream `stream` of GPU `gpu` for `duration`
//    (given by the caller; the models layer computes it).
//  * A communication task runs a CommPattern (sim/collectives.hpp): its
//    transfers start as their in-pattern dependencies arrive, and the task
//    ends when the last transfer has arrived. It is placed on (gpu, stream)
//    like any task, normally a communication stream, so that compute and
//    communication overlap as on a GPU (NCCL and DeepEP run on their own
//    streams).
//  * Streams are FIFO, as CUDA streams are: a task starts when it is at the
//    head of its stream, the previous task of that stream has ended, and all
//    of its dependencies have ended.
//
// Replay results: per-task start and end, the makespan, what faults did
// (tasks with a re-routed, degraded or undelivered flow), per-link bytes,
// and a Chrome/Perfetto trace (write_chrome_trace).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "sim/collectives.hpp"
#include "sim/event_queue.hpp"
#include "sim/flow_network.hpp"

namespace codesim::sim {

struct TaskGraph {
  enum class Kind { kCompute, kComm };
  struct Task {
    std::string name;
    Kind kind = Kind::kCompute;
    int gpu = 0;
    int stream = 0;
    Duration duration;  // compute tasks
    int pattern = -1;   // comm tasks: index into patterns
    std::vector<int> deps;
  };
  std::vector<Task> tasks;
  std::vector<CommPattern> patterns;

  int add_compute(std::string name, int gpu, int stream, Duration d, std::vector<int> deps = {});
  int add_comm(std::string name, int gpu, int stream, CommPattern p, std::vector<int> deps = {});
};

// A fault applied at `at`: the links fail (factor 0) or run at factor x
// their capacity (0 < factor < 1), or are restored (factor 1).
struct LinkFault {
  Time at;
  std::vector<LinkId> links;
  double factor = 0;
  std::string what;  // "switch 17", "plane 3", ... for the report
};

struct TaskTiming {
  Time start;
  Time end;
  bool started = false;
  bool finished = false;
  uint64_t flows = 0;
  uint64_t undelivered = 0;
  uint64_t rerouted = 0;
  uint64_t degraded = 0;  // flows that crossed a degraded or failed link
};

struct ReplayResult {
  std::vector<TaskTiming> tasks;
  Time makespan;
  NetworkStats network;
  uint64_t undelivered_flows = 0;
  uint64_t rerouted_flows = 0;
  uint64_t degraded_flows = 0;
  std::vector<std::string> faults_applied;
  // Tasks that could not finish (an undelivered transfer, or a dependency
  // on such a task), by index.
  std::vector<int> unfinished;
  std::vector<double> link_bytes;  // bytes carried per directed link
};

struct ReplayOptions {
  NetworkParams network;
};

// Replays `graph` on a fresh scheduler and network over `links`, routed by
// `selector`. Pure with respect to its inputs: same inputs, same result.
ReplayResult replay(const TaskGraph& graph, const LinkTable& links, PathSelector& selector,
                    const ReplayOptions& options = {}, const std::vector<LinkFault>& faults = {},
                    std::vector<UtilisationSample>* utilisation = nullptr);

// Chrome trace-event JSON (opens in ui.perfetto.dev and chrome://tracing):
// one process per GPU, one thread per stream, an "X" slice per task, and
// counter tracks ("C") of the `max_links` busiest links' utilisation (0..1)
// from `utilisation` samples.
void write_chrome_trace(std::ostream& os, const TaskGraph& graph, const ReplayResult& result,
                        const LinkTable& links, const std::vector<UtilisationSample>& utilisation,
                        int max_links = 16);

}  // namespace codesim::sim
