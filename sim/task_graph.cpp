#include "sim/task_graph.hpp"

#include "sim/detail/stream_order.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>

namespace codesim::sim {

int TaskGraph::add_compute(std::string name, int gpu, int stream, Duration d, std::vector<int> deps) {
  tasks.push_back(Task{std::move(name), Kind::kCompute, gpu, stream, d, -1, std::move(deps)});
  return static_cast<int>(tasks.size() - 1);
}

int TaskGraph::add_comm(std::string name, int gpu, int stream, CommPattern p, std::vector<int> deps) {
  patterns.push_back(std::move(p));
  tasks.push_back(Task{std::move(name), Kind::kComm, gpu, stream, Duration::zero(),
                       static_cast<int>(patterns.size() - 1), std::move(deps)});
  return static_cast<int>(tasks.size() - 1);
}

namespace {

struct PatternRun {
  std::vector<uint32_t> waiting;  // unmet deps per transfer (empty: no deps)
  std::vector<uint32_t> out_begin, out;  // dependents, CSR
  std::vector<uint8_t> failed;
  uint64_t accounted = 0;
};

class Replayer {
 public:
  Replayer(const TaskGraph& g, FlowNetwork& net, Scheduler& sched, ReplayResult& r)
      : g_(g), net_(net), sched_(sched), r_(r) {
    const size_t n = g.tasks.size();
    r_.tasks.assign(n, TaskTiming{});
    runs_.resize(g.patterns.size());
    net_.on_done([this](std::span<const FlowDone> done) { on_flows(done); });
  }

  void start() {
    order_.start_all([this](int t) { try_start(t); });
  }

 private:
  void try_start(int t) {
    const size_t ti = static_cast<size_t>(t);
    if (!order_.claim(t)) return;
    r_.tasks[ti].started = true;
    r_.tasks[ti].start = sched_.now();
    const auto& task = g_.tasks[ti];
    if (task.kind == TaskGraph::Kind::kCompute) {
      sched_.schedule_in(task.duration, Priority::kTasks, "task.compute_end", [this, t] { end_task(t); });
      return;
    }
    start_comm(t);
  }

  void start_comm(int t) {
    const auto& task = g_.tasks[static_cast<size_t>(t)];
    const CommPattern& p = g_.patterns[static_cast<size_t>(task.pattern)];
    PatternRun& run = runs_[static_cast<size_t>(task.pattern)];
    const size_t n = p.transfers.size();
    if (n == 0) {
      sched_.schedule_in(Duration::zero(), Priority::kTasks, "task.empty_comm_end", [this, t] { end_task(t); });
      return;
    }
    if (!p.dep_begin.empty()) {
      run.waiting.resize(n);
      run.out_begin.assign(n + 1, 0);
      for (size_t i = 0; i < n; ++i) {
        run.waiting[i] = static_cast<uint32_t>(p.deps_of(i).size());
        for (uint32_t d : p.deps_of(i)) run.out_begin[d + 1]++;
      }
      for (size_t i = 0; i < n; ++i) run.out_begin[i + 1] += run.out_begin[i];
      run.out.resize(p.deps.size());
      std::vector<uint32_t> fill(run.out_begin.begin(), run.out_begin.end() - 1);
      for (size_t i = 0; i < n; ++i)
        for (uint32_t d : p.deps_of(i)) run.out[fill[d]++] = static_cast<uint32_t>(i);
      run.failed.assign(n, 0);
    }
    for (size_t i = 0; i < n; ++i)
      if (p.dep_begin.empty() || run.waiting[i] == 0) launch(t, p, i);
  }

  void launch(int t, const CommPattern& p, size_t i) {
    const Transfer& tr = p.transfers[i];
    r_.tasks[static_cast<size_t>(t)].flows++;
    net_.start_flow(tr.src, tr.dst, tr.size, (static_cast<uint64_t>(t) << 32) | i);
  }

  // A transfer is accounted for (arrived or failed); release its dependents.
  void account(int t, size_t i, bool ok) {
    const auto& task = g_.tasks[static_cast<size_t>(t)];
    const CommPattern& p = g_.patterns[static_cast<size_t>(task.pattern)];
    PatternRun& run = runs_[static_cast<size_t>(task.pattern)];
    if (p.dep_begin.empty()) {  // no dependencies: just count (hot path, once per flow)
      ++run.accounted;
      if (!ok) r_.tasks[static_cast<size_t>(t)].undelivered++;
      if (run.accounted == p.transfers.size()) end_task(t);
      return;
    }
    std::vector<std::pair<size_t, bool>> work{{i, ok}};
    while (!work.empty()) {
      auto [x, good] = work.back();
      work.pop_back();
      ++run.accounted;
      if (!good) r_.tasks[static_cast<size_t>(t)].undelivered++;
      if (p.dep_begin.empty()) continue;
      for (uint32_t k = run.out_begin[x]; k < run.out_begin[x + 1]; ++k) {
        const uint32_t y = run.out[k];
        if (!good) run.failed[y] = 1;
        if (--run.waiting[y] == 0) {
          if (run.failed[y]) work.emplace_back(y, false);  // never sent: its input is missing
          else launch(t, p, y);
        }
      }
    }
    if (run.accounted == p.transfers.size()) end_task(t);
  }

  void on_flows(std::span<const FlowDone> done) {
    for (const FlowDone& d : done) {
      const int t = static_cast<int>(d.tag >> 32);
      const size_t i = static_cast<size_t>(d.tag & 0xffffffffu);
      TaskTiming& tt = r_.tasks[static_cast<size_t>(t)];
      if (d.rerouted) tt.rerouted++;
      if (d.degraded) tt.degraded++;
      account(t, i, d.delivered);
    }
  }

