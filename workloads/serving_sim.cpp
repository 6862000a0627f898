#include "workloads/serving_sim.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <queue>

#include "models/counts.hpp"
#include "workloads/serving_step.hpp"

namespace codesim::workloads {
namespace {

// SplitMix64: small, fast, and fully specified (std:: distributions are not
// portable across standard libraries, so they are not used).
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double exponential(double rate) { return -std::log1p(-uniform()) / rate; }
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = 1.0 - uniform(), u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2 * M_PI * u2);
    has_spare_ = true;
    return r * std::cos(2 * M_PI * u2);
  }

 private:
  uint64_t s_;
  double spare_ = 0;
  bool has_spare_ = false;
};

uint64_t stream_seed(int64_t seed, uint64_t component) {
  Rng r(static_cast<uint64_t>(seed) ^ (component * 0xD1B54A32D192ED03ULL));
  r.next();
  return r.next();
}

int sample_length(Rng& rng, const LengthDist& d) {
  double x = d.mean;
  if (d.cv > 0) {
    const double s2 = std::log1p(d.cv * d.cv);
    x = std::exp(std::log(d.mean) - s2 / 2 + std::sqrt(s2) * rng.normal());
  }
  x = std::clamp(x, d.min, d.max);
  return std::max(1, static_cast<int>(std::lround(x)));
}

struct Request {
  double arrival = 0;
  double first_token = 0;
  int input = 0, output = 0;
  int cached = 0;
  double join_offset = 0;  // input - join_step * accepted (decode context bookkeeping)
  bool measured = false;
};

enum class Ev : uint8_t { kPrefillDone, kKvReady, kDecodeStepDone };
struct Event {
  double time;
  uint64_t seq;
  Ev kind;
  int unit;
  int32_t req;
  bool operator>(const Event& o) const { return time != o.time ? time > o.time : seq > o.seq; }
};

LatencyStats stats(std::vector<float>& v) {
  LatencyStats s;
  s.count = static_cast<int64_t>(v.size());
  if (v.empty()) return s;
  double sum = 0;
  for (float x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  auto pct = [&](double p) {
    const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return static_cast<double>(v[k]);
  };
  s.p50 = pct(0.50);
  s.p90 = pct(0.90);
  s.p99 = pct(0.99);
  return s;
}

}  // namespace

