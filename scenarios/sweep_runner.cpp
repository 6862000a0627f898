#include "scenarios/sweep_runner.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

namespace codesim::scenarios {

namespace {
std::mutex& sink_mutex() {
  static std::mutex m;
  return m;
}
}  // namespace

RowSink::RowSink(const std::string& path) : path_(path) {
  if (path_.empty()) return;
  // A run killed while writing leaves its last row torn, with no newline:
  // end that line first, so the rows this run appends stay whole (the torn
  // one fails to parse and its point is computed again).
  bool torn = false;
  {
    std::ifstream in(path_, std::ios::binary | std::ios::ate);
    if (in && in.tellg() > 0) {
      in.seekg(-1, std::ios::end);
      char last = '\n';
      in.get(last);
      torn = last != '\n';
    }
  }
  std::ofstream probe(path_, std::ios::app);
  if (torn) probe << "\n";
  ok_ = static_cast<bool>(probe);
}

void RowSink::append(const SweepRow& row) {
  if (path_.empty()) return;
  std::lock_guard<std::mutex> lock(sink_mutex());
  std::ofstream out(path_, std::ios::app);
  out << row_to_json(row) << "\n";
  out.flush();
  ok_ = ok_ && static_cast<bool>(out);
}

namespace {
std::pair<size_t, std::string> key_of(const SweepPoint& p, const std::string& context) {
  SweepRow probe;
  probe.point = p;
  probe.context = context;
  return {p.index, probe.fingerprint()};
}
}  // namespace

std::vector<SweepRow> resumable_rows(const std::vector<SweepPoint>& points, const SweepRunOptions& options) {
  std::vector<SweepRow> done;
  if (!options.resume || options.jsonl_path.empty()) return done;
  std::set<std::pair<size_t, std::string>> valid;
  for (const auto& p : points) valid.insert(key_of(p, options.context));
  std::set<size_t> seen;  // a point appended twice (two runs racing) counts once
  for (auto& r : read_rows(options.jsonl_path))
    if (valid.count({r.point.index, r.fingerprint()}) && seen.insert(r.point.index).second)
      done.push_back(std::move(r));
  return done;
}

std::vector<SweepPoint> remaining_points(const std::vector<SweepPoint>& points,
                                         const std::vector<SweepRow>& done, const std::string& context) {
  std::set<std::pair<size_t, std::string>> have;
  for (const auto& r : done) have.emplace(r.point.index, r.fingerprint());
  std::vector<SweepPoint> left;
  for (const auto& p : points)
    if (!have.count(key_of(p, context))) left.push_back(p);
  return left;
}

SweepRunSummary run_sweep_threads(const SweepSpec& spec, const config::Node& base,
                                  const std::string& base_path, const Evaluator& eval,
                                  const SweepRunOptions& options) {
  SweepRunSummary summary;
  std::vector<SweepPoint> points = expand(spec);
  summary.total = points.size();

  // Rows already on disk for points of this sweep count as done.
  std::vector<SweepRow> done = resumable_rows(points, options);
  std::vector<SweepPoint> todo = remaining_points(points, done, options.context);
  summary.resumed = done.size();

  RowSink sink(options.jsonl_path);
  std::vector<SweepRow> fresh(todo.size());
  std::atomic<size_t> next{0};
  std::atomic<size_t> finished{0};
  std::mutex progress_mutex;
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < todo.size();) {
      fresh[i] = evaluate_point(base, base_path, spec, todo[i], eval);
      fresh[i].context = options.context;
      sink.append(fresh[i]);
      size_t n = finished.fetch_add(1) + 1;
      if (options.progress) {
        std::lock_guard<std::mutex> lock(progress_mutex);
        options.progress(summary.resumed + n, summary.total);
      }
    }
  };
  int threads = std::max(1, std::min<int>(options.threads, static_cast<int>(todo.size())));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();

  summary.evaluated = todo.size();
  summary.rows = std::move(done);
  for (auto& r : fresh) summary.rows.push_back(std::move(r));
  std::sort(summary.rows.begin(), summary.rows.end(),
            [](const SweepRow& a, const SweepRow& b) { return a.point.index < b.point.index; });
  return summary;
}

}  // namespace codesim::scenarios
