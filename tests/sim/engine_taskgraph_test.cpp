// Task-graph replay: streams, dependencies, compute/communication overlap,
// and the Chrome trace.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>

#include "sim/collectives.hpp"
#include "sim/task_graph.hpp"

using namespace codesim;
using namespace codesim::sim;

namespace {
// GPUs 0 and 1, one 10 GB/s link each way, 1 us latency.
struct TwoGpus {
  LinkTable links;
  FunctionPathSelector sel{[](const FlowRequest& r, const LinkState&, RouteBuilder& out) {
    const LinkId l = r.src == 0 ? 0 : 1;
    out.add_path(std::span(&l, 1));
  }};
  TwoGpus() {
    links.add(GBps(10), Microseconds(1), "0>1");
    links.add(GBps(10), Microseconds(1), "1>0");
  }
};
}  // namespace

// compute A (100 us) on stream 0, then a send of 1 MB (1 + 100 us) on the
// comm stream that depends on A, while compute B (150 us) follows A on
// stream 0: B overlaps the send. C depends on both: starts at 201 us.
TEST(EngineTaskGraph, ComputeAndCommunicationOverlapOnStreams) {
  TwoGpus net;
  TaskGraph g;
  const int a = g.add_compute("A", 0, 0, Microseconds(100));
  const int s = g.add_comm("send", 0, 1, send_recv(0, 1, MB(1)), {a});
  const int b = g.add_compute("B", 0, 0, Microseconds(150));
  const int c = g.add_compute("C", 0, 0, Microseconds(10), {s, b});
  const auto r = replay(g, net.links, net.sel);
  EXPECT_EQ(r.tasks[static_cast<size_t>(a)].end, Time::zero() + Microseconds(100));
  EXPECT_EQ(r.tasks[static_cast<size_t>(s)].start, Time::zero() + Microseconds(100));
  EXPECT_EQ(r.tasks[static_cast<size_t>(s)].end, Time::zero() + Microseconds(201));
  EXPECT_EQ(r.tasks[static_cast<size_t>(b)].end, Time::zero() + Microseconds(250));  // stream order: after A
  EXPECT_EQ(r.tasks[static_cast<size_t>(c)].start, Time::zero() + Microseconds(250));
  EXPECT_EQ(r.makespan, Time::zero() + Microseconds(260));
}

// Two comm tasks on the same stream run one after the other; on different
// streams they share the link (max-min) and both end at 2 x 100 us + 1 us.
TEST(EngineTaskGraph, StreamsSerialiseOrShare) {
  TwoGpus net;
  TaskGraph same;
  same.add_comm("x", 0, 1, send_recv(0, 1, MB(1)));
  same.add_comm("y", 0, 1, send_recv(0, 1, MB(1)));
  EXPECT_EQ(replay(same, net.links, net.sel).makespan, Time::zero() + Microseconds(202));
  TaskGraph diff;
  diff.add_comm("x", 0, 1, send_recv(0, 1, MB(1)));
  diff.add_comm("y", 0, 2, send_recv(0, 1, MB(1)));
  EXPECT_EQ(replay(diff, net.links, net.sel).makespan, Time::zero() + Microseconds(201));
}

TEST(EngineTaskGraph, ChromeTraceIsValidJsonWithSlicesAndCounters) {
  TwoGpus net;
  TaskGraph g;
  g.add_compute("A", 0, 0, Microseconds(5));
  g.add_comm("send", 0, 1, send_recv(0, 1, MB(1)));
  std::vector<UtilisationSample> util;
  const auto r = replay(g, net.links, net.sel, {}, {}, &util);
  std::ostringstream os;
  write_chrome_trace(os, g, r, net.links, util);
  const auto j = nlohmann::json::parse(os.str());
  int slices = 0, counters = 0;
  for (const auto& e : j["traceEvents"]) {
    if (e["ph"] == "X") ++slices;
    if (e["ph"] == "C") ++counters;
  }
  EXPECT_EQ(slices, 2);
  EXPECT_GE(counters, 2);  // link 0 goes to 100% and back to 0
}

// Ring all-reduce closed form on a hand-built ring of N GPUs (link i: GPU i
// -> i+1, B = 10 GB/s, alpha = 2 us): 2(N-1) (alpha + S / (N B)).
TEST(EngineTaskGraph, RingAllReduceClosedForm) {
  const int n = 6;
  LinkTable links;
  for (int i = 0; i < n; ++i) links.add(GBps(10), Microseconds(2));
  FunctionPathSelector sel([](const FlowRequest& r, const LinkState&, RouteBuilder& out) {
    const LinkId l = r.src;  // only i -> i+1 is used by the ring
    out.add_path(std::span(&l, 1));
  });
  TaskGraph g;
  const Bytes s = MB(60);
  g.add_comm("ar", 0, 1, ring_allreduce(iota_group(n), s));
  const auto r = replay(g, links, sel);
  const double want = 2.0 * (n - 1) * (2e-6 + s.as_double() / n / 10e9);
  EXPECT_NEAR(r.makespan.seconds(), want, want * 1e-9);
}
