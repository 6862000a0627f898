// File: sim/progress.hpp
//
// A progress bar with an ETA for long runs (a sweep, a big step simulation),
// drawn on stderr only when stderr is a terminal and the user did not ask
// for --quiet; otherwise it prints nothing at all, so piped and CI output
// stays clean.
//
// It lives in sim/ so that every layer (workloads, scenarios, cli) can use
// it. The composition root decides whether it is on and passes the options
// down; nothing here reads globals:
//
//   // cli: ProgressOptions p = ProgressOptions::for_stderr(global.quiet);
//   // workload code:
//   Progress bar("sweep", points.size(), p);
//   for (...) { ...; bar.advance(); }      // any thread
//   bar.finish();                          // or let the destructor do it
//
// advance() is thread-safe and cheap (an atomic add; the line is redrawn at
// most every `min_interval_s`, by whichever thread gets the draw lock).
// The clock and the sink are injectable for tests.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <ostream>
#include <string>

namespace codesim {

struct ProgressOptions {
  bool enabled = false;          // false: Progress prints nothing
  std::ostream* out = nullptr;   // default: std::cerr
  int width = 30;                // bar cells
  double min_interval_s = 0.1;   // redraw at most this often
  std::function<double()> now_s; // seconds from any fixed origin; default: steady_clock

  // On when !quiet and stderr is a terminal (isatty(2)).
  static ProgressOptions for_stderr(bool quiet);
  // Always off.
  static ProgressOptions disabled() { return {}; }
};

bool stderr_is_terminal();

class Progress {
 public:
  Progress(std::string label, int64_t total, ProgressOptions options);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Adds `n` units of work done (thread-safe).
  void advance(int64_t n = 1);
  int64_t done() const { return done_.load(std::memory_order_relaxed); }
  int64_t total() const { return total_; }
  // Draws the final state and ends the line (once; later calls do nothing).
  void finish();

  // The text of the line for `done` of `total` after `elapsed_s`, e.g.
  // "sweep [=========>          ]  32% 16/50 ETA 0:12". Exposed for tests.
  static std::string line(const std::string& label, int64_t done, int64_t total, double elapsed_s, int width);

 private:
  void draw(bool final);
  double now() const;

  std::string label_;
  int64_t total_;
  ProgressOptions opt_;
  std::atomic<int64_t> done_{0};
  std::mutex draw_mu_;
  double start_s_ = 0;
  double last_draw_s_ = -1;
  size_t last_len_ = 0;
  bool finished_ = false;
};

}  // namespace codesim
