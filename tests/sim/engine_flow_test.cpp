// Flow-level engine: closed forms, max-min fairness, incremental solving
// against a from-scratch reference, grouping, merging, faults.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <vector>

#include "sim/flow_network.hpp"

using namespace codesim;
using namespace codesim::sim;

namespace {

// Selector from an explicit table: (src, dst) -> list of paths.
struct Table {
  std::map<std::pair<int, int>, std::vector<std::vector<LinkId>>> paths;
};
FunctionPathSelector table_selector(const Table& t) {
  return FunctionPathSelector([&t](const FlowRequest& r, const LinkState& s, RouteBuilder& out) {
    auto it = t.paths.find({r.src, r.dst});
    if (it == t.paths.end()) return;
    // First path whose links are all up (a re-route after a fault).
    for (const auto& p : it->second) {
      bool ok = true;
      for (LinkId l : p) ok = ok && s.up(l);
      if (ok) {
        out.add_path(p);
        return;
      }
    }
  });
}

struct Collected {
  std::vector<FlowDone> done;
};

double us(Time t) { return t.seconds() * 1e6; }

}  // namespace

// One flow: latency + size / bandwidth (CM02 timing; see flow_network.hpp).
TEST(EngineFlow, SingleFlowIsLatencyPlusSizeOverBandwidth) {
  LinkTable lt;
  lt.add(GBps(10), Microseconds(1));
  lt.add(GBps(40), Microseconds(2));
  Table t;
  t.paths[{0, 1}] = {{0, 1}};
  auto sel = table_selector(t);
  Scheduler s;
  NetworkParams p;
  p.message_overhead = Nanoseconds(500);
  FlowNetwork net(s, lt, sel, p);
  Collected run;
  net.on_done([&](std::span<const FlowDone> d) { run.done.insert(run.done.end(), d.begin(), d.end()); });
  net.start_flow(0, 1, MB(1));
  s.run();
  ASSERT_EQ(run.done.size(), 1u);
  // 0.5 us overhead + 3 us latency + 1e6 B / 10 GB/s = 100 us. Exact to 1 ps.
  EXPECT_EQ(run.done[0].end.ps(), Microseconds(103).ps() + Nanoseconds(500).ps());
}

// N flows on one link each get B/N; all finish at N * size / B.
TEST(EngineFlow, NFlowsShareOneLinkEqually) {
  LinkTable lt;
  lt.add(GBps(10), Duration::zero());
  Table t;
  for (int i = 0; i < 5; ++i) t.paths[{i, 99}] = {{0}};
  auto sel = table_selector(t);
  Scheduler s;
  NetworkParams p;
  p.group_identical = false;
  FlowNetwork net(s, lt, sel, p);
  Collected run;
  net.on_done([&](std::span<const FlowDone> d) { run.done.insert(run.done.end(), d.begin(), d.end()); });
  for (int i = 0; i < 5; ++i) net.start_flow(i, 99, MB(2));
  s.run(Time::zero());
  for (FlowId f = 0; f < 5; ++f) EXPECT_DOUBLE_EQ(net.rate_of(f), 2e9);
  s.run();
  ASSERT_EQ(run.done.size(), 5u);
  for (const auto& d : run.done) EXPECT_NEAR(us(d.end), 5 * 2e6 / 10e9 * 1e6, 1e-6);
}

// Parking lot (Bertsekas & Gallager Ex. 6.5): links A, B of 1 GB/s; flow 0
// uses A and B, flow 1 only A, flow 2 only B, flow 3 only B. B is the
// bottleneck at 1/3 for flows 0, 2, 3; flow 1 gets the rest of A: 2/3.
TEST(EngineFlow, MaxMinParkingLot) {
  LinkTable lt;
  lt.add(GBps(1), Duration::zero());
  lt.add(GBps(1), Duration::zero());
  Table t;
  t.paths[{0, 0}] = {{0, 1}};
  t.paths[{1, 1}] = {{0}};
  t.paths[{2, 2}] = {{1}};
  t.paths[{3, 3}] = {{1}};
  auto sel = FunctionPathSelector([&t](const FlowRequest& r, const LinkState&, RouteBuilder& out) {
    out.add_path(t.paths.at({r.src, r.src}).front());
  });
  Scheduler s;
  FlowNetwork net(s, lt, sel);
  for (int i = 0; i < 4; ++i) net.start_flow(i, i + 10, GB(1));
  s.run(Time::zero());
  EXPECT_NEAR(net.rate_of(0), 1e9 / 3, 1);
  EXPECT_NEAR(net.rate_of(1), 2e9 / 3, 1);
  EXPECT_NEAR(net.rate_of(2), 1e9 / 3, 1);
  EXPECT_NEAR(net.rate_of(3), 1e9 / 3, 1);
}

