// File: reports/validation.hpp
//
// `codesim validate`: every published figure codesim models, recomputed by
// the code that models it and compared with the published value (targets
// T1..T31 of shared/reference/deepseek-v3-published.md).
//
// A target is a value: id, quantity, unit, published value, source, a
// tolerance (exact / relative / absolute) with the physical reason for it,
// and one function that computes the simulated value. A target without a
// function is listed as "not modelled yet" (neither pass nor fail), so the
// table is honest about what codesim does not cover. A target whose
// published value is known not to reproduce (e.g. the Qwen row of Table 2)
// carries `known_gap`: a miss is then shown as "known gap", not a failure.
//
// Adding a target is one call, next to the others in
// reports/validation_targets.cpp (see reports/README.md):
//
//   reg.add({.id = "T7", .quantity = "EP all-to-all time per step, IB",
//            .unit = "us", .published = 120.96,
//            .source = "ISCA'25 Sec. 2.3.2 [P]",
//            .tolerance = Tolerance::exact(),
//            .why = "closed form on integer picoseconds",
//            .compute = [](const ValidationContext& ctx, double& sim, std::string& err) {
//              ... load ctx.path("scenarios/paper/v3-decode-limit-ib.yaml"), compute ...
//              sim = limit.ep_step / Microseconds(1);
//              return true;
//            }});
//
// Published values live only here (and in tests), never in the code path
// that computes the simulated value.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "reports/output.hpp"

namespace codesim::reports {

enum class ToleranceKind { kExact, kRelative, kAbsolute };

struct Tolerance {
  ToleranceKind kind = ToleranceKind::kExact;
  double value = 0;  // relative: a fraction (0.02 = 2 %); absolute: in the target's unit

  static Tolerance exact() { return {ToleranceKind::kExact, 0}; }
  static Tolerance relative(double fraction) { return {ToleranceKind::kRelative, fraction}; }
  static Tolerance absolute(double amount) { return {ToleranceKind::kAbsolute, amount}; }

  // "exact", "±2%", "±0.01".
  std::string str() const;
  // Exact allows 1e-9 relative (floating-point rounding of a closed form).
  bool accepts(double published, double simulated) const;
};

// What the compute functions may use: where the bundled scenarios are.
struct ValidationContext {
  std::string root;  // repository root (holds scenarios/)
  std::string path(std::string_view relative) const { return root + "/" + std::string(relative); }
};

// Sets `simulated` and returns true, or returns false with `error` set (a
// scenario failed to load, ...), which counts as a failure.
using ValidationFn = std::function<bool(const ValidationContext&, double& simulated, std::string& error)>;

struct ValidationTarget {
  std::string id;        // "T1", "T10/ft2/switches": unique
  std::string quantity;  // what is compared, in words
  std::string unit;      // unit of published and simulated ("B", "us", "GFLOP", "")
  double published = 0;
  std::string source;    // document and place, with the reference's status tag
  Tolerance tolerance;
  std::string why;       // the physical reason for the tolerance
  ValidationFn compute;  // empty: not modelled yet
  std::string known_gap; // non-empty: a miss is expected, for this reason
};

class ValidationRegistry {
 public:
  // Throws std::invalid_argument on a duplicate or empty id.
  void add(ValidationTarget t);
  const std::vector<ValidationTarget>& targets() const { return targets_; }

 private:
  std::vector<ValidationTarget> targets_;
};

// The built-in targets (reports/validation_targets.cpp).
void register_builtin_targets(ValidationRegistry& reg);

enum class ValidationStatus { kPass, kFail, kError, kKnownGap, kNotModelled };
std::string_view status_name(ValidationStatus s);  // "pass", "FAIL", "error", "known gap", "not modelled yet"

struct ValidationResult {
  const ValidationTarget* target = nullptr;
  ValidationStatus status = ValidationStatus::kNotModelled;
  double simulated = 0;  // valid unless not modelled / error
  double rel_error = 0;  // (simulated - published) / published; 0 when published is 0
  std::string error;     // for kError
};

// Runs the targets selected by `only` (all when empty), in registration
// order. A selector matches its id and the ids below it: "T10" selects
// T10/ft2/switches ..., "T10/ft2" the FT2 rows, "T1" only T1 (not T12).
std::vector<ValidationResult> run_validation(const ValidationRegistry& reg, const ValidationContext& ctx,
                                             const std::vector<std::string>& only = {});
// True when nothing failed or errored.
bool all_passed(const std::vector<ValidationResult>& results);

// Columns: id, quantity, unit, published, simulated, error (relative, %),
// tolerance, pass (+ source). Counts in a note.
ResultTable validation_table(const std::vector<ValidationResult>& results);
// [{"id", "quantity", "unit", "published", "simulated", "rel_error", "tolerance",
//   "pass", "status", "source"}]; simulated/rel_error are null and pass is
// null when not modelled; pass is false on an error.
nlohmann::ordered_json validation_json(const std::vector<ValidationResult>& results);
// A page with the table and a chart of |error| / tolerance per target.
Report validation_report(const std::vector<ValidationResult>& results);

}  // namespace codesim::reports