SimResult simulate_serving(const ServingSpec& spec, const ServingEstimate& sized) {
  SimResult res;
  const int pu = std::max(1, static_cast<int>(std::ceil(sized.prefill_units - 1e-9)));
  const int du = std::max(1, static_cast<int>(std::ceil(sized.decode_units - 1e-9)));
  res.prefill_units = pu;
  res.decode_units = du;
  res.prefill_nodes = pu * spec.prefill.nodes;
  res.decode_nodes = du * spec.decode.nodes;

  const StepModel pmodel(spec, spec.prefill, true);
  const StepModel dmodel(spec, spec.decode, false);
  const double pep = spec.prefill.ep, dep = spec.decode.ep;
  const double batch_tokens = spec.prefill.tokens_per_gpu * pep;
  const double acc = StepModel::accepted_per_step(spec.mtp.depth, spec.mtp.acceptance);
  const int depth = spec.mtp.depth;
  const int64_t cap = std::max<int64_t>(1, static_cast<int64_t>(std::floor(sized.decode.batch_per_gpu * dep)));
  const double kv_bytes = models::kv_cache_bytes_per_token(spec.model, spec.decode.kv_precision).as_double();
  const double kv_bw = spec.calibration.kv_transfer_bandwidth.bytes_per_second();
  const double hit = spec.traffic.cache_hit_rate;
  const double rate = spec.traffic.arrival_rate();
  const double t0 = spec.simulate.warmup.seconds();
  const double t_end = t0 + spec.simulate.duration.seconds();

  Rng rng(stream_seed(spec.simulate.seed, 0x73657276696E67ULL));  // "serving"
  std::vector<Request> pool;
  std::vector<int32_t> free_ids;
  auto alloc = [&](Request r) {
    if (!free_ids.empty()) {
      const int32_t id = free_ids.back();
      free_ids.pop_back();
      pool[static_cast<size_t>(id)] = r;
      return id;
    }
    pool.push_back(r);
    return static_cast<int32_t>(pool.size() - 1);
  };
  auto release = [&](int32_t id) { free_ids.push_back(id); };

  std::priority_queue<Event, std::vector<Event>, std::greater<>> events;
  uint64_t seq = 0;
  auto push = [&](double t, Ev k, int unit, int32_t req) { events.push({t, seq++, k, unit, req}); };

  // Prefill pool.
  std::deque<int32_t> queue;
  std::vector<std::vector<int32_t>> batch(static_cast<size_t>(pu));
  std::vector<bool> p_busy(static_cast<size_t>(pu), false);
  std::vector<int> p_idle;
  for (int u = pu - 1; u >= 0; --u) p_idle.push_back(u);
  double p_busy_time = 0, in_tokens_window = 0;

  // Decode pool.
  struct DecodeUnit {
    int64_t n = 0;
    int64_t step = 0;
    double s0 = 0;  // sum over active of (input + 1 - join_step * acc)
    bool running = false;
    double step_start = 0;
    std::deque<int32_t> pending;
    std::priority_queue<std::pair<int64_t, int32_t>, std::vector<std::pair<int64_t, int32_t>>, std::greater<>>
        finish;
  };
  std::vector<DecodeUnit> dec(static_cast<size_t>(du));
  double out_tokens_window = 0, batch_time_integral = 0;

  std::vector<float> ttft, tpot;
  const double expected = rate * (t_end - t0);
  ttft.reserve(static_cast<size_t>(expected * 1.05) + 16);
  tpot.reserve(static_cast<size_t>(expected * 1.05) + 16);

  auto start_prefill = [&](double now) {
    while (!queue.empty() && !p_idle.empty()) {
      const int u = p_idle.back();
      p_idle.pop_back();
      auto& b = batch[static_cast<size_t>(u)];
      b.clear();
      double new_tokens = 0, pairs = 0, kv_tokens = 0;
      while (!queue.empty()) {
        const Request& r = pool[static_cast<size_t>(queue.front())];
        const double n = r.input - r.cached;
        if (!b.empty() && new_tokens + n > batch_tokens) break;
        new_tokens += n;
        pairs += n * r.cached + n * n / 2;
        kv_tokens += r.input;
        b.push_back(queue.front());
        queue.pop_front();
      }
      const double reqs = static_cast<double>(b.size());
      const double t = pmodel.prefill_batch(new_tokens / pep, reqs / pep, pairs / pep, kv_tokens / pep).total.seconds();
      const double a = std::max(now, t0), e = std::min(now + t, t_end);
      if (e > a) p_busy_time += e - a;
      push(now + t, Ev::kPrefillDone, u, -1);
    }
  };

  auto start_decode_step = [&](int u, double now) {
    DecodeUnit& d = dec[static_cast<size_t>(u)];
    while (d.n < cap && !d.pending.empty()) {
      const int32_t id = d.pending.front();
      d.pending.pop_front();
      Request& r = pool[static_cast<size_t>(id)];
      const int64_t steps = std::max<int64_t>(1, static_cast<int64_t>(std::ceil((r.output - 1) / acc)));
      r.join_offset = r.input + 1 - static_cast<double>(d.step) * acc;
      d.s0 += r.join_offset;
      ++d.n;
      d.finish.push({d.step + steps, id});
    }
    if (d.n == 0) {
      d.running = false;
      return;
    }
    const double ctx = (d.s0 + static_cast<double>(d.n) * static_cast<double>(d.step) * acc) / static_cast<double>(d.n);
    const double t = dmodel.decode(static_cast<double>(d.n) / dep, ctx, depth).total.seconds();
    d.running = true;
    d.step_start = now;
    push(now + t, Ev::kDecodeStepDone, u, -1);
  };

  double next_arrival = rng.exponential(rate);
  for (;;) {
    const bool arrival_next = events.empty() || next_arrival <= events.top().time;
    const double now = arrival_next ? next_arrival : events.top().time;
    if (now > t_end) break;
    ++res.events;
    if (arrival_next) {
      Request r;
      r.arrival = now;
      r.input = sample_length(rng, spec.traffic.input_length);
      r.output = sample_length(rng, spec.traffic.output_length);
      r.cached = std::min(r.input - 1, static_cast<int>(std::lround(r.input * hit)));
      r.measured = now >= t0;
      if (r.measured) ++res.arrived;
      queue.push_back(alloc(r));
      next_arrival = now + rng.exponential(rate);
      start_prefill(now);
      continue;
    }
    const Event ev = events.top();
    events.pop();
    switch (ev.kind) {
      case Ev::kPrefillDone: {
        for (int32_t id : batch[static_cast<size_t>(ev.unit)]) {
          Request& r = pool[static_cast<size_t>(id)];
          r.first_token = now;
          if (now >= t0) in_tokens_window += r.input;
          if (r.measured) ttft.push_back(static_cast<float>(now - r.arrival));
          if (r.output <= 1) {
            release(id);
            continue;
          }
          push(now + kv_bytes * r.input / kv_bw, Ev::kKvReady, -1, id);
        }
        batch[static_cast<size_t>(ev.unit)].clear();
        p_idle.push_back(ev.unit);
        start_prefill(now);
        break;
      }
      case Ev::kKvReady: {
        int best = 0;
        int64_t load = INT64_MAX;
        for (int u = 0; u < du; ++u) {
          const DecodeUnit& d = dec[static_cast<size_t>(u)];
          const int64_t l = d.n + static_cast<int64_t>(d.pending.size());
          if (l < load) load = l, best = u;
        }
        dec[static_cast<size_t>(best)].pending.push_back(ev.req);
        if (!dec[static_cast<size_t>(best)].running) start_decode_step(best, now);
        break;
      }
      case Ev::kDecodeStepDone: {
        DecodeUnit& d = dec[static_cast<size_t>(ev.unit)];
        const double a = std::max(d.step_start, t0);
        if (now > a) {
          batch_time_integral += static_cast<double>(d.n) * (now - a);
          out_tokens_window += static_cast<double>(d.n) * acc * (now - a) / (now - d.step_start);
        }
        ++d.step;
        while (!d.finish.empty() && d.finish.top().first <= d.step) {
          const int32_t id = d.finish.top().second;
          d.finish.pop();
          Request& r = pool[static_cast<size_t>(id)];
          d.s0 -= r.join_offset;
          --d.n;
          if (r.measured) ++res.completed;
          if (r.measured && r.output > 1)
            tpot.push_back(static_cast<float>((now - r.first_token) / (r.output - 1)));
          release(id);
        }
        start_decode_step(ev.unit, now);
        break;
      }
    }
  }

  const double window = t_end - t0;
  res.simulated = Seconds(window);
  res.input_tokens_per_s_per_prefill_node = in_tokens_window / window / res.prefill_nodes;
  res.output_tokens_per_s_per_decode_node = out_tokens_window / window / res.decode_nodes;
  res.mean_decode_batch_per_gpu = batch_time_integral / window / (du * dep);
  res.prefill_busy = p_busy_time / (window * pu);
  res.prefill_queue_at_end = queue.size();
  for (const DecodeUnit& d : dec) res.decode_waiting_at_end += d.pending.size();
  res.ttft = stats(ttft);
  res.tpot = stats(tpot);
  return res;
}

}  // namespace codesim::workloads
