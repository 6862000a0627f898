// File: sim/flow_network.hpp
//
// Flow-level network model. The network is a table of directed links, each
// with a capacity (bytes/s, per direction: a full-duplex cable is two links)
// and a latency. A flow moves `size` bytes from one endpoint to another
// along a route chosen by a PathSelector when the flow starts. A route is one
// path or several weighted paths (packet spraying): a flow of rate r puts
// r * coef(l) on each link l, coef(l) = sum of the weights of its paths that
// cross l.
//
// Rates are max-min fair (progressive filling, Bertsekas & Gallager, Data
// Networks, 2nd ed., Sec. 6.5.2): raise every unfrozen flow's rate equally
// until a link saturates, freeze the flows on it, repeat. With equal path
// latencies this is exactly SimGrid's CM02 model without cross-traffic
// (measured to 1e-9 in /work/shared/notes/simgrid-3.32.md; re-checked by
// tests/sim/engine_simgrid_test.cpp).
//
// Timing of one flow (CM02-like, so that both engines agree):
//     activation = start + message_overhead + max over paths of sum(latency)
//     end        = activation + time to move size bytes at the fair rates
// so a lone flow takes overhead + latency + size / bottleneck bandwidth.
//
// Speed (the levers, all on by default; see bench/net_bench.cpp):
//  * incremental: when flows start or end, only flows that can change are
//    re-solved. Progressive filling freezes flows in increasing rate order,
//    so removing a flow of rate r leaves every flow of rate < r untouched
//    (the filling below level r is the same with or without it), and adding
//    a flow whose rate is at least r_lb = min over its links of
//    capacity / (flows on the link) leaves every flow below r_lb untouched.
//    The re-solve takes the flows reachable from the touched links through
//    flows at or above that threshold, with the capacity the frozen ones
//    leave (exact, not an approximation; checked against a from-scratch
//    solver in tests/sim/engine_flow_test.cpp). Faults use threshold 0;
//  * lazy heap of link fair shares: shares only grow during filling, so a
//    popped entry is either current or re-pushed once with its new value;
//  * grouping: flows started at the same instant with the same route and
//    size share one variable with a multiplicity (they stay identical);
//  * completion merging (NetworkParams::merge_quantum = q): every flow whose
//    completion falls in [t, t+q] ends at t, the earliest of them. Each such
//    flow ends early by less than q and frees its bandwidth early by less
//    than q, so every reported time is early by at most q per merged batch
//    on its dependency chain (in the 131K-flow ECMP case: < 0.1% at 1 us,
//    measured in tests/sim/engine_flow_test.cpp). q = 0 is exact;
//  * memory layout (none of these change a result, bit for bit): at 4M
//    flow groups the solve is bound by memory latency, so the fields each
//    pass reads share one 64-byte line per group (Var), a 1-bit-per-group
//    mark replaces per-group stamps for the many repeat visits (one per
//    link a group crosses), the passes prefetch a few groups ahead, and
//    link lists are purged only on links where a group ended.
//
// Flowlets (NetworkParams::flowlet_gap, off by default): under an adaptive
// selector a flow may move to a less loaded path every gap of sending time;
// see NetworkParams. tests/sim/engine_flowlet_test.cpp has closed forms.
//
// Faults: links can be failed or degraded at run time. Flows crossing a
// failed link are re-routed (remaining bytes, from the failure instant) when
// the selector allows it, else reported as undelivered. Nothing is dropped
// silently: every started flow is reported exactly once through the
// completion callback, delivered or not, with flags saying whether a fault
// touched it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "sim/event_queue.hpp"
#include "sim/units.hpp"

namespace codesim::sim {

using LinkId = int32_t;
using FlowId = uint32_t;

// Directed links. Ids are dense, 0..size()-1.
struct LinkTable {
  std::vector<Bandwidth> capacity;  // per direction
  std::vector<Duration> latency;    // per hop
  std::vector<std::string> name;    // for traces; may be empty strings

