#include "sim/simgrid_backend.hpp"

#include "sim/detail/stream_order.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <map>
#include <unordered_map>
#include <vector>

#ifdef CODESIM_WITH_SIMGRID
#include <simgrid/kernel/routing/NetPoint.hpp>
#include <simgrid/kernel/routing/NetZoneImpl.hpp>
#include <simgrid/s4u.hpp>
#endif

namespace codesim::sim {

#ifndef CODESIM_WITH_SIMGRID

bool simgrid_available() { return false; }
bool replay_simgrid(const TaskGraph&, const LinkTable&, PathSelector&, ReplayResult&, std::string& error) {
  error = "codesim was built without SimGrid (CODESIM_WITH_SIMGRID=OFF)";
  return false;
}

#else

namespace sg4 = simgrid::s4u;
namespace sgr = simgrid::kernel::routing;

bool simgrid_available() { return true; }

namespace {

// The zone: hosts 0..n-1 are the endpoints; routes are handed over per
// transfer through a FIFO per (src, dst), filled just before the comm is
// posted and consumed when SimGrid starts it.
class CodesimZone : public sgr::NetZoneImpl {
 public:
  explicit CodesimZone(const std::string& name) : sgr::NetZoneImpl(name) {}
  std::vector<sg4::Link*> links;
  std::vector<double> latency;
  std::unordered_map<uint64_t, std::deque<std::vector<LinkId>>> queued;

  static uint64_t key(unsigned long a, unsigned long b) { return (static_cast<uint64_t>(a) << 32) | b; }

  void get_local_route(const sgr::NetPoint* src, const sgr::NetPoint* dst, sgr::Route* into,
                       double* lat) override {
    auto it = queued.find(key(src->id(), dst->id()));
    xbt_assert(it != queued.end() && !it->second.empty(), "codesim: no route queued for %lu -> %lu",
               src->id(), dst->id());
    for (LinkId l : it->second.front()) {
      into->link_list_.push_back(links[static_cast<size_t>(l)]->get_impl());
      if (lat) *lat += latency[static_cast<size_t>(l)];
    }
    it->second.pop_front();
  }
};

int payload_tag = 0;

class SgReplayer {
 public:
  SgReplayer(const TaskGraph& g, const LinkTable& lt, PathSelector& sel, CodesimZone& zone,
             std::vector<sg4::Host*>& hosts, ReplayResult& r)
      : g_(g), sel_(sel), zone_(zone), hosts_(hosts), r_(r) {
    assigned_.assign(lt.size(), 0);
    up_.assign(lt.size(), 1);
    for (const auto& c : lt.capacity) cap_.push_back(c.bytes_per_second());
    const size_t n = g.tasks.size();
    r_.tasks.assign(n, TaskTiming{});
    waiting_.resize(g.patterns.size());
    out_begin_.resize(g.patterns.size());
    out_.resize(g.patterns.size());
    failed_.resize(g.patterns.size());
    accounted_.assign(g.patterns.size(), 0);
  }

  void start() {
    order_.start_all([this](int t) { try_start(t); });
  }

 private:
  Time now() const { return Time::zero() + Duration::from_seconds(sg4::Engine::get_clock()); }
  sg4::Host* host(int gpu) { return hosts_[static_cast<size_t>(gpu)]; }

  void try_start(int t) {
    const size_t ti = static_cast<size_t>(t);
    if (!order_.claim(t)) return;
    r_.tasks[ti].started = true;
    r_.tasks[ti].start = now();
    const auto& task = g_.tasks[ti];
    if (task.kind == TaskGraph::Kind::kCompute) {
      const double d = task.duration.seconds();
      sg4::Actor::create("compute", host(std::max(task.gpu, 0)), [this, t, d] {
        sg4::this_actor::sleep_for(d);
        end_task(t);
      });
      return;
    }
    const size_t p = static_cast<size_t>(task.pattern);
    const CommPattern& pat = g_.patterns[p];
    const size_t n = pat.transfers.size();
    if (n == 0) {
      end_task(t);
      return;
    }
    if (!pat.dep_begin.empty()) {
      waiting_[p].resize(n);
      out_begin_[p].assign(n + 1, 0);
      for (size_t i = 0; i < n; ++i) {
        waiting_[p][i] = static_cast<uint32_t>(pat.deps_of(i).size());
        for (uint32_t d : pat.deps_of(i)) out_begin_[p][d + 1]++;
      }
      for (size_t i = 0; i < n; ++i) out_begin_[p][i + 1] += out_begin_[p][i];
      out_[p].resize(pat.deps.size());
      std::vector<uint32_t> fill(out_begin_[p].begin(), out_begin_[p].end() - 1);
      for (size_t i = 0; i < n; ++i)
        for (uint32_t d : pat.deps_of(i)) out_[p][fill[d]++] = static_cast<uint32_t>(i);
      failed_[p].assign(n, 0);
    }
    for (size_t i = 0; i < n; ++i)
      if (pat.dep_begin.empty() || waiting_[p][i] == 0) launch(t, i);
  }