// Spraying: one flow split 50/50 over two paths of 10 and 4 GB/s is limited
// by the slow one: 0.5 r <= 4 -> r = 8 GB/s (an even split cannot use the
// spare 6 GB/s of the fast path; that is what even spraying means).
TEST(EngineFlow, SprayedFlowUsesCoefficients) {
  LinkTable lt;
  lt.add(GBps(10), Duration::zero());
  lt.add(GBps(4), Duration::zero());
  auto sel = FunctionPathSelector([](const FlowRequest&, const LinkState&, RouteBuilder& out) {
    const LinkId a = 0, b = 1;
    out.add_path(std::span(&a, 1), 0.5);
    out.add_path(std::span(&b, 1), 0.5);
  });
  Scheduler s;
  FlowNetwork net(s, lt, sel);
  net.start_flow(0, 1, GB(8));
  s.run(Time::zero());
  EXPECT_NEAR(net.rate_of(0), 8e9, 1);
  s.run();
  EXPECT_NEAR(s.now().seconds(), 1.0, 1e-9);
}

namespace {

// From-scratch progressive filling (the textbook algorithm, no heap, no
// components): the reference for the incremental engine.
std::vector<double> reference_rates(const std::vector<double>& cap,
                                    const std::vector<std::vector<LinkId>>& paths) {
  const size_t nf = paths.size();
  std::vector<double> rate(nf, 0), rem = cap;
  std::vector<bool> frozen(nf, false);
  size_t left = nf;
  while (left > 0) {
    double best = 1e300;
    for (size_t l = 0; l < cap.size(); ++l) {
      int n = 0;
      for (size_t f = 0; f < nf; ++f)
        if (!frozen[f] && std::count(paths[f].begin(), paths[f].end(), static_cast<LinkId>(l))) ++n;
      if (n > 0) best = std::min(best, rem[l] / n);
    }
    for (size_t l = 0; l < cap.size(); ++l) {
      int n = 0;
      for (size_t f = 0; f < nf; ++f)
        if (!frozen[f] && std::count(paths[f].begin(), paths[f].end(), static_cast<LinkId>(l))) ++n;
      if (n == 0 || rem[l] / n > best * (1 + 1e-12)) continue;
      for (size_t f = 0; f < nf; ++f) {
        if (frozen[f] || !std::count(paths[f].begin(), paths[f].end(), static_cast<LinkId>(l))) continue;
        frozen[f] = true;
        rate[f] = best;
        --left;
        for (LinkId l2 : paths[f]) rem[static_cast<size_t>(l2)] -= best;
      }
    }
  }
  return rate;
}

}  // namespace