  LinkId add(Bandwidth bw, Duration lat, std::string link_name = {}) {
    capacity.push_back(bw);
    latency.push_back(lat);
    name.push_back(std::move(link_name));
    return static_cast<LinkId>(capacity.size() - 1);
  }
  size_t size() const { return capacity.size(); }
};

// The route a selector writes: paths (lists of directed links, in order)
// with weights that sum to 1. An empty route means "no usable path".
class RouteBuilder {
 public:
  void clear() {
    links_.clear();
    ends_.clear();
    weights_.clear();
    latency_override_.reset();
  }
  // A route given as fragments (e.g. a sprayed DAG, one link per "path")
  // sets its end-to-end latency explicitly; otherwise the engine takes the
  // largest sum of link latencies over the paths.
  void set_latency(Duration d) { latency_override_ = d; }
  const std::optional<Duration>& latency_override() const { return latency_override_; }
  void add_path(std::span<const LinkId> links, double weight = 1.0) {
    links_.insert(links_.end(), links.begin(), links.end());
    ends_.push_back(static_cast<uint32_t>(links_.size()));
    weights_.push_back(weight);
  }
  size_t num_paths() const { return ends_.size(); }
  bool empty() const { return ends_.empty(); }
  std::span<const LinkId> path(size_t i) const {
    const uint32_t b = i == 0 ? 0 : ends_[i - 1];
    return {links_.data() + b, ends_[i] - b};
  }
  double weight(size_t i) const { return weights_[i]; }

 private:
  std::vector<LinkId> links_;
  std::vector<uint32_t> ends_;
  std::vector<double> weights_;
  std::optional<Duration> latency_override_;
};

// What a selector may read: per-link counts of flows currently assigned
// (started and not finished, including those still in their latency phase;
// kept by the engine itself because rates lag behind simultaneous starts),
// and whether a link is up.
class LinkState {
 public:
  LinkState(const std::vector<int64_t>& assigned, const std::vector<uint8_t>& up,
            const std::vector<double>& capacity)
      : assigned_(&assigned), up_(&up), capacity_(&capacity) {}
  int64_t assigned_flows(LinkId l) const { return (*assigned_)[static_cast<size_t>(l)]; }
  bool up(LinkId l) const { return (*up_)[static_cast<size_t>(l)] != 0; }
  Bandwidth capacity(LinkId l) const {
    return BytesPerSecond((*capacity_)[static_cast<size_t>(l)]);
  }

 private:
  const std::vector<int64_t>* assigned_;
  const std::vector<uint8_t>* up_;
  const std::vector<double>* capacity_;
};

struct FlowRequest {
  int32_t src = 0;  // endpoint ids, opaque to the engine (GPU ids in codesim)
  int32_t dst = 0;
  Bytes size;
  uint64_t tag = 0;   // the caller's id, returned in FlowDone
  FlowId id = 0;      // engine id: stable input for hashing (ECMP)
  int attempt = 0;    // 0 at start; 1, 2, ... when re-routing after a fault
};

// Routing decisions, called once per flow when it starts (and again when a
// fault forces a re-route, or at flowlet boundaries for adaptive policies).
// Implementations live in topology/routing.hpp.
class PathSelector {
 public:
  virtual ~PathSelector() = default;
  virtual void select(const FlowRequest& req, const LinkState& links, RouteBuilder& out) = 0;
  // False for policies that never move a flow (a fault then fails it).
  virtual bool reroutes() const { return true; }
  // True for load-aware policies (adaptive routing): only those are asked
  // again at flowlet boundaries (NetworkParams::flowlet_gap).
  virtual bool adaptive() const { return false; }
};

// A selector from a callable, for tests and hand-built networks.
class FunctionPathSelector : public PathSelector {
 public:
  using Fn = std::function<void(const FlowRequest&, const LinkState&, RouteBuilder&)>;
  explicit FunctionPathSelector(Fn fn, bool reroutes = true, bool adaptive = false)
      : fn_(std::move(fn)), reroutes_(reroutes), adaptive_(adaptive) {}
  void select(const FlowRequest& r, const LinkState& s, RouteBuilder& out) override { fn_(r, s, out); }
  bool reroutes() const override { return reroutes_; }
  bool adaptive() const override { return adaptive_; }

