#include "scenarios/sweep.hpp"
#include "scenarios/sweep_runner.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace codesim::scenarios {
namespace {

// A deterministic toy evaluator: cost = x * 10, speed = y - x; rejects x = 3.
PointResult toy(const config::Node& tree, const std::string&) {
  PointResult r;
  const config::Node* x = tree.find("x");
  const config::Node* y = tree.find("y");
  double xv = std::stod(x->scalar), yv = std::stod(y->scalar);
  if (xv == 3) {
    r.status = PointResult::Status::kSkipped;
    r.reason = "x = 3 is not a valid plan";
    return r;
  }
  r.metrics["cost_usd"] = xv * 10;
  r.metrics["speed"] = yv - xv;
  return r;
}

SweepSpec toy_spec() {
  SweepSpec s;
  config::Diagnostics d;
  const char* text =
      "sweep:\n"
      "  name: toy\n"
      "  base: base.yaml\n"
      "  mode: toy\n"
      "  axes:\n"
      "    - key: x\n"
      "      range: {from: 1, to: 4, step: 1}\n"
      "    - name: pair\n"
      "      values:\n"
      "        - {y: 10, z: a}\n"
      "        - {y: 20, z: b}\n"
      "  constraints:\n"
      "    - {metric: speed, min: 8}\n"
      "  objectives:\n"
      "    - {metric: cost_usd, goal: min}\n"
      "    - {metric: speed, goal: max}\n";
  SweepFile f;
  EXPECT_TRUE(config::load_text(text, "toy.yaml", f, d)) << d.str();
  return f.sweep;
}

TEST(Sweep, ExpandsTheCartesianProductLastAxisFastest) {
  auto points = expand(toy_spec());
  ASSERT_EQ(points.size(), 8u);  // 4 x values * 2 linked pairs
  EXPECT_EQ(points[0].overrides, (std::vector<std::string>{"x=1", "y=10", "z=a"}));
  EXPECT_EQ(points[1].overrides, (std::vector<std::string>{"x=1", "y=20", "z=b"}));
  EXPECT_EQ(points[7].overrides, (std::vector<std::string>{"x=4", "y=20", "z=b"}));
  EXPECT_EQ(points[7].labels[1].second, "y=20,z=b");
}

TEST(Sweep, MultiplicativeRange) {
  SweepFile f;
  config::Diagnostics d;
  ASSERT_TRUE(config::load_text(
      "sweep: {name: r, base: b, mode: m, axes: [{key: plan.ep, range: {from: 8, to: 64, times: 2}}]}\n",
      "r.yaml", f, d)) << d.str();
  auto points = expand(f.sweep);
  ASSERT_EQ(points.size(), 4u);
  EXPECT_EQ(points[3].overrides[0], "plan.ep=64");
}

// A linked axis may set a list (a stage split with its PP degree), in the
// file's key order; the override is the list in flow form, the label names a colliding key by its
// last two parts and shortens a repeated list.
TEST(Sweep, LinkedAxisSetsListsAndLabelsThem) {
  SweepFile f;
  config::Diagnostics d;
  ASSERT_TRUE(config::load_text(
      "sweep: {name: r, base: b, mode: m, axes: [{name: pp, values: ["
      "{plan.pipeline.degree: 2, plan.data.degree: 8, plan.pipeline.layers_per_stage: [3, 3]},"
      "{plan.pipeline.degree: 3, plan.pipeline.layers_per_stage: [1, 2, 3]}]}]}\n",
      "r.yaml", f, d)) << d.str();
  auto points = expand(f.sweep);
  ASSERT_EQ(points.size(), 2u);
  EXPECT_EQ(points[0].overrides, (std::vector<std::string>{"plan.pipeline.degree=2", "plan.data.degree=8",
                                                           "plan.pipeline.layers_per_stage=[3, 3]"}));
  EXPECT_EQ(points[0].labels[0].second, "pipeline.degree=2,data.degree=8,layers_per_stage=[3]x2");
  EXPECT_EQ(points[1].labels[0].second, "degree=3,layers_per_stage=[1, 2, 3]");
  // The override reads back as a list.
  config::Node tree = config::Node::make_map({});
  ASSERT_TRUE(config::apply_override(tree, points[1].overrides[1], d)) << d.str();
  const config::Node* split = tree.find("plan")->find("pipeline")->find("layers_per_stage");
  ASSERT_TRUE(split && split->is_seq());
  EXPECT_EQ(split->items.size(), 3u);
  // A list of mappings is not a plain value.
  SweepFile bad;
  config::Diagnostics e;
  EXPECT_FALSE(config::load_text(
      "sweep: {name: r, base: b, mode: m, axes: [{name: a, values: [{plan.x: [{y: 1}]}]}]}\n", "bad.yaml", bad, e));
  EXPECT_NE(e.str().find("lists of them"), std::string::npos) << e.str();
}

TEST(Sweep, BadAxesAreErrorsWithLocations) {
  SweepFile f;
  config::Diagnostics d;
  EXPECT_FALSE(config::load_text(
      "sweep:\n  name: r\n  base: b\n  mode: m\n  axes:\n    - key: a\n      range: {from: 4, to: 1, step: 1}\n"
      "    - key: b\n      values: [1, 2]\n      range: {from: 1, to: 2, times: 2}\n",
      "bad.yaml", f, d));
  std::string all = d.str();
  EXPECT_NE(all.find("bad.yaml:7:28: key 'sweep.axes[0].range.to': must be >= 'from'"), std::string::npos) << all;
  EXPECT_NE(all.find("key 'sweep.axes[1].values': give exactly one of 'values' or 'range'"), std::string::npos) << all;
}

TEST(Sweep, SkipsInvalidPointsAndFindsTheParetoFront) {
  SweepSpec spec = toy_spec();
  config::Node base = config::Node::make_map();
  SweepRunOptions opt;
  opt.threads = 2;
  auto sum = run_sweep_threads(spec, base, "base.yaml", toy, opt);
  ASSERT_EQ(sum.rows.size(), 8u);
  // x=3 rows are skipped, with the reason kept.
  EXPECT_EQ(sum.rows[4].result.status, PointResult::Status::kSkipped);
  EXPECT_EQ(sum.rows[4].result.reason, "x = 3 is not a valid plan");
  // speed >= 8 needs y=10 with x <= 2, or y=20. Feasible: (1,10) s9 c10, (1,20) s19 c10,
  // (2,10) s8 c20, (2,20) s18 c20, (4,20) s16 c40. Front (min cost, max speed): (1,20) only,
  // since it is cheapest and fastest.
  auto front = pareto_front(sum.rows, spec.objectives);
  ASSERT_EQ(front.size(), 1u);
  EXPECT_EQ(sum.rows[front[0]].point.index, 1u);
  EXPECT_TRUE(sum.rows[0].feasible);   // (1,10): speed 9 >= 8
  EXPECT_FALSE(sum.rows[6].feasible);  // (4,10): speed 6 < 8
}

TEST(Sweep, ResumesFromTheJsonLinesFileAndIgnoresATornLine) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / "codesim_sweep_resume";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string jsonl = (dir / "rows.jsonl").string();
  SweepSpec spec = toy_spec();
  config::Node base = config::Node::make_map();
  SweepRunOptions opt;
  opt.jsonl_path = jsonl;
  auto first = run_sweep_threads(spec, base, "b", toy, opt);
  EXPECT_EQ(first.evaluated, 8u);
  // Simulate an interruption: keep 3 rows and a torn 4th line.
  std::vector<std::string> lines;
  {
    std::ifstream in(jsonl);
    for (std::string l; std::getline(in, l);) lines.push_back(l);
  }
  {
    std::ofstream out(jsonl, std::ios::trunc);
    for (int i = 0; i < 3; ++i) out << lines[static_cast<size_t>(i)] << "\n";
    out << lines[3].substr(0, lines[3].size() / 2);
  }
  int calls = 0;
  auto counting = [&](const config::Node& t, const std::string& o) {
    ++calls;
    return toy(t, o);
  };
  opt.threads = 1;
  auto second = run_sweep_threads(spec, base, "b", counting, opt);
  EXPECT_EQ(second.resumed, 3u);
  EXPECT_EQ(second.evaluated, 5u);
  EXPECT_EQ(calls, 5);
  ASSERT_EQ(second.rows.size(), 8u);
  EXPECT_EQ(rows_to_csv(second.rows), rows_to_csv(first.rows));
  // The rows the second run appended start on a line of their own (the torn
  // line was ended first), so a third run resumes all 8: the second run's
  // first row was not glued onto the torn line and lost.
  calls = 0;
  auto third = run_sweep_threads(spec, base, "b", counting, opt);
  EXPECT_EQ(third.resumed, 8u);
  EXPECT_EQ(calls, 0);
}