  void launch(int t, size_t i) {
    const CommPattern& pat = g_.patterns[static_cast<size_t>(g_.tasks[static_cast<size_t>(t)].pattern)];
    const Transfer& tr = pat.transfers[i];
    r_.tasks[static_cast<size_t>(t)].flows++;
    RouteBuilder rb;
    FlowRequest req{tr.src, tr.dst, tr.size, (static_cast<uint64_t>(t) << 32) | i, next_id_++, 0};
    sel_.select(req, LinkState(assigned_, up_, cap_), rb);
    if (rb.empty()) {
      account(t, i, false);
      return;
    }
    // One comm per path (bytes by weight); the transfer ends with the last.
    auto left = std::make_shared<int>(0);
    std::vector<std::pair<std::vector<LinkId>, uint64_t>> parts;
    for (size_t k = 0; k < rb.num_paths(); ++k) {
      const auto p = rb.path(k);
      const uint64_t b = static_cast<uint64_t>(tr.size.as_double() * rb.weight(k) + 0.5);
      parts.emplace_back(std::vector<LinkId>(p.begin(), p.end()), b);
    }
    for (auto& [path, bytes] : parts) {
      for (LinkId l : path) assigned_[static_cast<size_t>(l)]++;
      if (path.empty() || tr.src == tr.dst) continue;  // nothing to move
      ++*left;
    }
    if (*left == 0) {
      for (auto& [path, bytes] : parts)
        for (LinkId l : path) assigned_[static_cast<size_t>(l)]--;
      account(t, i, true);
      return;
    }
    for (auto& [path, bytes] : parts) {
      if (path.empty() || tr.src == tr.dst) continue;
      zone_.queued[CodesimZone::key(static_cast<unsigned long>(tr.src), static_cast<unsigned long>(tr.dst))]
          .push_back(path);
      sg4::Mailbox* mb = sg4::Mailbox::by_name("m" + std::to_string(mailbox_seq_++));
      const uint64_t sz = bytes;
      sg4::Actor::create("send", host(tr.src), [mb, sz] { mb->put_async(&payload_tag, sz)->wait(); });
      sg4::Actor::create("recv", host(tr.dst), [this, mb, t, i, left, path] {
        void* data = nullptr;
        mb->get_async(&data)->wait();
        for (LinkId l : path) assigned_[static_cast<size_t>(l)]--;
        if (--*left == 0) account(t, i, true);
      });
    }
  }

  void account(int t, size_t i, bool ok) {
    const size_t p = static_cast<size_t>(g_.tasks[static_cast<size_t>(t)].pattern);
    const CommPattern& pat = g_.patterns[p];
    std::vector<std::pair<size_t, bool>> work{{i, ok}};
    while (!work.empty()) {
      auto [x, good] = work.back();
      work.pop_back();
      ++accounted_[p];
      if (!good) r_.tasks[static_cast<size_t>(t)].undelivered++;
      if (pat.dep_begin.empty()) continue;
      for (uint32_t k = out_begin_[p][x]; k < out_begin_[p][x + 1]; ++k) {
        const uint32_t y = out_[p][k];
        if (!good) failed_[p][y] = 1;
        if (--waiting_[p][y] == 0) {
          if (failed_[p][y]) work.emplace_back(y, false);
          else launch(t, y);
        }
      }
    }
    if (accounted_[p] == pat.transfers.size()) end_task(t);
  }

  void end_task(int t) {
    const size_t ti = static_cast<size_t>(t);
    r_.tasks[ti].finished = true;
    r_.tasks[ti].end = now();
    order_.finish(t, [this](int u) { try_start(u); });
  }