 private:
  Fn fn_;
  bool reroutes_;
  bool adaptive_;
};

struct NetworkParams {
  Duration message_overhead = Duration::zero();  // per flow, before the first byte
  Duration merge_quantum = Duration::zero();     // 0 = exact; see the header comment
  bool group_identical = true;
  bool record_utilisation = false;  // keep (time, link, rate) samples for traces
  // Flowlet re-balancing under an adaptive selector (PathSelector::adaptive);
  // 0 = off (a flow keeps the path chosen when it started). With gap g > 0,
  // a flow that has been active for k*g (k = 1, 2, ...) since its
  // activation, or since it last moved, is at a flowlet boundary: the
  // selector is asked again with the flow's own count taken off its current
  // links, and the flow moves (remaining bytes, no new latency phase) when
  // the new route differs and its busiest changed link carries strictly
  // fewer flows than the busiest link it leaves. This is the flow-level view
  // of flowlet switching (Kandula et al., "Dynamic load balancing without
  // packet reordering", CCR 2007; CONGA, SIGCOMM 2014): an idle gap in a
  // flow's packets lets a switch re-pick the port without reordering; at
  // flow level every g of sending is such a gap. Flows are not grouped
  // (group_identical is ignored) while flowlets are on, since each one may
  // move on its own. Cost: one selector call per active flow per gap (a
  // 128-GPU all-to-all lasting 10 ms at g = 20 us: 8M calls, ~20 s), so
  // pick g as a fraction of the run, not of a packet time.
  Duration flowlet_gap = Duration::zero();
};

struct FlowDone {
  FlowId id = 0;
  uint64_t tag = 0;
  Time start;
  Time end;
  bool delivered = true;
  bool rerouted = false;  // moved to another path by a fault
  bool degraded = false;  // crossed a link while it was degraded or failed
};

struct UtilisationSample {
  int64_t time_ps;
  LinkId link;
  float bytes_per_second;
};

struct NetworkStats {
  uint64_t flows_started = 0;
  uint64_t variables = 0;     // after grouping
  uint64_t events = 0;        // processing instants
  uint64_t solves = 0;
  uint64_t solved_vars = 0;   // sum of component sizes
  uint64_t undelivered = 0;
  uint64_t rerouted = 0;
  uint64_t flowlet_moves = 0;  // flows moved at a flowlet boundary (counted per move)
};

class FlowNetwork {
 public:
  using DoneFn = std::function<void(std::span<const FlowDone>)>;

  FlowNetwork(Scheduler& sched, const LinkTable& links, PathSelector& selector,
              NetworkParams params = {});
  FlowNetwork(const FlowNetwork&) = delete;
  FlowNetwork& operator=(const FlowNetwork&) = delete;

  // Called with every batch of finished (or undeliverable) flows, from inside
  // a scheduler event; it may start new flows.
  void on_done(DoneFn fn) { on_done_ = std::move(fn); }

  // Starts a flow now. Routing happens here.
  FlowId start_flow(int32_t src, int32_t dst, Bytes size, uint64_t tag = 0);
  // Pre-sizes internal arrays for `flows` flows of about `hops` links.
  void reserve(size_t flows, size_t hops);

  // Faults, applied at now(); schedule them with Priority::kFaults.
  void fail_links(std::span<const LinkId> links);
  // factor in (0, 1]: capacity = base * factor (1 restores). 0 = fail.
  void degrade_links(std::span<const LinkId> links, double factor);

  // Current state, for tests and observers.
  double rate_of(FlowId f) const;  // bytes/s per flow, 0 while in latency phase
  size_t active_flows() const { return live_flows_; }
  const NetworkStats& stats() const { return stats_; }
  LinkState link_state() const { return LinkState(assigned_, up_, cap_); }
  // Bytes carried by each link so far (integrated rate), for mean utilisation.
  const std::vector<double>& link_bytes() const { return link_bytes_; }
  const std::vector<UtilisationSample>& utilisation() const { return util_; }
  const LinkTable& links() const { return *links_; }

 private:
  using VarId = uint32_t;
  static constexpr uint32_t kNone = 0xffffffffu;

  struct Pending {
    int64_t t;
    VarId v;
    uint32_t version;
  };
  struct Completion {
    int64_t t;
    VarId v;
    uint32_t version;
  };
  struct Flowlet {  // next flowlet boundary of var v (valid while its incarnation holds)
    int64_t t;
    VarId v;
    uint32_t incarnation;
  };