  void end_task(int t) {
    const size_t ti = static_cast<size_t>(t);
    r_.tasks[ti].finished = true;
    r_.tasks[ti].end = sched_.now();
    order_.finish(t, [this](int u) { try_start(u); });
  }

  const TaskGraph& g_;
  FlowNetwork& net_;
  Scheduler& sched_;
  ReplayResult& r_;
  detail::StreamOrder order_{g_};
  std::vector<PatternRun> runs_;
};

}  // namespace

ReplayResult replay(const TaskGraph& graph, const LinkTable& links, PathSelector& selector,
                    const ReplayOptions& options, const std::vector<LinkFault>& faults,
                    std::vector<UtilisationSample>* utilisation) {
  Scheduler sched;
  NetworkParams np = options.network;
  if (utilisation) np.record_utilisation = true;
  FlowNetwork net(sched, links, selector, np);
  size_t total = 0;
  for (const auto& p : graph.patterns) total += p.transfers.size();
  net.reserve(total, 6);
  ReplayResult r;
  Replayer rp(graph, net, sched, r);
  for (const LinkFault& f : faults) {
    sched.schedule(f.at, Priority::kFaults, "net.fault", [&net, &r, &f] {
      if (f.factor <= 0) net.fail_links(f.links);
      else net.degrade_links(f.links, f.factor);
      r.faults_applied.push_back(to_string(f.at.since_start()) + ": " +
                                 (f.what.empty() ? std::string("links") : f.what) +
                                 (f.factor <= 0 ? " failed" : " at " + std::to_string(f.factor) + "x capacity"));
    });
  }
  rp.start();
  sched.run();
  for (size_t t = 0; t < r.tasks.size(); ++t) {
    const TaskTiming& tt = r.tasks[t];
    if (tt.finished) r.makespan = std::max(r.makespan, tt.end);
    if (!tt.finished || tt.undelivered > 0) r.unfinished.push_back(static_cast<int>(t));
    r.undelivered_flows += tt.undelivered;
    r.rerouted_flows += tt.rerouted;
    r.degraded_flows += tt.degraded;
  }
  r.network = net.stats();
  r.link_bytes = net.link_bytes();
  if (utilisation) *utilisation = net.utilisation();
  return r;
}

void write_chrome_trace(std::ostream& os, const TaskGraph& graph, const ReplayResult& result,
                        const LinkTable& links, const std::vector<UtilisationSample>& utilisation,
                        int max_links) {
  using nlohmann::json;
  json events = json::array();
  std::map<int, bool> gpus;
  for (size_t t = 0; t < graph.tasks.size(); ++t) {
    const auto& task = graph.tasks[t];
    const TaskTiming& tt = result.tasks[t];
    if (!tt.started) continue;
    gpus[task.gpu] = true;
    const Time end = tt.finished ? tt.end : result.makespan;
    json ev = {{"name", task.name},
               {"cat", task.kind == TaskGraph::Kind::kCompute ? "compute" : "comm"},
               {"ph", "X"},
               {"ts", tt.start.seconds() * 1e6},
               {"dur", (end - tt.start).seconds() * 1e6},
               {"pid", task.gpu},
               {"tid", task.stream}};
    if (task.kind == TaskGraph::Kind::kComm)
      ev["args"] = {{"flows", tt.flows}, {"undelivered", tt.undelivered},
                    {"rerouted", tt.rerouted}, {"degraded", tt.degraded}};
    events.push_back(std::move(ev));
  }
  for (const auto& [g, _] : gpus)
    events.push_back({{"name", "process_name"}, {"ph", "M"}, {"pid", g},
                      {"args", {{"name", "GPU " + std::to_string(g)}}}});
  // Busiest links as counter tracks.
  std::vector<LinkId> order;
  for (size_t l = 0; l < result.link_bytes.size(); ++l)
    if (result.link_bytes[l] > 0) order.push_back(static_cast<LinkId>(l));
  std::sort(order.begin(), order.end(), [&](LinkId a, LinkId b) {
    return result.link_bytes[static_cast<size_t>(a)] != result.link_bytes[static_cast<size_t>(b)]
               ? result.link_bytes[static_cast<size_t>(a)] > result.link_bytes[static_cast<size_t>(b)]
               : a < b;
  });
  if (order.size() > static_cast<size_t>(max_links)) order.resize(static_cast<size_t>(max_links));
  std::map<LinkId, std::string> shown;
  for (LinkId l : order) {
    const std::string& nm = links.name[static_cast<size_t>(l)];
    shown[l] = "link " + std::to_string(l) + (nm.empty() ? "" : " " + nm);
  }
  constexpr int kNetPid = 1 << 30;
  events.push_back({{"name", "process_name"}, {"ph", "M"}, {"pid", kNetPid},
                    {"args", {{"name", "network links (utilisation)"}}}});
  for (const auto& s : utilisation) {
    auto it = shown.find(s.link);
    if (it == shown.end()) continue;
    const double cap = links.capacity[static_cast<size_t>(s.link)].bytes_per_second();
    events.push_back({{"name", it->second}, {"ph", "C"}, {"ts", static_cast<double>(s.time_ps) * 1e-6},
                      {"pid", kNetPid}, {"args", {{"utilisation", cap > 0 ? s.bytes_per_second / cap : 0.0}}}});
  }
  json doc = {{"traceEvents", std::move(events)}, {"displayTimeUnit", "ns"}};
  os << doc.dump() << "\n";
}

}  // namespace codesim::sim
