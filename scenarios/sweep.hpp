// File: scenarios/sweep.hpp
//
// Design-space sweeps: a base scenario, axes of key paths with lists or
// ranges of values, constraints and objectives. `codesim sweep FILE`
// evaluates every point of the cartesian product of the axes, on all cores
// (threads) or over MPI ranks, appends each result as it completes to a JSON
// Lines file (so an interrupted sweep resumes where it stopped), and reports
// the Pareto front over the objectives.
//
//   sweep:
//     name: v3-fabrics
//     base: ../paper/v3-train-2048-h800-mpft.yaml   # relative to this file
//     mode: train                                    # what to evaluate
//     axes:
//       - key: cluster.fabric.planes                 # one key, a list of values
//         values: [1, 2, 4, 8]
//       - key: plan.ep
//         range: {from: 8, to: 64, times: 2}          # 8, 16, 32, 64
//       - name: fabric                                # several keys that vary together
//         values:
//           - {cluster.fabric.kind: mpft, cluster.fabric.planes: 8}
//           - {cluster.fabric.kind: ft2}
//     constraints:
//       - {metric: tpot_s, max: 0.05}
//     objectives:
//       - {metric: usd_per_trillion_tokens, goal: min}
//       - {metric: days_per_trillion_tokens, goal: min}
//
// A point is a list of `--set` overrides applied to the base scenario's
// resolved YAML. Points that the evaluator rejects (an invalid plan, memory
// above HBM) are recorded as skipped with the reason; they are never fatal.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sim/config.hpp"