  // One group of identical flows ("variable" of the max-min problem). The
  // fields every solve pass touches share one cache line (array of
  // structures): at 4M variables the solver is bound by memory latency, and
  // the former one-array-per-field layout cost up to a dozen misses per
  // variable and pass.
  struct alignas(64) Var {
    double rate = 0;       // bytes/s per member flow
    double remaining = 0;  // bytes per member flow, as of t_last
    int64_t t_last = 0;    // ps
    uint32_t use_begin = 0;       // links in uses_[use_begin, +use_count)
    uint32_t coef_begin = kNone;  // kNone: every coefficient is 1
    uint32_t mult = 0;            // member flows
    uint32_t version = 0;         // bumps invalidate heap entries
    uint32_t born = 0;            // instant of activation
    uint32_t head = 0;            // first member flow
    uint32_t incarnation = 0;     // bumped by new_var(): tells reused ids apart
    uint16_t use_count = 0;
    uint8_t state = 0;  // 0 free, 1 pending (latency), 2 active
    uint8_t flags = 0;  // bit0 rerouted, bit1 degraded
  };
  static_assert(sizeof(Var) == 64);

  VarId new_var();
  void set_route(VarId v, const RouteBuilder& rb);
  // A fresh one-flow variable for flow f on the route in rb_ (after a
  // reroute or a flowlet move): `remaining` bytes, rate 0 until re-solved.
  VarId solo_var(FlowId f, double remaining, uint8_t flags);
  bool same_route(VarId v, Bytes size, int64_t now);
  std::span<const LinkId> links_of(VarId v) const {
    return {uses_.data() + vars_[v].use_begin, vars_[v].use_count};
  }
  float coef(VarId v, size_t i) const {
    return vars_[v].coef_begin == kNone ? 1.0f : coefs_[vars_[v].coef_begin + i];
  }
  void members_of(VarId v, std::vector<FlowId>& out) const;
  void schedule_next();
  void process();
  // Re-solves the flows that can change: those reachable from `dirty`
  // through flows whose rate is >= threshold (or that are new).
  void solve(const std::vector<LinkId>& dirty, double threshold);
  void touch_link(size_t l, int64_t now);
  // Appends l to dirty once per processing instant (first-occurrence order,
  // so solve() sees the same link order as with duplicates; at 4M flows the
  // duplicates alone were 20M entries).
  void mark_dirty(LinkId l, std::vector<LinkId>& dirty) {
    uint32_t& s = dirty_stamp_[static_cast<size_t>(l)];
    if (s == instant_) return;
    s = instant_;
    dirty.push_back(l);
  }
  void activate(VarId v, int64_t t, std::vector<LinkId>& dirty);
  void finish_instant();  // solve dirty_, purge, free, report
  void advance(VarId v, int64_t t);
  void push_completion(VarId v);
  void kill_var(VarId v, std::vector<LinkId>& dirty);
  // Drops dead vars from link_vars_ of the links in purge_ (those where a
  // var ended at this instant).
  void purge_links();
  // One bit per var, all clear outside solve(): "seen" during its search,
  // then "in the component, not frozen yet". 512 KiB at 4M vars, so the
  // many repeat visits of a var (one per link it crosses) hit L2 instead of
  // loading the var's cache line.
  bool marked(VarId v) const { return (marks_[v >> 6] >> (v & 63)) & 1; }
  void mark(VarId v) { marks_[v >> 6] |= uint64_t{1} << (v & 63); }
  void unmark(VarId v) { marks_[v >> 6] &= ~(uint64_t{1} << (v & 63)); }
  // Software prefetch a few entries ahead of ids[k]: the solver walks vars
  // in link order, random in memory at millions of vars, and keeping several
  // misses in flight is most of its speed. The var's line is fetched
  // kPrefetchVars ahead, its links (which need that line) kPrefetchUses
  // ahead. _unmarked skips vars the caller will not read (marked ones, or
  // with want_marked unmarked ones). Forced inline: a call whose only effect
  // is a prefetch is otherwise dropped by the optimiser as side-effect free.
  static constexpr size_t kPrefetchVars = 16, kPrefetchUses = 8;
  [[gnu::always_inline]] void prefetch_unmarked(const std::vector<VarId>& ids, size_t k,
                                                bool want_marked = false) const {
    if (k + kPrefetchVars < ids.size()) {
      const VarId u = ids[k + kPrefetchVars];
      if (marked(u) == want_marked) __builtin_prefetch(&vars_[u]);
    }
    if (k + kPrefetchUses < ids.size()) {
      const VarId u = ids[k + kPrefetchUses];
      if (marked(u) == want_marked) __builtin_prefetch(uses_.data() + vars_[u].use_begin);
    }
  }
  [[gnu::always_inline]] void prefetch_all(const std::vector<VarId>& ids, size_t k) const {
    if (k + kPrefetchVars < ids.size()) __builtin_prefetch(&vars_[ids[k + kPrefetchVars]]);
    if (k + kPrefetchUses < ids.size())
      __builtin_prefetch(uses_.data() + vars_[ids[k + kPrefetchUses]].use_begin);
  }
  void maybe_compact_uses();
  // Flowlet boundaries due at now: re-place the flows (see NetworkParams).
  void flowlet_boundaries(int64_t now);
  bool born_now(VarId v) const { return vars_[v].born == instant_; }
  bool flowlets_on() const { return params_.flowlet_gap > Duration::zero() && selector_->adaptive(); }
  void flush_done();
  void emit_done(VarId v, int64_t t, bool delivered);

