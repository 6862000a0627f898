#include "sim/units.hpp"

#include <array>
#include <charconv>
#include <cstdio>
#include <string>

namespace codesim {
namespace {

// One unit suffix and its factor to the base unit (s, B, B/s, FLOP, FLOP/s).
struct UnitEntry {
  std::string_view suffix;
  double factor;
};

// Suffixes are matched exactly (case-sensitive), so "Gb" (bits) and "GB"
// (bytes) cannot be confused. Longest suffixes are tried first.
constexpr std::array kDurationUnits{
    UnitEntry{"ps", 1e-12}, UnitEntry{"ns", 1e-9}, UnitEntry{"us", 1e-6}, UnitEntry{"µs", 1e-6},
    UnitEntry{"ms", 1e-3},  UnitEntry{"s", 1.0},   UnitEntry{"min", 60.0}, UnitEntry{"h", 3600.0},
    UnitEntry{"d", 86400.0}};

constexpr std::array kBytesUnits{
    UnitEntry{"B", 1.0},           UnitEntry{"KB", 1e3},           UnitEntry{"kB", 1e3},
    UnitEntry{"MB", 1e6},          UnitEntry{"GB", 1e9},           UnitEntry{"TB", 1e12},
    UnitEntry{"PB", 1e15},         UnitEntry{"KiB", 1024.0},       UnitEntry{"MiB", 1048576.0},
    UnitEntry{"GiB", 1073741824.0}, UnitEntry{"TiB", 1099511627776.0},
    UnitEntry{"PiB", 1125899906842624.0}};

constexpr std::array kBandwidthUnits{
    UnitEntry{"B/s", 1.0},     UnitEntry{"KB/s", 1e3},   UnitEntry{"MB/s", 1e6},
    UnitEntry{"GB/s", 1e9},    UnitEntry{"TB/s", 1e12},  UnitEntry{"KiB/s", 1024.0},
    UnitEntry{"MiB/s", 1048576.0}, UnitEntry{"GiB/s", 1073741824.0},
    UnitEntry{"bps", 1.0 / 8}, UnitEntry{"Kbps", 1e3 / 8}, UnitEntry{"Mbps", 1e6 / 8},
    UnitEntry{"Gbps", 1e9 / 8}, UnitEntry{"Tbps", 1e12 / 8}, UnitEntry{"Gb/s", 1e9 / 8},
    UnitEntry{"Tb/s", 1e12 / 8}};

constexpr std::array kFlopsUnits{
    UnitEntry{"FLOP", 1.0},   UnitEntry{"KFLOP", 1e3},  UnitEntry{"MFLOP", 1e6},
    UnitEntry{"GFLOP", 1e9},  UnitEntry{"TFLOP", 1e12}, UnitEntry{"PFLOP", 1e15},
    UnitEntry{"EFLOP", 1e18}};

constexpr std::array kFlopRateUnits{
    UnitEntry{"FLOPS", 1.0},   UnitEntry{"GFLOPS", 1e9},  UnitEntry{"TFLOPS", 1e12},
    UnitEntry{"PFLOPS", 1e15}, UnitEntry{"EFLOPS", 1e18}, UnitEntry{"FLOP/s", 1.0},
    UnitEntry{"GFLOP/s", 1e9}, UnitEntry{"TFLOP/s", 1e12}, UnitEntry{"PFLOP/s", 1e15}};

template <size_t N>
std::string help_of(const std::array<UnitEntry, N>& table) {
  std::string s;
  for (const auto& e : table) {
    if (!s.empty()) s += ", ";
    s += e.suffix;
  }
  return s;
}

std::string_view trim(std::string_view t) {
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  return t;
}

// Splits "1.5 us" / "1.5us" into a number and a suffix, then looks the suffix
// up. A number without a unit is an error: units are mandatory.
template <size_t N>
bool parse_with(std::string_view text, const std::array<UnitEntry, N>& table, const char* kind,
                double& value, std::string& why) {
  std::string_view t = trim(text);
  size_t i = 0;
  while (i < t.size() && (std::isdigit(static_cast<unsigned char>(t[i])) || t[i] == '.' ||
                          t[i] == '-' || t[i] == '+' || t[i] == 'e' || t[i] == 'E')) {
    // 'e' belongs to the number only when followed by a digit or sign (1e9, 2.5e-3).
    if ((t[i] == 'e' || t[i] == 'E') &&
        !(i + 1 < t.size() && (std::isdigit(static_cast<unsigned char>(t[i + 1])) ||
                               t[i + 1] == '-' || t[i + 1] == '+')))
      break;
    ++i;
  }
  std::string_view num = t.substr(0, i);
  std::string_view unit = trim(t.substr(i));
  if (num.empty()) {
    why = "'" + std::string(text) + "' is not a " + kind +
          ": expected a number followed by one of: " + help_of(table);
    return false;
  }
  double v = 0;
  auto res = std::from_chars(num.data(), num.data() + num.size(), v);
  if (res.ec != std::errc() || res.ptr != num.data() + num.size()) {
    why = "'" + std::string(num) + "' is not a number";
    return false;
  }
  if (unit.empty()) {
    why = "'" + std::string(text) + "' has no unit; a " + kind + " needs one of: " + help_of(table);
    return false;
  }
  for (const auto& e : table) {
    if (e.suffix == unit) {
      if (v < 0) {
        why = "'" + std::string(text) + "' is negative; a " + kind + " must be >= 0";
        return false;
      }
      value = v * e.factor;
      return true;
    }
  }
  why = "unknown " + std::string(kind) + " unit '" + std::string(unit) + "'; expected one of: " +
        help_of(table);
  return false;
}

std::string fmt(double v, std::string_view suffix) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.12g", v);
  return std::string(buf) + std::string(suffix);
}

// Chooses the largest unit that leaves a value >= 1 and prints with up to 12
// significant digits, so the text parses back exactly for ordinary values.
template <size_t N>
std::string pretty(double base, const std::array<UnitEntry, N>& table,
                   std::initializer_list<std::string_view> ladder) {
  std::string_view best;
  double best_factor = 0;
  for (auto s : ladder) {
    for (const auto& e : table) {
      if (e.suffix == s && std::abs(base) >= e.factor && e.factor > best_factor) {
        best = s;
        best_factor = e.factor;
      }
    }
  }
  if (best.empty()) {
    best = *ladder.begin();
    for (const auto& e : table)
      if (e.suffix == best) best_factor = e.factor;
  }
  return fmt(base / best_factor, best);
}

}  // namespace