// Rows carry the context of their run (mode, build, input files: cmd_sweep
// sweep_context); a run under another context recomputes every point (a
// --full run must not reuse the fast model's rows, nor a rebuilt codesim
// the old one's), and its rows then resume under their own context.
TEST(Sweep, ResumesOnlyRowsOfTheSameContext) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / "codesim_sweep_context";
  fs::remove_all(dir);
  fs::create_directories(dir);
  SweepSpec spec = toy_spec();
  config::Node base = config::Node::make_map();
  SweepRunOptions opt;
  opt.jsonl_path = (dir / "rows.jsonl").string();
  opt.context = "train build A";
  EXPECT_EQ(run_sweep_threads(spec, base, "b", toy, opt).evaluated, 8u);
  opt.context = "train-full build A";
  const auto other = run_sweep_threads(spec, base, "b", toy, opt);
  EXPECT_EQ(other.resumed, 0u);
  EXPECT_EQ(other.evaluated, 8u);
  for (const auto& r : other.rows) EXPECT_EQ(r.context, "train-full build A");
  const auto again = run_sweep_threads(spec, base, "b", toy, opt);
  EXPECT_EQ(again.resumed, 8u);
  EXPECT_EQ(again.evaluated, 0u);
  ASSERT_EQ(again.rows.size(), 8u);
  EXPECT_EQ(again.rows[3].context, "train-full build A");
}

TEST(Sweep, RowsRoundTripThroughJson) {
  SweepRow r;
  r.point.index = 7;
  r.point.overrides = {"a=1", "b=x"};
  r.point.labels = {{"a", "1"}, {"b", "x"}};
  r.result.metrics["t_s"] = 0.1 + 0.2;  // not exactly representable: must survive
  r.result.text["fabric"] = "mpft";
  SweepRow back;
  ASSERT_TRUE(row_from_json(row_to_json(r), back));
  EXPECT_EQ(back.point.overrides, r.point.overrides);
  EXPECT_EQ(back.result.metrics.at("t_s"), r.result.metrics.at("t_s"));
  EXPECT_EQ(back.result.text.at("fabric"), "mpft");
}

}  // namespace
}  // namespace codesim::scenarios