namespace codesim::scenarios {

enum class Goal { kMin, kMax };
constexpr auto enum_names(Goal) {
  return std::array{std::pair{Goal::kMin, std::string_view("min")},
                    std::pair{Goal::kMax, std::string_view("max")}};
}

// A numeric range: from, from+step, ... <= to; or from, from*times, ... <= to.
struct SweepRange {
  double from = 0;
  double to = 0;
  std::optional<double> step;
  std::optional<double> times;
  template <class V>
  void fields(V& v) {
    v.req("from", from, "first value");
    v.req("to", to, "last value (inclusive)");
    v.opt("step", step, "additive step");
    v.opt("times", times, "multiplicative step");
  }
  void validate(config::Reader& r) {
    r.check(step.has_value() != times.has_value(), "step", "give exactly one of 'step' or 'times'");
    if (step) r.check(*step > 0, "step", "must be > 0");
    if (times) r.check(*times > 1, "times", "must be > 1");
    r.check(to >= from, "to", "must be >= 'from'");
  }
};

struct SweepAxis {
  std::string key;   // one key path (with values or range)
  std::string name;  // axis label; defaults to key
  // The raw values: scalars for a one-key axis, mappings {key: value} for a
  // linked axis that sets several keys together.
  std::optional<config::Node> values;
  std::optional<SweepRange> range;
  template <class V>
  void fields(V& v) {
    v.opt("key", key, "key path the axis sets, e.g. cluster.fabric.planes");
    v.opt("name", name, "axis label (default: the key)");
    v.opt("values", values, "list of values, or of {key: value} maps for linked keys");
    v.opt("range", range, "numeric range instead of values");
  }
  void validate(config::Reader& r);
};

struct SweepConstraint {
  std::string metric;
  std::optional<double> min;
  std::optional<double> max;
  template <class V>
  void fields(V& v) {
    v.req("metric", metric, "output metric name");
    v.opt("min", min, "lowest allowed value");
    v.opt("max", max, "highest allowed value");
  }
  void validate(config::Reader& r) {
    r.check(min.has_value() || max.has_value(), "metric", "a constraint needs 'min' or 'max'");
  }
};

struct SweepObjective {
  std::string metric;
  Goal goal = Goal::kMin;
  template <class V>
  void fields(V& v) {
    v.req("metric", metric, "output metric name");
    v.req("goal", goal, "min or max");
  }
};

struct SweepSpec {
  std::string name;
  std::string base;  // base scenario file, relative to the sweep file
  std::string mode;  // evaluator name (train, serve, ...)
  std::vector<SweepAxis> axes;
  std::vector<SweepConstraint> constraints;
  std::vector<SweepObjective> objectives;
  template <class V>
  void fields(V& v) {
    v.req("name", name, "sweep name");
    v.req("base", base, "base scenario file");
    v.req("mode", mode, "what each point runs: an evaluator name");
    v.req("axes", axes, "the axes; the sweep is their cartesian product");
    v.opt("constraints", constraints, "bounds on output metrics");
    v.opt("objectives", objectives, "metrics to optimise; the Pareto front is over these");
  }
  void validate(config::Reader& r) { r.check(!axes.empty(), "axes", "a sweep needs at least one axis"); }
};

struct SweepFile {
  SweepSpec sweep;
  template <class V>
  void fields(V& v) {
    v.req("sweep", sweep, "the sweep");
  }
};

// One point: its index in the product and the overrides that make it.
struct SweepPoint {
  size_t index = 0;
  std::vector<std::string> overrides;             // "key=value", applied in order
  std::vector<std::pair<std::string, std::string>> labels;  // axis name -> value text
};

// What an evaluator returns for a point.
struct PointResult {
  enum class Status { kOk, kSkipped };
  Status status = Status::kOk;
  std::string reason;                     // why skipped
  std::map<std::string, double> metrics;  // named outputs, units in the names
  std::map<std::string, std::string> text;  // non-numeric outputs (e.g. fabric name)
};

// Evaluates one point given its fully resolved scenario tree. Must be
// thread-safe and deterministic. Errors in the scenario become kSkipped.
using Evaluator = std::function<PointResult(const config::Node& scenario, const std::string& origin)>;

// A registry of evaluators by mode name ("valid values are: ..."), each
// with the names of every metric it may report (constraints and objectives
// are checked against them before a sweep runs).
void register_evaluator(const std::string& mode, std::string help, Evaluator fn,
                        std::vector<std::string> metrics = {});
const Evaluator* find_evaluator(const std::string& mode);
const std::vector<std::string>* evaluator_metrics(const std::string& mode);
std::string evaluator_names();

// Loads and checks a sweep file; resolves `base` relative to it.
bool load_sweep(const std::string& path, const std::vector<std::string>& overrides, SweepSpec& out,
                std::string& base_path, config::Diagnostics& diags);

// What a sweep must pass before any point runs, each failure a diagnostic
// at the sweep file's line (path: the sweep file; base: its resolved base
// scenario tree; mode: the evaluator that will run, e.g. "train-full"):
// the mode is registered; every constraint and objective names a metric
// the evaluator reports; every axis value, set on the base, names keys the
// scenario has and has the type they take. (A value the scenario rejects
// for other reasons, an invalid plan, is a skipped point, not an error.)
bool check_sweep(const std::string& path, const SweepSpec& spec, const std::string& mode,
                 const config::Node& base, config::Diagnostics& diags);

// Expands the axes into points (cartesian product, last axis fastest).
std::vector<SweepPoint> expand(const SweepSpec& spec);

// One finished row, as stored in the JSON Lines file.
struct SweepRow {
  SweepPoint point;
  PointResult result;
  bool feasible = true;  // passes the constraints
  // What the row was computed under (SweepRunOptions::context): rows of
  // another context are not resumed.
  std::string context;
  std::string fingerprint() const;  // stable id of the context and the point's overrides
};

// Evaluates `point` on top of the resolved base tree.
SweepRow evaluate_point(const config::Node& base, const std::string& base_path,
                        const SweepSpec& spec, const SweepPoint& point, const Evaluator& eval);

// JSON Lines I/O. read_rows ignores a torn last line (an interrupted write).
std::string row_to_json(const SweepRow& row);
bool row_from_json(const std::string& line, SweepRow& row);
std::vector<SweepRow> read_rows(const std::string& path);

// Indices (into rows) of the feasible, non-dominated rows over the
// objectives, sorted by the first objective.
std::vector<size_t> pareto_front(const std::vector<SweepRow>& rows,
                                 const std::vector<SweepObjective>& objectives);

// CSV of all rows (inputs, outputs, status, reason), sorted by point index.
std::string rows_to_csv(std::vector<SweepRow> rows);

}  // namespace codesim::scenarios
