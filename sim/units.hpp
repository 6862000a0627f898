// File: sim/units.hpp
//
// Strong unit types for everything codesim measures: simulated time, spans of
// time, byte counts, bandwidth, FLOP counts and FLOP rates. Values are made
// only through factories (Nanoseconds(250), GiB(80), Gbps(400), TFlops(989)),
// read out by dividing by a unit (d / Microseconds(1)), and combined only by
// the operators that make physical sense:
//
//   Bytes / Bandwidth   -> Duration       Bandwidth * Duration -> Bytes
//   Flops / FlopRate    -> Duration       FlopRate * Duration  -> Flops
//   Bytes / Duration    -> Bandwidth      Flops / Duration     -> FlopRate
//   Time - Time         -> Duration       Time + Duration      -> Time
//
// Time and Duration hold int64 picoseconds. The range is +-2^63 ps, about
// +-106 days of simulated time; that is far beyond any step or trace codesim
// replays. Conversions from floating point round to the nearest picosecond
// (llround), never truncate. Duration::infinite() saturates: it is the
// answer for a transfer at zero bandwidth, and it stays infinite under +.
//
// Bytes hold uint64 (never int or uint32: a 2,048-GPU all-to-all moves
// terabytes). Bandwidth is bytes per second, Flops and FlopRate are FLOP and
// FLOP/s, all as double, since they come from products and ratios.
//
// Decimal prefixes are exact powers of ten (the paper's KB is 1000 B) and
// binary prefixes exact powers of two (a GiB is 2^30 B). Bandwidth in bits
// (Gbps) is divided by 8: 400 Gbps is 50 GB/s.
#pragma once

#include <cmath>
#include <compare>
#include <concepts>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace codesim {

namespace detail {
inline int64_t round_ps(double ps) {
  if (!(ps < 9.2e18)) return std::numeric_limits<int64_t>::max();  // +inf and NaN saturate
  if (ps < -9.2e18) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(std::llround(ps));
}
}  // namespace detail

// A span of simulated time, in integer picoseconds.
class Duration {
 public:
  constexpr Duration() = default;
  static constexpr Duration from_ps(int64_t ps) { return Duration(ps); }
  static Duration from_seconds(double s) { return Duration(detail::round_ps(s * 1e12)); }
  static constexpr Duration zero() { return Duration(0); }
  static constexpr Duration infinite() { return Duration(std::numeric_limits<int64_t>::max()); }

  constexpr int64_t ps() const { return ps_; }
  constexpr double seconds() const { return static_cast<double>(ps_) * 1e-12; }
  constexpr bool is_infinite() const { return ps_ == std::numeric_limits<int64_t>::max(); }

  // How many `unit`s fit: Duration / Duration is a plain ratio.
  constexpr double operator/(Duration unit) const {
    return static_cast<double>(ps_) / static_cast<double>(unit.ps_);
  }
  constexpr Duration operator+(Duration o) const {
    if (is_infinite() || o.is_infinite()) return infinite();
    return Duration(ps_ + o.ps_);
  }
  constexpr Duration operator-(Duration o) const { return Duration(ps_ - o.ps_); }
  constexpr Duration& operator+=(Duration o) { return *this = *this + o; }
  constexpr Duration& operator-=(Duration o) { return *this = *this - o; }
  Duration operator*(double k) const {
    if (is_infinite()) return infinite();
    return Duration(detail::round_ps(static_cast<double>(ps_) * k));
  }
  constexpr Duration operator*(int64_t k) const { return Duration(ps_ * k); }
  Duration operator/(double k) const { return Duration(detail::round_ps(static_cast<double>(ps_) / k)); }
  constexpr auto operator<=>(const Duration&) const = default;

 private:
  constexpr explicit Duration(int64_t ps) : ps_(ps) {}
  int64_t ps_ = 0;
};

inline Duration operator*(double k, Duration d) { return d * k; }

