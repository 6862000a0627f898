// File: scenarios/sweep_runner.hpp
//
// Runs a sweep's points on this machine's cores (threads), appending each
// finished row to a JSON Lines file as it completes, so that an interrupted
// sweep resumes: rows already in the file (same index and same overrides)
// are not evaluated again. The MPI driver (cli/sweep_mpi.cpp) spreads the
// same points over ranks with the same row format.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "scenarios/sweep.hpp"

namespace codesim::scenarios {

struct SweepRunOptions {
  int threads = 1;
  std::string jsonl_path;  // rows are appended here ("" = keep in memory only)
  bool resume = true;      // skip points already in jsonl_path
  // Identity of the run (evaluator mode, build, inputs: cmd_sweep.cpp
  // sweep_context):
  // stamped on every row, and only rows with the same stamp are resumed, so
  // that a --full run never reuses fast rows and an edited scenario or a
  // rebuilt codesim recomputes.
  std::string context;
  // Called after each finished point (from any thread, serialised).
  std::function<void(size_t done, size_t total)> progress;
};

struct SweepRunSummary {
  size_t total = 0;
  size_t evaluated = 0;  // this run
  size_t resumed = 0;    // found in the file
  std::vector<SweepRow> rows;  // all rows, sorted by point index
};

// Appends rows to a JSON Lines file; thread-safe; flushes each line.
class RowSink {
 public:
  explicit RowSink(const std::string& path);
  void append(const SweepRow& row);
  bool ok() const { return ok_; }

 private:
  std::string path_;
  bool ok_ = true;
};

// The points of `points` not already present (by index and overrides) in `done`.
// The rows of options.jsonl_path that belong to `points` under
// options.context (empty unless options.resume).
std::vector<SweepRow> resumable_rows(const std::vector<SweepPoint>& points, const SweepRunOptions& options);

// The points that have no row in `done` under `context`.
std::vector<SweepPoint> remaining_points(const std::vector<SweepPoint>& points,
                                         const std::vector<SweepRow>& done, const std::string& context = "");

SweepRunSummary run_sweep_threads(const SweepSpec& spec, const config::Node& base,
                                  const std::string& base_path, const Evaluator& eval,
                                  const SweepRunOptions& options);

}  // namespace codesim::scenarios