  const TaskGraph& g_;
  PathSelector& sel_;
  CodesimZone& zone_;
  std::vector<sg4::Host*>& hosts_;
  ReplayResult& r_;
  std::vector<int64_t> assigned_;
  std::vector<uint8_t> up_;
  std::vector<double> cap_;
  detail::StreamOrder order_{g_};
  std::vector<std::vector<uint32_t>> waiting_, out_begin_, out_;
  std::vector<std::vector<uint8_t>> failed_;
  std::vector<uint64_t> accounted_;
  FlowId next_id_ = 0;
  uint64_t mailbox_seq_ = 0;
};

// Runs in the child process; writes the results to fd.
int child_main(const TaskGraph& graph, const LinkTable& links, PathSelector& selector, int fd) {
  std::vector<std::string> args = {"codesim-simgrid",
                                   "--cfg=network/model:CM02",
                                   "--cfg=network/crosstraffic:0",
                                   "--cfg=network/TCP-gamma:0",
                                   "--cfg=contexts/guard-size:0",
                                   "--cfg=contexts/stack-size:64",
                                   "--log=root.thres:critical"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  int argc = static_cast<int>(argv.size());
  sg4::Engine engine(&argc, argv.data());
  auto* zone = new CodesimZone("codesim");
  int max_gpu = 0;
  for (const auto& t : graph.tasks) max_gpu = std::max(max_gpu, t.gpu);
  for (const auto& p : graph.patterns)
    for (const auto& tr : p.transfers) max_gpu = std::max({max_gpu, tr.src, tr.dst});
  std::vector<sg4::Host*> hosts;
  for (int h = 0; h <= max_gpu; ++h) hosts.push_back(zone->create_host("gpu" + std::to_string(h), {1e12})->seal());
  for (size_t l = 0; l < links.size(); ++l) {
    sg4::Link* link = zone->create_link("l" + std::to_string(l), {links.capacity[l].bytes_per_second()});
    link->set_latency(links.latency[l].seconds());
    link->seal();
    zone->links.push_back(link);
    zone->latency.push_back(links.latency[l].seconds());
  }
  zone->seal();

  ReplayResult r;
  SgReplayer rp(graph, links, selector, *zone, hosts, r);
  sg4::Actor::create("boot", hosts[0], [&rp] { rp.start(); });
  engine.run();
  for (const auto& t : r.tasks) r.makespan = std::max(r.makespan, t.end);

  std::vector<int64_t> buf;
  buf.push_back(static_cast<int64_t>(r.tasks.size()));
  buf.push_back(r.makespan.ps());
  for (const auto& t : r.tasks) {
    buf.push_back(t.start.ps());
    buf.push_back(t.end.ps());
    buf.push_back((t.started ? 1 : 0) | (t.finished ? 2 : 0));
    buf.push_back(static_cast<int64_t>(t.flows));
    buf.push_back(static_cast<int64_t>(t.undelivered));
  }
  const char* p = reinterpret_cast<const char*>(buf.data());
  size_t left = buf.size() * sizeof(int64_t);
  while (left > 0) {
    const ssize_t w = ::write(fd, p, left);
    if (w <= 0) return 3;
    p += w;
    left -= static_cast<size_t>(w);
  }
  return 0;
}

}  // namespace

bool replay_simgrid(const TaskGraph& graph, const LinkTable& links, PathSelector& selector,
                    ReplayResult& out, std::string& error) {
  int fds[2];
  if (::pipe(fds) != 0) {
    error = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    error = std::string("fork: ") + std::strerror(errno);
    return false;
  }
  if (pid == 0) {
    ::close(fds[0]);
    const int rc = child_main(graph, links, selector, fds[1]);
    ::close(fds[1]);
    ::_exit(rc);
  }
  ::close(fds[1]);
  std::vector<char> bytes;
  char chunk[1 << 16];
  while (true) {
    const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
    if (n <= 0) break;
    bytes.insert(bytes.end(), chunk, chunk + n);
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    error = "the SimGrid child process failed (status " + std::to_string(status) + ")";
    return false;
  }
  std::vector<int64_t> buf(bytes.size() / sizeof(int64_t));
  std::memcpy(buf.data(), bytes.data(), buf.size() * sizeof(int64_t));
  if (buf.size() < 2 || buf.size() != 2 + 5 * static_cast<size_t>(buf[0])) {
    error = "the SimGrid child process returned a truncated result";
    return false;
  }
  out = ReplayResult{};
  out.makespan = Time::from_ps(buf[1]);
  out.tasks.resize(static_cast<size_t>(buf[0]));
  for (size_t t = 0; t < out.tasks.size(); ++t) {
    const int64_t* x = &buf[2 + 5 * t];
    out.tasks[t].start = Time::from_ps(x[0]);
    out.tasks[t].end = Time::from_ps(x[1]);
    out.tasks[t].started = x[2] & 1;
    out.tasks[t].finished = x[2] & 2;
    out.tasks[t].flows = static_cast<uint64_t>(x[3]);
    out.tasks[t].undelivered = static_cast<uint64_t>(x[4]);
    out.undelivered_flows += out.tasks[t].undelivered;
  }
  return true;
}

#endif

}  // namespace codesim::sim