// Integer arguments are exact; floating-point ones round to the nearest ps.
template <std::integral I>
constexpr Duration Picoseconds(I v) { return Duration::from_ps(static_cast<int64_t>(v)); }
template <std::integral I>
constexpr Duration Nanoseconds(I v) { return Duration::from_ps(static_cast<int64_t>(v) * 1'000); }
template <std::integral I>
constexpr Duration Microseconds(I v) { return Duration::from_ps(static_cast<int64_t>(v) * 1'000'000); }
template <std::integral I>
constexpr Duration Milliseconds(I v) { return Duration::from_ps(static_cast<int64_t>(v) * 1'000'000'000); }
template <std::integral I>
constexpr Duration Seconds(I v) { return Duration::from_ps(static_cast<int64_t>(v) * 1'000'000'000'000); }
template <std::floating_point F>
Duration Nanoseconds(F v) { return Duration::from_seconds(static_cast<double>(v) * 1e-9); }
template <std::floating_point F>
Duration Microseconds(F v) { return Duration::from_seconds(static_cast<double>(v) * 1e-6); }
template <std::floating_point F>
Duration Milliseconds(F v) { return Duration::from_seconds(static_cast<double>(v) * 1e-3); }
template <std::floating_point F>
Duration Seconds(F v) { return Duration::from_seconds(static_cast<double>(v)); }

// A point in simulated time, picoseconds since the start of the run.
class Time {
 public:
  constexpr Time() = default;
  static constexpr Time zero() { return Time(); }
  static constexpr Time from_ps(int64_t ps) { return Time(Duration::from_ps(ps)); }
  constexpr int64_t ps() const { return since_start_.ps(); }
  constexpr double seconds() const { return since_start_.seconds(); }
  constexpr Duration since_start() const { return since_start_; }

  constexpr Time operator+(Duration d) const { return Time(since_start_ + d); }
  constexpr Time& operator+=(Duration d) { return *this = *this + d; }
  constexpr Duration operator-(Time o) const { return since_start_ - o.since_start_; }
  constexpr auto operator<=>(const Time&) const = default;

 private:
  constexpr explicit Time(Duration d) : since_start_(d) {}
  Duration since_start_;
};

class Bandwidth;

// A byte count.
class Bytes {
 public:
  constexpr Bytes() = default;
  static constexpr Bytes from_count(uint64_t n) { return Bytes(n); }
  // Rounds a fractional byte count (e.g. from a ratio) to the nearest byte.
  static Bytes from_double(double n) { return Bytes(n <= 0 ? 0 : static_cast<uint64_t>(std::llround(n))); }
  constexpr uint64_t count() const { return n_; }
  constexpr double as_double() const { return static_cast<double>(n_); }

  constexpr double operator/(Bytes unit) const { return static_cast<double>(n_) / static_cast<double>(unit.n_); }
  constexpr Bytes operator+(Bytes o) const { return Bytes(n_ + o.n_); }
  constexpr Bytes operator-(Bytes o) const { return Bytes(n_ - o.n_); }
  constexpr Bytes& operator+=(Bytes o) { n_ += o.n_; return *this; }
  constexpr Bytes& operator-=(Bytes o) { n_ -= o.n_; return *this; }
  constexpr Bytes operator*(uint64_t k) const { return Bytes(n_ * k); }
  Bytes operator*(double k) const { return from_double(static_cast<double>(n_) * k); }
  constexpr auto operator<=>(const Bytes&) const = default;

  Duration operator/(Bandwidth bw) const;
  Bandwidth operator/(Duration d) const;

 private:
  constexpr explicit Bytes(uint64_t n) : n_(n) {}
  uint64_t n_ = 0;
};

constexpr Bytes B(uint64_t v) { return Bytes::from_count(v); }
constexpr Bytes KB(uint64_t v) { return Bytes::from_count(v * 1'000ULL); }
constexpr Bytes MB(uint64_t v) { return Bytes::from_count(v * 1'000'000ULL); }
constexpr Bytes GB(uint64_t v) { return Bytes::from_count(v * 1'000'000'000ULL); }
constexpr Bytes TB(uint64_t v) { return Bytes::from_count(v * 1'000'000'000'000ULL); }
constexpr Bytes KiB(uint64_t v) { return Bytes::from_count(v << 10); }
constexpr Bytes MiB(uint64_t v) { return Bytes::from_count(v << 20); }
constexpr Bytes GiB(uint64_t v) { return Bytes::from_count(v << 30); }
constexpr Bytes TiB(uint64_t v) { return Bytes::from_count(v << 40); }

// A data rate in bytes per second.
class Bandwidth {
 public:
  constexpr Bandwidth() = default;
  static constexpr Bandwidth from_bytes_per_second(double v) { return Bandwidth(v); }
  constexpr double bytes_per_second() const { return bps_; }
  constexpr double operator/(Bandwidth unit) const { return bps_ / unit.bps_; }
  constexpr Bandwidth operator+(Bandwidth o) const { return Bandwidth(bps_ + o.bps_); }
  constexpr Bandwidth operator-(Bandwidth o) const { return Bandwidth(bps_ - o.bps_); }
  constexpr Bandwidth operator*(double k) const { return Bandwidth(bps_ * k); }
  constexpr Bandwidth operator/(double k) const { return Bandwidth(bps_ / k); }
  constexpr auto operator<=>(const Bandwidth&) const = default;
  Bytes operator*(Duration d) const { return Bytes::from_double(bps_ * d.seconds()); }

 private:
  constexpr explicit Bandwidth(double v) : bps_(v) {}
  double bps_ = 0;
};

constexpr Bandwidth BytesPerSecond(double v) { return Bandwidth::from_bytes_per_second(v); }
constexpr Bandwidth GBps(double v) { return Bandwidth::from_bytes_per_second(v * 1e9); }
constexpr Bandwidth TBps(double v) { return Bandwidth::from_bytes_per_second(v * 1e12); }
constexpr Bandwidth Gbps(double v) { return Bandwidth::from_bytes_per_second(v * 1e9 / 8); }

inline Duration Bytes::operator/(Bandwidth bw) const {
  if (bw.bytes_per_second() <= 0) return n_ == 0 ? Duration::zero() : Duration::infinite();
  return Duration::from_seconds(static_cast<double>(n_) / bw.bytes_per_second());
}
inline Bandwidth Bytes::operator/(Duration d) const {
  return Bandwidth::from_bytes_per_second(static_cast<double>(n_) / d.seconds());
}
inline Bytes operator*(Duration d, Bandwidth bw) { return bw * d; }

class FlopRate;

// A count of floating-point operations (a multiply-add is 2).
class Flops {
 public:
  constexpr Flops() = default;
  static constexpr Flops from_count(double v) { return Flops(v); }
  constexpr double count() const { return v_; }
  constexpr double operator/(Flops unit) const { return v_ / unit.v_; }
  constexpr Flops operator+(Flops o) const { return Flops(v_ + o.v_); }
  constexpr Flops operator-(Flops o) const { return Flops(v_ - o.v_); }
  constexpr Flops& operator+=(Flops o) { v_ += o.v_; return *this; }
  constexpr Flops operator*(double k) const { return Flops(v_ * k); }
  constexpr auto operator<=>(const Flops&) const = default;
  Duration operator/(FlopRate r) const;
  FlopRate operator/(Duration d) const;

 private:
  constexpr explicit Flops(double v) : v_(v) {}
  double v_ = 0;
};

constexpr Flops GFlops(double v) { return Flops::from_count(v * 1e9); }
constexpr Flops TFlopCount(double v) { return Flops::from_count(v * 1e12); }

// FLOP per second.
class FlopRate {
 public:
  constexpr FlopRate() = default;
  static constexpr FlopRate from_per_second(double v) { return FlopRate(v); }
  constexpr double per_second() const { return v_; }
  constexpr double operator/(FlopRate unit) const { return v_ / unit.v_; }
  constexpr FlopRate operator*(double k) const { return FlopRate(v_ * k); }
  constexpr FlopRate operator+(FlopRate o) const { return FlopRate(v_ + o.v_); }
  constexpr auto operator<=>(const FlopRate&) const = default;
  Flops operator*(Duration d) const { return Flops::from_count(v_ * d.seconds()); }

 private:
  constexpr explicit FlopRate(double v) : v_(v) {}
  double v_ = 0;
};

constexpr FlopRate TFlops(double v) { return FlopRate::from_per_second(v * 1e12); }
constexpr FlopRate PFlops(double v) { return FlopRate::from_per_second(v * 1e15); }

inline Duration Flops::operator/(FlopRate r) const {
  if (r.per_second() <= 0) return v_ == 0 ? Duration::zero() : Duration::infinite();
  return Duration::from_seconds(v_ / r.per_second());
}
inline FlopRate Flops::operator/(Duration d) const { return FlopRate::from_per_second(v_ / d.seconds()); }

// ---------------------------------------------------------------------------
// Parsing and printing. One table-driven parser serves every unit string in
// scenario files and on the command line. Each parse_* returns false and
// leaves `why` set when the text is not a number with a unit of that kind.

// The limits parsing enforces. Time is int64 picoseconds: 9.22e6 s (106.7
// days) fits; kMaxSeconds leaves headroom for sums. Below kMinBandwidth no
// interconnect is modelled, and the times it would give overflow the clock.
inline constexpr double kMaxSeconds = 9e6;            // 104 days
inline constexpr double kMinBandwidthBytesPerS = 1e6;  // 1 MB/s
// Byte counts are 64-bit; a size above an exabyte (1e18 B, 2^63 is 9.2e18)
// is a typo, and sums of a few of them would overflow.
inline constexpr double kMaxBytes = 1e18;

bool parse_duration(std::string_view text, Duration& out, std::string& why);
bool parse_bytes(std::string_view text, Bytes& out, std::string& why);
bool parse_bandwidth(std::string_view text, Bandwidth& out, std::string& why);
bool parse_flops(std::string_view text, Flops& out, std::string& why);
bool parse_flop_rate(std::string_view text, FlopRate& out, std::string& why);

// The accepted units of each kind, for error messages ("expected one of ...").
std::string_view duration_units_help();
std::string_view bytes_units_help();
std::string_view bandwidth_units_help();
std::string_view flops_units_help();
std::string_view flop_rate_units_help();

// Canonical text forms that parse back to the same value ("1.5us", "80GiB",
// "50GB/s", "989TFLOPS"). Used by `codesim show` and reports.
std::string to_string(Duration d);
std::string to_string(Bytes b);
std::string to_string(Bandwidth bw);
std::string to_string(Flops f);
std::string to_string(FlopRate r);

}  // namespace codesim