// Random networks: after every event, the incremental engine's rates equal
// the from-scratch max-min rates of the flows alive at that instant.
TEST(EngineFlow, IncrementalSolveMatchesFromScratchReference) {
  for (int seed = 1; seed <= 5; ++seed) {
    std::mt19937_64 rng(static_cast<uint64_t>(seed));
    LinkTable lt;
    const int nl = 12;
    for (int l = 0; l < nl; ++l) lt.add(GBps(1 + static_cast<double>(rng() % 9)), Duration::zero());
    const int nf = 40;
    std::vector<std::vector<LinkId>> paths(nf);
    for (auto& p : paths) {
      const int hops = 1 + static_cast<int>(rng() % 4);
      while (static_cast<int>(p.size()) < hops) {
        const LinkId l = static_cast<LinkId>(rng() % nl);
        if (std::find(p.begin(), p.end(), l) == p.end()) p.push_back(l);
      }
    }
    auto sel = FunctionPathSelector([&paths](const FlowRequest& r, const LinkState&, RouteBuilder& out) {
      out.add_path(paths[static_cast<size_t>(r.src)]);
    });
    Scheduler s;
    NetworkParams np;
    np.group_identical = false;
    FlowNetwork net(s, lt, sel, np);
    std::vector<bool> alive(nf, false);
    int checks = 0;
    auto check = [&] {
      std::vector<std::vector<LinkId>> live;
      std::vector<int> ids;
      for (int f = 0; f < nf; ++f)
        if (alive[static_cast<size_t>(f)]) {
          live.push_back(paths[static_cast<size_t>(f)]);
          ids.push_back(f);
        }
      std::vector<double> cap;
      for (size_t l = 0; l < lt.size(); ++l) cap.push_back(lt.capacity[l].bytes_per_second());
      const auto ref = reference_rates(cap, live);
      for (size_t k = 0; k < ids.size(); ++k)
        EXPECT_NEAR(net.rate_of(static_cast<FlowId>(ids[k])), ref[k], ref[k] * 1e-9) << "seed " << seed;
      ++checks;
    };
    net.on_done([&](std::span<const FlowDone> d) {
      for (const auto& x : d) alive[x.id] = false;
    });
    // Staggered starts: flow f starts at f microseconds.
    for (int f = 0; f < nf; ++f)
      s.schedule(Time::zero() + Microseconds(f), Priority::kTasks, "start", [&, f] {
        net.start_flow(f, 0, MB(1 + static_cast<uint64_t>(f % 7)));
        alive[static_cast<size_t>(f)] = true;
      });
    // Check at the end of every instant (when no event is left at now()).
    while (s.step()) {
      const auto nt = s.next_time();
      if (!nt || *nt > s.now()) check();
    }
    EXPECT_GT(checks, nf);
  }
}

// Identical flows started together form one variable; results match the
// ungrouped run exactly.
TEST(EngineFlow, GroupingIdenticalFlowsChangesNothingButTheVariableCount) {
  auto run = [](bool group) {
    LinkTable lt;
    lt.add(GBps(10), Microseconds(1));
    lt.add(GBps(3), Microseconds(1));
    auto sel = FunctionPathSelector([](const FlowRequest& r, const LinkState&, RouteBuilder& out) {
      std::vector<LinkId> p = {0};
      if (r.src % 2) p.push_back(1);
      out.add_path(p);
    });
    Scheduler s;
    NetworkParams np;
    np.group_identical = group;
    FlowNetwork net(s, lt, sel, np);
    std::vector<int64_t> ends(20);
    net.on_done([&](std::span<const FlowDone> d) {
      for (const auto& x : d) ends[x.id] = x.end.ps();
    });
    for (int i = 0; i < 20; ++i) net.start_flow(i % 4, 9, MB(1 + static_cast<uint64_t>(i % 2)));
    s.run();
    return std::pair{ends, net.stats().variables};
  };
  auto [a, va] = run(true);
  auto [b, vb] = run(false);
  EXPECT_EQ(a, b);
  EXPECT_EQ(vb, 20u);
  EXPECT_EQ(va, 2u);  // (src even, 1 MB) and (src odd, 2 MB): i%4 and i%2 agree in parity
}

// Merging completions within q: a merged flow ends early by less than q, and
// the bytes it still had (< q x its rate) are not sent, so on one shared
// link the makespan is early by at most q per merged batch.
TEST(EngineFlow, MergeQuantumErrorIsBounded) {
  auto run = [](Duration q) {
    LinkTable lt;
    lt.add(GBps(10), Duration::zero());
    auto sel = FunctionPathSelector([](const FlowRequest&, const LinkState&, RouteBuilder& out) {
      const LinkId l = 0;
      out.add_path(std::span(&l, 1));
    });
    Scheduler s;
    NetworkParams np;
    np.merge_quantum = q;
    FlowNetwork net(s, lt, sel, np);
    for (int i = 0; i < 100; ++i) net.start_flow(i, 0, Bytes::from_count(1'000'000 + 100 * static_cast<uint64_t>(i)));
    s.run();
    return std::pair{s.now(), net.stats().events};
  };
  auto [exact, ev_exact] = run(Duration::zero());
  auto [merged, ev_merged] = run(Microseconds(1));
  EXPECT_LT(ev_merged, ev_exact / 2);
  EXPECT_LE(exact - merged, Microseconds(1) * static_cast<int64_t>(ev_merged));
  EXPECT_GE(exact - merged, Duration::zero());
  EXPECT_LT((exact - merged) / exact.since_start(), 1e-3);  // 10 ms makespan
}