  Scheduler* sched_;
  const LinkTable* links_;
  PathSelector* selector_;
  NetworkParams params_;
  DoneFn on_done_;

  // Links.
  std::vector<double> base_cap_, cap_;
  std::vector<uint8_t> up_, degraded_;
  std::vector<int64_t> assigned_;
  std::vector<std::vector<VarId>> link_vars_;  // active vars on each link
  std::vector<double> link_rate_, link_bytes_;  // current load (sum c*m*rate), integral
  std::vector<double> link_weight_;             // sum of c*m over active vars
  std::vector<int64_t> link_since_;
  std::vector<UtilisationSample> util_;
  std::vector<float> last_sample_;  // last recorded rate per link

  // Variables (groups of identical flows).
  std::vector<Var> vars_;
  std::vector<VarId> free_vars_;
  std::unordered_map<VarId, std::vector<FlowId>> extra_members_;
  std::vector<LinkId> uses_;
  std::vector<float> coefs_;
  size_t dead_uses_ = 0;

  // Flows.
  std::vector<uint64_t> tag_;
  std::vector<int64_t> start_;
  std::vector<int32_t> src_, dst_;
  std::vector<VarId> var_of_;
  size_t live_flows_ = 0;

  // Grouping: a direct-mapped cache of vars created at the current instant,
  // by (route, size) hash. Lossy on hash-slot clashes (a flow then gets its
  // own variable, which is always correct) but O(1) and 256 KiB whatever
  // the flow count.
  int64_t group_time_ = -1;
  std::vector<std::pair<uint64_t, VarId>> group_;  // (route hash, var)

  // Event queues (min-heaps by time).
  std::vector<Pending> pending_;
  std::vector<Completion> completions_;
  std::vector<Flowlet> flowlets_;
  EventId next_event_;
  int64_t next_event_time_ = -1;
  std::vector<FlowDone> done_;  // reported at the end of the current event (or in chunks)
  EventId flush_event_;

  // Scratch.
  RouteBuilder rb_;
  uint32_t epoch_ = 0;
  uint32_t instant_ = 1;     // counts processing instants; born_[v] == instant_: new now
  double threshold_ = 0;     // see solve()
  std::vector<uint32_t> link_stamp_;
  std::vector<double> rem_, w_;
  std::vector<int32_t> cnt_, route_pos_;
  std::vector<uint32_t> purge_stamp_, dirty_stamp_;  // == instant_: listed in purge_ / dirty_
  std::vector<LinkId> purge_;
  std::vector<uint64_t> marks_;
  std::vector<VarId> rejected_;
  std::vector<VarId> to_free_, comp_vars_, new_vars_;
  std::vector<LinkId> comp_links_, dirty_;
  std::vector<std::pair<double, LinkId>> share_heap_;
  std::vector<FlowId> members_scratch_;
  std::vector<float> route_tmp_;  // set_route
  std::vector<LinkId> flowlet_links_;
  std::vector<uint8_t> flowlet_mark_;  // per link, 0 outside flowlet_boundaries()

  NetworkStats stats_;
};

}  // namespace codesim::sim