bool parse_duration(std::string_view text, Duration& out, std::string& why) {
  double s = 0;
  if (!parse_with(text, kDurationUnits, "duration", s, why)) return false;
  if (s > kMaxSeconds) {
    why = "'" + std::string(text) + "' is longer than the 9e6 s (104 days) codesim's picosecond clock holds";
    return false;
  }
  out = Duration::from_seconds(s);
  return true;
}

bool parse_bytes(std::string_view text, Bytes& out, std::string& why) {
  double b = 0;
  if (!parse_with(text, kBytesUnits, "byte size", b, why)) return false;
  if (b > kMaxBytes) {
    why = "'" + std::string(text) + "' is above an exabyte (1e18 B), more than any run can move; check the unit";
    return false;
  }
  out = Bytes::from_double(b);
  return true;
}

bool parse_bandwidth(std::string_view text, Bandwidth& out, std::string& why) {
  double b = 0;
  if (!parse_with(text, kBandwidthUnits, "bandwidth", b, why)) return false;
  if (b > 0 && b < kMinBandwidthBytesPerS) {
    why = "'" + std::string(text) + "' is below 1MB/s; give a bandwidth of at least 1MB/s (or 0 where allowed)";
    return false;
  }
  out = Bandwidth::from_bytes_per_second(b);
  return true;
}

bool parse_flops(std::string_view text, Flops& out, std::string& why) {
  double f = 0;
  if (!parse_with(text, kFlopsUnits, "FLOP count", f, why)) return false;
  out = Flops::from_count(f);
  return true;
}

bool parse_flop_rate(std::string_view text, FlopRate& out, std::string& why) {
  double f = 0;
  if (!parse_with(text, kFlopRateUnits, "FLOP rate", f, why)) return false;
  out = FlopRate::from_per_second(f);
  return true;
}

std::string_view duration_units_help() {
  static const std::string s = help_of(kDurationUnits);
  return s;
}
std::string_view bytes_units_help() {
  static const std::string s = help_of(kBytesUnits);
  return s;
}
std::string_view bandwidth_units_help() {
  static const std::string s = help_of(kBandwidthUnits);
  return s;
}
std::string_view flops_units_help() {
  static const std::string s = help_of(kFlopsUnits);
  return s;
}
std::string_view flop_rate_units_help() {
  static const std::string s = help_of(kFlopRateUnits);
  return s;
}

std::string to_string(Duration d) {
  if (d.is_infinite()) return "inf";
  const int64_t ps = d.ps();
  if (ps == 0) return "0s";
  return pretty(static_cast<double>(ps) * 1e-12, kDurationUnits, {"ps", "ns", "us", "ms", "s"});
}
std::string to_string(Bytes b) {
  const uint64_t n = b.count();
  // Prefer an exact binary unit when the count is a multiple of 1 KiB, else decimal.
  if (n != 0 && n % 1024 == 0 && n % 1000 != 0)
    return pretty(static_cast<double>(n), kBytesUnits, {"B", "KiB", "MiB", "GiB", "TiB"});
  return pretty(static_cast<double>(n), kBytesUnits, {"B", "KB", "MB", "GB", "TB"});
}
std::string to_string(Bandwidth bw) {
  return pretty(bw.bytes_per_second(), kBandwidthUnits, {"B/s", "KB/s", "MB/s", "GB/s", "TB/s"});
}
std::string to_string(Flops f) {
  return pretty(f.count(), kFlopsUnits, {"FLOP", "GFLOP", "TFLOP", "PFLOP", "EFLOP"});
}
std::string to_string(FlopRate r) {
  return pretty(r.per_second(), kFlopRateUnits, {"FLOPS", "GFLOPS", "TFLOPS", "PFLOPS"});
}

}  // namespace codesim