// Faults: a failed link re-routes its flows (remaining bytes) when the
// selector has another path, else they are reported undelivered.
TEST(EngineFlow, FailedLinkReroutesOrReportsUndelivered) {
  LinkTable lt;
  lt.add(GBps(10), Duration::zero());  // 0: primary
  lt.add(GBps(5), Duration::zero());   // 1: backup
  lt.add(GBps(10), Duration::zero());  // 2: only path of flow 1
  Table t;
  t.paths[{0, 1}] = {{0}, {1}};
  t.paths[{2, 3}] = {{2}};
  auto sel = table_selector(t);
  Scheduler s;
  FlowNetwork net(s, lt, sel);
  std::vector<FlowDone> done;
  net.on_done([&](std::span<const FlowDone> d) { done.insert(done.end(), d.begin(), d.end()); });
  net.start_flow(0, 1, GB(10));  // alone on link 0: 1 s
  net.start_flow(2, 3, GB(10));
  const std::vector<LinkId> fail = {0, 2};
  s.schedule(Time::zero() + Milliseconds(500), Priority::kFaults, "fail", [&] { net.fail_links(fail); });
  s.run();
  ASSERT_EQ(done.size(), 2u);
  std::sort(done.begin(), done.end(), [](auto& a, auto& b) { return a.id < b.id; });
  // Flow 0: 5 GB in 0.5 s on link 0, then 5 GB at 5 GB/s on the backup: 1.5 s.
  EXPECT_TRUE(done[0].delivered);
  EXPECT_TRUE(done[0].rerouted);
  EXPECT_NEAR(done[0].end.seconds(), 1.5, 1e-9);
  // Flow 1 has no other path: reported undelivered at the failure.
  EXPECT_FALSE(done[1].delivered);
  EXPECT_NEAR(done[1].end.seconds(), 0.5, 1e-12);
  EXPECT_EQ(net.stats().undelivered, 1u);
}

TEST(EngineFlow, DegradedLinkSlowsItsFlowsAndSaysSo) {
  LinkTable lt;
  lt.add(GBps(10), Duration::zero());
  Table t;
  t.paths[{0, 1}] = {{0}};
  auto sel = table_selector(t);
  Scheduler s;
  FlowNetwork net(s, lt, sel);
  std::vector<FlowDone> done;
  net.on_done([&](std::span<const FlowDone> d) { done.insert(done.end(), d.begin(), d.end()); });
  net.start_flow(0, 1, GB(10));
  const std::vector<LinkId> l = {0};
  s.schedule(Time::zero() + Milliseconds(500), Priority::kFaults, "deg", [&] { net.degrade_links(l, 0.5); });
  s.run();
  ASSERT_EQ(done.size(), 1u);
  // 5 GB at 10 GB/s, then 5 GB at 5 GB/s: 1.5 s.
  EXPECT_NEAR(done[0].end.seconds(), 1.5, 1e-9);
  EXPECT_TRUE(done[0].degraded);
}

TEST(EngineFlow, NoRouteIsReportedNeverDropped) {
  LinkTable lt;
  lt.add(GBps(10), Duration::zero());
  auto sel = FunctionPathSelector([](const FlowRequest&, const LinkState&, RouteBuilder&) {});
  Scheduler s;
  FlowNetwork net(s, lt, sel);
  std::vector<FlowDone> done;
  net.on_done([&](std::span<const FlowDone> d) { done.insert(done.end(), d.begin(), d.end()); });
  net.start_flow(0, 1, MB(1), 42);
  s.run();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_FALSE(done[0].delivered);
  EXPECT_EQ(done[0].tag, 42u);
}
