#include "sim/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace codesim {

namespace {

std::string clock_text(double s) {
  if (!std::isfinite(s) || s < 0) return "--:--";
  auto t = static_cast<int64_t>(std::llround(s));
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(t / 3600),
                  static_cast<long long>(t / 60 % 60), static_cast<long long>(t % 60));
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(t / 60), static_cast<long long>(t % 60));
  return buf;
}

}  // namespace

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

ProgressOptions ProgressOptions::for_stderr(bool quiet) {
  ProgressOptions o;
  o.enabled = !quiet && stderr_is_terminal();
  return o;
}

Progress::Progress(std::string label, int64_t total, ProgressOptions options)
    : label_(std::move(label)), total_(std::max<int64_t>(total, 0)), opt_(std::move(options)) {
  if (!opt_.out) opt_.out = &std::cerr;
  start_s_ = now();
}

Progress::~Progress() { finish(); }

double Progress::now() const {
  if (opt_.now_s) return opt_.now_s();
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

void Progress::advance(int64_t n) {
  done_.fetch_add(n, std::memory_order_relaxed);
  if (!opt_.enabled) return;
  std::unique_lock lock(draw_mu_, std::try_to_lock);
  if (!lock.owns_lock() || finished_) return;  // another thread is drawing
  double t = now();
  if (last_draw_s_ >= 0 && t - last_draw_s_ < opt_.min_interval_s) return;
  last_draw_s_ = t;
  draw(false);
}

void Progress::finish() {
  if (!opt_.enabled) return;
  std::lock_guard lock(draw_mu_);
  if (finished_) return;
  draw(true);
  finished_ = true;
}

void Progress::draw(bool final) {
  std::string s = line(label_, done(), total_, now() - start_s_, opt_.width);
  size_t len = s.size();
  if (len < last_len_) s += std::string(last_len_ - len, ' ');  // wipe a longer previous line
  last_len_ = len;
  *opt_.out << '\r' << s;
  if (final) *opt_.out << '\n';
  opt_.out->flush();
}

std::string Progress::line(const std::string& label, int64_t done, int64_t total, double elapsed_s, int width) {
  double frac = total > 0 ? std::clamp(static_cast<double>(done) / static_cast<double>(total), 0.0, 1.0) : 0.0;
  int filled = static_cast<int>(frac * width);
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < width) bar += done > 0 ? ">" : " ";
  bar += std::string(static_cast<size_t>(std::max(0, width - static_cast<int>(bar.size()))), ' ');
  char pct[16];
  std::snprintf(pct, sizeof pct, "%3d%%", static_cast<int>(frac * 100));
  std::string s = label + " [" + bar + "] " + pct + " " + std::to_string(done) + "/" + std::to_string(total);
  if (done >= total && total > 0) {
    s += " " + clock_text(elapsed_s);
  } else {
    double eta = done > 0 ? elapsed_s * static_cast<double>(total - done) / static_cast<double>(done) : NAN;
    s += " ETA " + clock_text(eta);
  }
  return s;
}

}  // namespace codesim
