#include "sim/flow_network.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <functional>
#include <limits>
#include <stdexcept>

namespace codesim::sim {

namespace {

constexpr double kPsPerSecond = 1e12;

uint64_t mix(uint64_t h, uint64_t x) {
  h ^= x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h;
}

template <class T, class Cmp>
void heap_push(std::vector<T>& h, T v, Cmp cmp) {
  h.push_back(v);
  std::push_heap(h.begin(), h.end(), cmp);
}
template <class T, class Cmp>
T heap_pop(std::vector<T>& h, Cmp cmp) {
  std::pop_heap(h.begin(), h.end(), cmp);
  T v = h.back();
  h.pop_back();
  return v;
}

struct PendingLater {
  template <class P>
  bool operator()(const P& a, const P& b) const {
    return a.t != b.t ? a.t > b.t : a.v > b.v;
  }
};
// Bulk drain of a (t, v) min-heap: when most entries are due (t <= limit),
// popping them one by one costs a random-access sift each (millions at the
// 4M-flow all-to-all). Instead move the heap out, keep the entries not due
// as the new heap and return the due ones sorted in exactly the pop order
// (ascending (t, v)), so results are bit-identical. The heap is left valid
// (and separate) before the caller handles any entry, so callbacks run
// from that loop may use it. False when few are due: pop one by one.
// Stale entries (valid(x) false) are dropped here: nothing in the caller's
// loop revives or invalidates another var's entry, so the loop would skip
// exactly these. Valid entries have distinct vars, so when all due entries
// share one time (the usual case) a bitmap over var ids gives the (t, v)
// order in O(k + vars/64) instead of an O(k log k) sort.
template <class T, class Valid, class VersionOf, class Prefetch>
bool take_due_bulk(std::vector<T>& heap, int64_t limit, std::vector<T>& due, size_t nvars,
                   Valid valid, VersionOf version_of, Prefetch prefetch_var) {
  const size_t n = heap.size();
  if (n < (size_t{1} << 16) || heap.front().t > limit) return false;
  constexpr size_t kSamples = 64;
  size_t hits = 0;
  for (size_t k = 0; k < kSamples; ++k)
    if (heap[n - 1 - k * (n / kSamples)].t <= limit) ++hits;
  if (hits * 8 < kSamples * 7) return false;  // not mostly due
  due.clear();
  due.swap(heap);  // heap is now empty
  const auto mid = std::partition(due.begin(), due.end(), [limit](const T& x) { return x.t > limit; });
  heap.assign(due.begin(), mid);
  std::make_heap(heap.begin(), heap.end(), PendingLater{});
  due.erase(due.begin(), mid);
  // Drop stale entries (heap order: random vars, so prefetch ahead).
  size_t kept = 0;
  for (size_t k = 0; k < due.size(); ++k) {
    if (k + 16 < due.size()) prefetch_var(due[k + 16].v);
    if (valid(due[k])) due[kept++] = due[k];
  }
  due.resize(kept);
  if (due.empty()) return true;
  const int64_t t0 = due.front().t;
  const bool one_time = std::all_of(due.begin(), due.end(), [t0](const T& x) { return x.t == t0; });
  if (!one_time) {
    std::sort(due.begin(), due.end(), [](const T& x, const T& y) { return PendingLater{}(y, x); });
    return true;
  }
  std::vector<uint64_t> bits((nvars + 63) / 64, 0);
  for (const T& x : due) bits[x.v >> 6] |= uint64_t{1} << (x.v & 63);
  size_t k = 0;
  for (size_t w = 0; w < bits.size(); ++w)
    for (uint64_t word = bits[w]; word != 0; word &= word - 1) {
      const uint32_t v = static_cast<uint32_t>(w * 64 + static_cast<size_t>(std::countr_zero(word)));
      due[k++] = T{t0, v, version_of(v)};  // valid: its version is the current one
    }
  due.resize(k);
  return true;
}

// std::llround for 0 <= x <= 9e18, inline (the libm call was a visible
// share of the 4M-flow solve). Same result: the fractional part
// x - trunc(x) of a double is exactly representable, and llround rounds
// halves away from zero.
int64_t round_half_up(double x) {
  const int64_t i = static_cast<int64_t>(x);
  return x - static_cast<double>(i) >= 0.5 ? i + 1 : i;
}

// End of a flow with `remaining` bytes at `rate` (> 0) from t_last (ps).
int64_t completion_ps(double remaining, double rate, int64_t t_last) {
  const double dt = std::max(0.0, remaining) / rate * kPsPerSecond;
  return t_last + (dt > 9e18 ? int64_t{9'000'000'000'000'000'000} : round_half_up(dt));
}

struct ShareLater {
  bool operator()(const std::pair<double, LinkId>& a, const std::pair<double, LinkId>& b) const {
    return a.first != b.first ? a.first > b.first : a.second > b.second;
  }
};

}  // namespace

FlowNetwork::FlowNetwork(Scheduler& sched, const LinkTable& links, PathSelector& selector,
                         NetworkParams params)
    : sched_(&sched), links_(&links), selector_(&selector), params_(params) {
  const size_t n = links.size();
  base_cap_.resize(n);
  for (size_t l = 0; l < n; ++l) base_cap_[l] = links.capacity[l].bytes_per_second();
  cap_ = base_cap_;
  up_.assign(n, 1);
  degraded_.assign(n, 0);
  assigned_.assign(n, 0);
  link_vars_.resize(n);
  link_rate_.assign(n, 0.0);
  link_weight_.assign(n, 0.0);
  link_bytes_.assign(n, 0.0);
  link_since_.assign(n, 0);
  link_stamp_.assign(n, 0);
  purge_stamp_.assign(n, 0);
  dirty_stamp_.assign(n, 0);
  rem_.assign(n, 0.0);
  w_.assign(n, 0.0);
  cnt_.assign(n, 0);
  route_pos_.assign(n, -1);
  flowlet_mark_.assign(n, 0);
}

void FlowNetwork::reserve(size_t flows, size_t hops) {
  tag_.reserve(flows);
  start_.reserve(flows);
  src_.reserve(flows);
  dst_.reserve(flows);
  var_of_.reserve(flows);
  vars_.reserve(flows);
  // The event heaps can hold one entry per flow: reserving them avoids the
  // transient copies (and page faults) of growth by doubling at 4M flows.
  // Untouched capacity costs no memory.
  pending_.reserve(flows);
  completions_.reserve(flows);
  uses_.reserve(flows * hops);
}

FlowNetwork::VarId FlowNetwork::solo_var(FlowId f, double remaining, uint8_t flags) {
  const VarId nv = new_var();
  set_route(nv, rb_);
  Var& v = vars_[nv];
  v.remaining = remaining;
  v.rate = 0;
  v.mult = 1;
  v.head = f;
  v.version++;
  v.flags = flags;
  var_of_[f] = nv;
  ++stats_.variables;
  return nv;
}

FlowNetwork::VarId FlowNetwork::new_var() {
  VarId v;
  if (!free_vars_.empty()) {
    v = free_vars_.back();
    free_vars_.pop_back();
  } else {
    v = static_cast<VarId>(vars_.size());
    vars_.emplace_back();
  }
  vars_[v].incarnation++;
  return v;
}

// Merges the paths of `rb` into one list of (link, coefficient).
void FlowNetwork::set_route(VarId v, const RouteBuilder& rb) {
  const uint32_t begin = static_cast<uint32_t>(uses_.size());
  std::vector<float>& tmp = route_tmp_;  // reused: no allocation per flow
  tmp.clear();
  bool unit = true;
  for (size_t p = 0; p < rb.num_paths(); ++p) {
    const double w = rb.weight(p);
    for (LinkId l : rb.path(p)) {
      int32_t& pos = route_pos_[static_cast<size_t>(l)];
      if (pos < 0) {
        pos = static_cast<int32_t>(uses_.size() - begin);
        uses_.push_back(l);
        tmp.push_back(static_cast<float>(w));
      } else {
        tmp[static_cast<size_t>(pos)] += static_cast<float>(w);
      }
    }
  }
  for (size_t i = begin; i < uses_.size(); ++i) {
    route_pos_[static_cast<size_t>(uses_[i])] = -1;
    if (std::abs(tmp[i - begin] - 1.0f) > 1e-6f) unit = false;
  }
  if (uses_.size() - begin > 0xffff) throw std::length_error("FlowNetwork: route with > 65535 links");
  vars_[v].use_begin = begin;
  vars_[v].use_count = static_cast<uint16_t>(uses_.size() - begin);
  if (unit) {
    vars_[v].coef_begin = kNone;
  } else {
    vars_[v].coef_begin = static_cast<uint32_t>(coefs_.size());
    coefs_.insert(coefs_.end(), tmp.begin(), tmp.end());
  }
}

void FlowNetwork::members_of(VarId v, std::vector<FlowId>& out) const {
  out.clear();
  out.push_back(vars_[v].head);
  if (vars_[v].mult > 1) {
    auto it = extra_members_.find(v);
    if (it != extra_members_.end()) out.insert(out.end(), it->second.begin(), it->second.end());
  }
}

// True when pending var v, created now with `size` bytes, has exactly the
// (unit-weight) route in rb_.
bool FlowNetwork::same_route(VarId v, Bytes size, int64_t now) {
  if (vars_[v].state != 1 || vars_[v].remaining != size.as_double() || vars_[v].t_last != now) return false;
  if (vars_[v].coef_begin != kNone) return false;
  // Build the merged route at the end of uses_, compare, and drop it.
  const size_t mark = uses_.size(), cmark = coefs_.size();
  const uint32_t ob = vars_[v].use_begin, oc = vars_[v].coef_begin;
  const uint16_t on = vars_[v].use_count;
  set_route(v, rb_);
  const bool same = vars_[v].use_count == on && vars_[v].coef_begin == kNone &&
                    std::equal(uses_.begin() + static_cast<ptrdiff_t>(mark), uses_.end(), uses_.begin() + ob);
  uses_.resize(mark);
  coefs_.resize(cmark);
  vars_[v].use_begin = ob;
  vars_[v].use_count = on;
  vars_[v].coef_begin = oc;
  return same;
}

FlowId FlowNetwork::start_flow(int32_t src, int32_t dst, Bytes size, uint64_t tag) {
  const int64_t now = sched_->now().ps();
  const FlowId id = static_cast<FlowId>(tag_.size());
  if (tag_.size() >= 0xfffffffeu) throw std::length_error("FlowNetwork: too many flows");
  tag_.push_back(tag);
  start_.push_back(now);
  src_.push_back(src);
  dst_.push_back(dst);
  var_of_.push_back(kNone);
  ++stats_.flows_started;
  ++live_flows_;

  rb_.clear();
  FlowRequest req{src, dst, size, tag, id, 0};
  selector_->select(req, link_state(), rb_);
  bool usable = !rb_.empty();
  for (size_t p = 0; usable && p < rb_.num_paths(); ++p)
    for (LinkId l : rb_.path(p))
      if (!up_[static_cast<size_t>(l)]) usable = false;
  if (!usable) {
    ++stats_.undelivered;
    --live_flows_;
    done_.push_back(FlowDone{id, tag, Time::from_ps(now), Time::from_ps(now), false, false, false});
    if (!flush_event_.valid())
      flush_event_ = sched_->schedule(sched_->now(), Priority::kNetwork, "net.undeliverable",
                                      [this] {
                                        flush_event_ = {};
                                        flush_done();
                                      });
    return id;
  }

  // Same route and size as a flow started at this instant: join its group.
  uint64_t h = mix(0, size.count());
  for (size_t p = 0; p < rb_.num_paths(); ++p) {
    h = mix(h, std::hash<double>{}(rb_.weight(p)));
    for (LinkId l : rb_.path(p)) h = mix(h, static_cast<uint64_t>(l));
    h = mix(h, 0xfeed);
  }
  constexpr size_t kGroupSlots = 1 << 16;
  if (group_time_ != now) {
    group_.assign(kGroupSlots, {0, kNone});
    group_time_ = now;
  }
  const size_t slot = static_cast<size_t>(h) & (kGroupSlots - 1);
  const bool grouping = params_.group_identical && !flowlets_on();
  if (grouping && group_[slot].second != kNone && group_[slot].first == h &&
      same_route(group_[slot].second, size, now)) {
    const VarId v = group_[slot].second;
    ++vars_[v].mult;
    extra_members_[v].push_back(id);
    var_of_[id] = v;
    for (LinkId l : links_of(v)) assigned_[static_cast<size_t>(l)] += 1;
    return id;
  }

  const VarId v = new_var();
  set_route(v, rb_);
  vars_[v].remaining = size.as_double();
  vars_[v].rate = 0;
  vars_[v].t_last = now;
  vars_[v].mult = 1;
  vars_[v].head = id;
  vars_[v].version++;
  vars_[v].state = 1;
  vars_[v].flags = 0;
  var_of_[id] = v;
  ++stats_.variables;
  for (LinkId l : links_of(v)) assigned_[static_cast<size_t>(l)] += 1;
  if (grouping) group_[slot] = {h, v};

  Duration lat = Duration::zero();
  if (rb_.latency_override()) lat = *rb_.latency_override();
  else for (size_t p = 0; p < rb_.num_paths(); ++p) {
    Duration d = Duration::zero();
    for (LinkId l : rb_.path(p)) d += links_->latency[static_cast<size_t>(l)];
    lat = std::max(lat, d);
  }
  const int64_t act = now + (params_.message_overhead + lat).ps();
  heap_push(pending_, Pending{act, v, vars_[v].version}, PendingLater{});
  schedule_next();
  return id;
}

void FlowNetwork::push_completion(VarId v) {
  if (vars_[v].rate <= 0) return;  // stalled (only on a zero-capacity link)
  heap_push(completions_, Completion{completion_ps(vars_[v].remaining, vars_[v].rate, vars_[v].t_last), v, vars_[v].version},
            PendingLater{});
}

void FlowNetwork::advance(VarId v, int64_t t) {
  if (vars_[v].state == 2 && t > vars_[v].t_last) {
    vars_[v].remaining -= vars_[v].rate * static_cast<double>(t - vars_[v].t_last) / kPsPerSecond;
    if (vars_[v].remaining < 0) vars_[v].remaining = 0;
  }
  vars_[v].t_last = t;
}

void FlowNetwork::schedule_next() {
  auto valid = [this](const Completion& c) { return vars_[c.v].state == 2 && vars_[c.v].version == c.version; };
  while (!completions_.empty() && !valid(completions_.front()))
    heap_pop(completions_, PendingLater{});
  while (!pending_.empty() && (vars_[pending_.front().v].state != 1 ||
                               vars_[pending_.front().v].version != pending_.front().version))
    heap_pop(pending_, PendingLater{});
  while (!flowlets_.empty() && (vars_[flowlets_.front().v].state != 2 ||
                                vars_[flowlets_.front().v].incarnation != flowlets_.front().incarnation))
    heap_pop(flowlets_, PendingLater{});
  int64_t t = -1;
  if (!pending_.empty()) t = pending_.front().t;
  if (!completions_.empty() && (t < 0 || completions_.front().t < t)) t = completions_.front().t;
  if (!flowlets_.empty() && (t < 0 || flowlets_.front().t < t)) t = flowlets_.front().t;
  if (t < 0) {
    if (next_event_.valid()) sched_->cancel(next_event_);
    next_event_ = {};
    next_event_time_ = -1;
    return;
  }
  t = std::max(t, sched_->now().ps());
  if (next_event_.valid() && next_event_time_ == t) return;
  if (next_event_.valid()) sched_->cancel(next_event_);
  next_event_time_ = t;
  next_event_ = sched_->schedule(Time::from_ps(t), Priority::kNetwork, "net.update", [this] {
    next_event_ = {};
    next_event_time_ = -1;
    process();
  });
}

void FlowNetwork::emit_done(VarId v, int64_t t, bool delivered) {
  members_of(v, members_scratch_);
  const bool rer = vars_[v].flags & 1, deg = vars_[v].flags & 2;
  for (FlowId f : members_scratch_) {
    done_.push_back(FlowDone{f, tag_[f], Time::from_ps(start_[f]), Time::from_ps(t), delivered, rer, deg});
    var_of_[f] = kNone;
  }
  live_flows_ -= members_scratch_.size();
  if (!delivered) stats_.undelivered += members_scratch_.size();
}

void FlowNetwork::touch_link(size_t l, int64_t now) {
  if (link_since_[l] == now) return;
  link_bytes_[l] += link_rate_[l] * static_cast<double>(now - link_since_[l]) / kPsPerSecond;
  link_since_[l] = now;
}

void FlowNetwork::kill_var(VarId v, std::vector<LinkId>& dirty) {
  const int64_t m = vars_[v].mult;
  const int64_t now = sched_->now().ps();
  const auto ls = links_of(v);
  for (size_t i = 0; i < ls.size(); ++i) {
    const size_t l = static_cast<size_t>(ls[i]);
    assigned_[l] -= m;
    if (vars_[v].state == 2) {
      mark_dirty(ls[i], dirty);
      if (purge_stamp_[l] != instant_) {  // link_vars_[l] now holds a dead var
        purge_stamp_[l] = instant_;
        purge_.push_back(ls[i]);
      }
      touch_link(l, now);
      const double c = coef(v, i) * static_cast<double>(m);
      link_rate_[l] = std::max(0.0, link_rate_[l] - c * vars_[v].rate);
      link_weight_[l] = std::max(0.0, link_weight_[l] - c);
    }
  }
  if (vars_[v].state == 2) threshold_ = std::min(threshold_, vars_[v].rate);
  vars_[v].state = 0;
  vars_[v].version++;
  dead_uses_ += vars_[v].use_count;
  if (vars_[v].mult > 1) extra_members_.erase(v);
  to_free_.push_back(v);
}

void FlowNetwork::activate(VarId v, int64_t t, std::vector<LinkId>& dirty) {
  vars_[v].state = 2;
  vars_[v].t_last = t;
  vars_[v].rate = 0;
  vars_[v].born = instant_;
  const auto ls = links_of(v);
  for (size_t i = 0; i < ls.size(); ++i) {
    const size_t l = static_cast<size_t>(ls[i]);
    auto& lv = link_vars_[l];
    if (lv.size() == lv.capacity() && assigned_[l] > static_cast<int64_t>(lv.size()))
      lv.reserve(static_cast<size_t>(assigned_[l]));  // no doubling slack on busy links
    lv.push_back(v);
    link_weight_[l] += coef(v, i) * static_cast<double>(vars_[v].mult);
    mark_dirty(ls[i], dirty);
    if (degraded_[l]) vars_[v].flags |= 2;
  }
  if (flowlets_on())
    heap_push(flowlets_, Flowlet{t + params_.flowlet_gap.ps(), v, vars_[v].incarnation}, PendingLater{});
}

void FlowNetwork::process() {
  const int64_t now = sched_->now().ps();
  ++stats_.events;
  ++instant_;
  threshold_ = std::numeric_limits<double>::infinity();
  dirty_.clear();
  new_vars_.clear();
  const int64_t horizon = now + params_.merge_quantum.ps();
  auto complete = [&](const Completion& c) {
    if (vars_[c.v].state != 2 || vars_[c.v].version != c.version) return;
    emit_done(c.v, now, true);
    kill_var(c.v, dirty_);
    if (done_.size() >= (1u << 16)) flush_done();  // bounded memory for huge batches
  };
  {
    std::vector<Completion> due;  // freed at the end of this block
    if (take_due_bulk(completions_, horizon, due, vars_.size(),
                      [this](const Completion& c) { return vars_[c.v].state == 2 && vars_[c.v].version == c.version; },
                      [this](VarId v) { return vars_[v].version; },
                      [this](VarId v) { __builtin_prefetch(&vars_[v]); }))
      for (const Completion& c : due) complete(c);
  }
  while (!completions_.empty() && completions_.front().t <= horizon)
    complete(heap_pop(completions_, PendingLater{}));
  std::vector<Pending> due_pending;
  size_t due_next = 0;
  if (!take_due_bulk(pending_, now, due_pending, vars_.size(),
                     [this](const Pending& p) { return vars_[p.v].state == 1 && vars_[p.v].version == p.version; },
                     [this](VarId v) { return vars_[v].version; },
                     [this](VarId v) { __builtin_prefetch(&vars_[v]); }))
    due_pending.clear();
  while (due_next < due_pending.size() || (!pending_.empty() && pending_.front().t <= now)) {
    const Pending p = due_next < due_pending.size() ? due_pending[due_next++]
                                                    : heap_pop(pending_, PendingLater{});
    if (vars_[p.v].state != 1 || vars_[p.v].version != p.version) continue;
    if (vars_[p.v].use_count == 0) {  // src == dst: nothing to move
      vars_[p.v].state = 2;
      emit_done(p.v, now, true);
      kill_var(p.v, dirty_);
      continue;
    }
    activate(p.v, now, dirty_);
    new_vars_.push_back(p.v);
  }
  due_pending = {};
  if (pending_.empty() && pending_.capacity() > (1u << 16)) pending_.shrink_to_fit();
  if (!flowlets_.empty() && flowlets_.front().t <= now) flowlet_boundaries(now);
  // A new flow's max-min rate is at least min over its links of
  // capacity / (weight of the flows on it): no link can saturate earlier.
  for (VarId v : new_vars_) {
    const auto ls = links_of(v);
    for (size_t i = 0; i < ls.size(); ++i) {
      const size_t l = static_cast<size_t>(ls[i]);
      threshold_ = std::min(threshold_, cap_[l] / std::max(link_weight_[l], 1e-300));
    }
  }
  finish_instant();
}

void FlowNetwork::flowlet_boundaries(int64_t now) {
  std::vector<LinkId>& old_links = flowlet_links_;
  while (!flowlets_.empty() && flowlets_.front().t <= now) {
    const Flowlet b = heap_pop(flowlets_, PendingLater{});
    const VarId v = b.v;
    if (vars_[v].state != 2 || vars_[v].incarnation != b.incarnation) continue;
    const int64_t next = now + params_.flowlet_gap.ps();
    if (vars_[v].mult != 1 || born_now(v)) {  // groups do not form with flowlets on
      heap_push(flowlets_, Flowlet{next, v, b.incarnation}, PendingLater{});
      continue;
    }
    const FlowId f = vars_[v].head;
    const auto cur = links_of(v);
    old_links.assign(cur.begin(), cur.end());
    // Ask the selector with this flow taken off its own links.
    for (LinkId l : old_links) assigned_[static_cast<size_t>(l)] -= 1;
    const Var& x = vars_[v];
    const double rem = std::max(0.0, x.remaining - x.rate * static_cast<double>(now - x.t_last) / kPsPerSecond);
    rb_.clear();
    selector_->select(FlowRequest{src_[static_cast<size_t>(f)], dst_[static_cast<size_t>(f)], Bytes::from_double(rem),
                                  tag_[static_cast<size_t>(f)], f, 0},
                      link_state(), rb_);
    // Busiest link the flow would leave vs busiest link it would join
    // (counts without this flow). Marks: 1 = old link, 2 = on both routes.
    bool usable = !rb_.empty(), differs = false;
    int64_t load_new = -1, load_old = -1;
    for (LinkId l : old_links) flowlet_mark_[static_cast<size_t>(l)] = 1;
    for (size_t p = 0; usable && p < rb_.num_paths(); ++p)
      for (LinkId l : rb_.path(p)) {
        const size_t li = static_cast<size_t>(l);
        if (!up_[li]) usable = false;
        if (flowlet_mark_[li] == 1) flowlet_mark_[li] = 2;
        if (flowlet_mark_[li] != 2) {
          differs = true;
          load_new = std::max(load_new, assigned_[li]);
        }
      }
    for (LinkId l : old_links) {
      const size_t li = static_cast<size_t>(l);
      if (flowlet_mark_[li] == 1) {
        differs = true;
        load_old = std::max(load_old, assigned_[li]);
      }
      flowlet_mark_[li] = 0;
    }
    for (LinkId l : old_links) assigned_[static_cast<size_t>(l)] += 1;
    if (!usable || !differs || load_new >= load_old) {
      heap_push(flowlets_, Flowlet{next, v, b.incarnation}, PendingLater{});
      continue;
    }
    advance(v, now);
    const uint8_t flags = vars_[v].flags;
    kill_var(v, dirty_);
    const VarId nv = solo_var(f, rem, flags);
    ++stats_.flowlet_moves;
    for (LinkId l : links_of(nv)) assigned_[static_cast<size_t>(l)] += 1;
    activate(nv, now, dirty_);  // pushes its next boundary
    new_vars_.push_back(nv);
  }
}

void FlowNetwork::finish_instant() {
  solve(dirty_, threshold_);
  purge_links();
  for (VarId v : to_free_) free_vars_.push_back(v);
  to_free_.clear();
  maybe_compact_uses();
  if (completions_.size() > 4 * (vars_.size() - free_vars_.size()) + 4096) {
    std::erase_if(completions_, [this](const Completion& c) {
      return vars_[c.v].state != 2 || vars_[c.v].version != c.version;
    });
    std::make_heap(completions_.begin(), completions_.end(), PendingLater{});
  }
  flush_done();
  schedule_next();
}

void FlowNetwork::flush_done() {
  if (done_.empty()) return;
  std::vector<FlowDone> batch;
  batch.swap(done_);
  if (on_done_) on_done_(batch);
  batch.clear();
  if (done_.empty()) done_.swap(batch);  // keep the buffer: no regrowth per batch
}

void FlowNetwork::purge_links() {
  for (LinkId l : purge_) {
    const size_t li = static_cast<size_t>(l);
    std::vector<VarId>& lv = link_vars_[li];
    if (assigned_[li] == 0) {  // no flow left on the link (a common case: skip the scan)
      lv.clear();
      continue;
    }
    size_t w = 0;
    for (size_t k = 0; k < lv.size(); ++k) {
      if (k + kPrefetchVars < lv.size()) __builtin_prefetch(&vars_[lv[k + kPrefetchVars]]);
      if (vars_[lv[k]].state == 2) lv[w++] = lv[k];
    }
    lv.resize(w);
  }
  purge_.clear();
}

void FlowNetwork::maybe_compact_uses() {
  if (dead_uses_ < (1u << 20) || dead_uses_ * 2 < uses_.size()) return;
  std::vector<LinkId> nu;
  std::vector<float> nc;
  nu.reserve(uses_.size() - dead_uses_);
  for (VarId v = 0; v < vars_.size(); ++v) {
    if (vars_[v].state == 0) continue;
    const uint32_t b = static_cast<uint32_t>(nu.size());
    nu.insert(nu.end(), uses_.begin() + vars_[v].use_begin, uses_.begin() + vars_[v].use_begin + vars_[v].use_count);
    if (vars_[v].coef_begin != kNone) {
      const uint32_t cb = static_cast<uint32_t>(nc.size());
      nc.insert(nc.end(), coefs_.begin() + vars_[v].coef_begin, coefs_.begin() + vars_[v].coef_begin + vars_[v].use_count);
      vars_[v].coef_begin = cb;
    }
    vars_[v].use_begin = b;
  }
  uses_.swap(nu);
  coefs_.swap(nc);
  dead_uses_ = 0;
}

// Progressive filling on the flows that can change (see the header): those
// reachable from `dirty` through flows that are new or have a rate >=
// threshold. The others keep their rates; the capacity they use is
// link_rate_ minus the old consumption of the re-solved flows.
void FlowNetwork::solve(const std::vector<LinkId>& dirty, double threshold) {
  const int64_t now = sched_->now().ps();
  const double cut = threshold * (1 - 1e-9);
  ++epoch_;
  const uint32_t in = epoch_;
  if (marks_.size() * 64 < vars_.size()) marks_.resize(vars_.size() / 64 + 1, 0);
  comp_links_.clear();
  comp_vars_.clear();
  for (LinkId l : dirty) {
    const size_t li = static_cast<size_t>(l);
    if (link_stamp_[li] != in) {
      link_stamp_[li] = in;
      comp_links_.push_back(l);
    }
  }
  for (size_t i = 0; i < comp_links_.size(); ++i) {
    const std::vector<VarId>& lv = link_vars_[static_cast<size_t>(comp_links_[i])];
    const size_t n = lv.size();
    for (size_t k = 0; k < n; ++k) {
      prefetch_unmarked(lv, k);
      const VarId v = lv[k];
      if (marked(v)) continue;  // most visits: already seen this solve
      mark(v);
      const Var& x = vars_[v];
      if (x.state != 2 || (x.born != instant_ && x.rate < cut)) {  // dead, or cannot change
        rejected_.push_back(v);
        continue;
      }
      comp_vars_.push_back(v);
      for (LinkId l2 : links_of(v)) {
        const size_t l2i = static_cast<size_t>(l2);
        if (link_stamp_[l2i] != in) {
          link_stamp_[l2i] = in;
          comp_links_.push_back(l2);
        }
      }
    }
  }
  // From here on a mark means "in the component, not yet frozen".
  for (VarId v : rejected_) unmark(v);
  rejected_.clear();
  ++stats_.solves;
  stats_.solved_vars += comp_vars_.size();

  for (LinkId l : comp_links_) {
    const size_t li = static_cast<size_t>(l);
    rem_[li] = cap_[li] - link_rate_[li];  // link_rate_ still holds the old rates
    w_[li] = 0;
    cnt_[li] = 0;
  }
  for (size_t k = 0; k < comp_vars_.size(); ++k) {
    prefetch_all(comp_vars_, k);
    const VarId v = comp_vars_[k];
    advance(v, now);
    const auto ls = links_of(v);
    const double m = static_cast<double>(vars_[v].mult);
    for (size_t i = 0; i < ls.size(); ++i) {
      const size_t li = static_cast<size_t>(ls[i]);
      const double c = coef(v, i) * m;
      rem_[li] += c * vars_[v].rate;
      w_[li] += c;
      cnt_[li] += 1;
    }
  }
  share_heap_.clear();
  for (LinkId l : comp_links_) {
    const size_t li = static_cast<size_t>(l);
    if (cnt_[li] > 0) share_heap_.emplace_back(std::max(0.0, rem_[li]) / w_[li], l);
  }
  std::make_heap(share_heap_.begin(), share_heap_.end(), ShareLater{});
  while (!share_heap_.empty()) {
    const auto [s, l] = heap_pop(share_heap_, ShareLater{});
    const size_t li = static_cast<size_t>(l);
    if (cnt_[li] <= 0) continue;
    const double cur = std::max(0.0, rem_[li]) / std::max(w_[li], 1e-300);
    if (cur > s * (1 + 1e-12)) {  // stale: shares only grow; re-queue at its new value
      heap_push(share_heap_, std::pair{cur, l}, ShareLater{});
      continue;
    }
    const std::vector<VarId>& lv = link_vars_[li];
    const size_t n = lv.size();
    for (size_t k = 0; k < n; ++k) {
      prefetch_unmarked(lv, k, true);
      const VarId v = lv[k];
      if (!marked(v)) continue;  // frozen, or not re-solved
      unmark(v);
      vars_[v].rate = cur;
      vars_[v].version++;  // its completion entry is stale from now on
      const auto ls = links_of(v);
      const double m = static_cast<double>(vars_[v].mult);
      for (size_t i = 0; i < ls.size(); ++i) {
        const size_t l2 = static_cast<size_t>(ls[i]);
        const double c = coef(v, i) * m;
        rem_[l2] -= c * cur;
        w_[l2] -= c;
        cnt_[l2] -= 1;
      }
    }
  }
  for (VarId v : comp_vars_)
    if (marked(v)) {  // never frozen (cannot happen: every link with flows is popped)
      unmark(v);
      vars_[v].version++;
    }
  if (comp_vars_.size() > (1u << 16) && comp_vars_.size() * 2 > completions_.size()) {
    // Most heap entries just went stale: drop them before pushing the new
    // ones, so the heap never holds two entries per flow (memory at 4M flows).
    std::erase_if(completions_, [this](const Completion& c) {
      return vars_[c.v].state != 2 || vars_[c.v].version != c.version;
    });
    std::make_heap(completions_.begin(), completions_.end(), PendingLater{});
  }
  if (comp_vars_.size() > completions_.size()) {
    // Mostly new entries: append and heapify once, O(n) instead of n sifts.
    // Pop order is the same: (t, v) is unique among valid entries.
    for (size_t k = 0; k < comp_vars_.size(); ++k) {
      if (k + kPrefetchVars < comp_vars_.size()) __builtin_prefetch(&vars_[comp_vars_[k + kPrefetchVars]]);
      const VarId v = comp_vars_[k];
      if (vars_[v].rate <= 0) continue;  // stalled, as in push_completion
      completions_.push_back(Completion{completion_ps(vars_[v].remaining, vars_[v].rate, vars_[v].t_last), v, vars_[v].version});
    }
    std::make_heap(completions_.begin(), completions_.end(), PendingLater{});
  } else {
    for (VarId v : comp_vars_) push_completion(v);
  }
  for (LinkId l : comp_links_) {
    const size_t li = static_cast<size_t>(l);
    touch_link(li, now);
    const double r = link_vars_[li].empty() ? 0.0 : std::max(0.0, cap_[li] - std::max(0.0, rem_[li]));
    if (params_.record_utilisation) {
      if (last_sample_.empty()) last_sample_.assign(cap_.size(), 0.0f);
      if (static_cast<float>(r) != last_sample_[li]) {
        util_.push_back(UtilisationSample{now, l, static_cast<float>(r)});
        last_sample_[li] = static_cast<float>(r);
      }
    }
    link_rate_[li] = r;
  }
}

double FlowNetwork::rate_of(FlowId f) const {
  if (f >= var_of_.size() || var_of_[f] == kNone) return 0;
  const VarId v = var_of_[f];
  return vars_[v].state == 2 ? vars_[v].rate : 0.0;
}

void FlowNetwork::fail_links(std::span<const LinkId> links) {
  const int64_t now = sched_->now().ps();
  ++instant_;
  dirty_.clear();
  std::vector<VarId> affected;
  for (LinkId l : links) {
    const size_t li = static_cast<size_t>(l);
    up_[li] = 0;
    degraded_[li] = 1;
    cap_[li] = 0;
    dirty_.push_back(l);
    for (VarId v : link_vars_[li])
      if (vars_[v].state == 2) affected.push_back(v);
  }
  // Flows still in their latency phase whose route crosses a failed link.
  for (const Pending& p : pending_) {
    if (vars_[p.v].state != 1 || vars_[p.v].version != p.version) continue;
    for (LinkId l : links_of(p.v))
      if (!up_[static_cast<size_t>(l)]) {
        affected.push_back(p.v);
        break;
      }
  }
  std::sort(affected.begin(), affected.end());
  affected.erase(std::unique(affected.begin(), affected.end()), affected.end());

  std::vector<FlowId> members;
  for (VarId v : affected) {
    advance(v, now);
    members_of(v, members);
    const double rem = vars_[v].remaining;
    const bool was_active = vars_[v].state == 2;
    // Kill first (so that assigned counts no longer include it), then route.
    if (!was_active) {
      // Pending: remove from the pending heap lazily (state check on pop).
      for (LinkId l : links_of(v)) assigned_[static_cast<size_t>(l)] -= vars_[v].mult;
      vars_[v].state = 0;
      vars_[v].version++;
      dead_uses_ += vars_[v].use_count;
      if (vars_[v].mult > 1) extra_members_.erase(v);
      to_free_.push_back(v);
    } else {
      kill_var(v, dirty_);
    }
    for (FlowId f : members) {
      var_of_[f] = kNone;
      bool ok = selector_->reroutes();
      if (ok) {
        rb_.clear();
        FlowRequest req{src_[f], dst_[f], Bytes::from_double(rem), tag_[f], f, 1};
        selector_->select(req, link_state(), rb_);
        ok = !rb_.empty();
        for (size_t p = 0; ok && p < rb_.num_paths(); ++p)
          for (LinkId l : rb_.path(p))
            if (!up_[static_cast<size_t>(l)]) ok = false;
      }
      if (!ok) {
        done_.push_back(FlowDone{f, tag_[f], Time::from_ps(start_[f]), Time::from_ps(now), false, false, true});
        --live_flows_;
        ++stats_.undelivered;
        continue;
      }
      const VarId nv = solo_var(f, rem, 3);
      ++stats_.rerouted;
      for (LinkId l : links_of(nv)) assigned_[static_cast<size_t>(l)] += 1;
      activate(nv, now, dirty_);
    }
  }
  threshold_ = 0;
  finish_instant();
}

void FlowNetwork::degrade_links(std::span<const LinkId> links, double factor) {
  if (factor <= 0) {
    fail_links(links);
    return;
  }
  ++instant_;
  dirty_.clear();
  for (LinkId l : links) {
    const size_t li = static_cast<size_t>(l);
    cap_[li] = base_cap_[li] * factor;
    up_[li] = 1;
    degraded_[li] = factor < 1.0 ? 1 : 0;
    dirty_.push_back(l);
    if (factor < 1.0)
      for (VarId v : link_vars_[li]) vars_[v].flags |= 2;
  }
  threshold_ = 0;
  finish_instant();
}

}  // namespace codesim::sim
