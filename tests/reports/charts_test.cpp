// reports/charts_*.hpp: the chart and trace builders behind the commands'
// --report and --trace (hand-computed values on tiny inputs), and
// emit_forms' all-or-nothing file writing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>
#include <sstream>

#include "reports/charts_fabric.hpp"
#include "reports/charts_forms.hpp"
#include "reports/charts_serving.hpp"
#include "reports/charts_training.hpp"
#include "scenarios/scenario.hpp"

namespace codesim::reports {
namespace {

namespace fs = std::filesystem;
using workloads::PipeOp;
using workloads::PipeOpKind;

TEST(LinkUtilisation, BinsPiecewiseConstantRates) {
  sim::LinkTable links;
  links.add(BytesPerSecond(100), Duration::zero(), "a");
  links.add(BytesPerSecond(100), Duration::zero(), "b");
  links.add(BytesPerSecond(100), Duration::zero(), "idle");
  const int64_t s = 1'000'000'000'000;  // 1 s in ps
  // Link 0: full for 0.5 s, then half. Link 1: full from 0.25 s to 0.75 s.
  std::vector<sim::UtilisationSample> samples = {
      {0, 0, 100.f}, {s / 4, 1, 100.f}, {s / 2, 0, 50.f}, {3 * s / 4, 1, 0.f}, {3 * s / 4, 2, 0.f}};
  const LinkUtilisation u = bin_utilisation(samples, links, Time::from_ps(s), 24, 2);
  ASSERT_EQ(u.links.size(), 2u);  // link 2 carried nothing
  EXPECT_EQ(u.links[0], 0);       // 75 B before link 1's 50 B
  EXPECT_EQ(u.links[1], 1);
  EXPECT_DOUBLE_EQ(u.bin_seconds, 0.5);
  // bin 0 of link 0: 100 B/s x 0.5 s / (100 B/s x 0.5 s) = 1; bin 1: 50/100.
  EXPECT_NEAR(u.values[0][0], 1.0, 1e-9);
  EXPECT_NEAR(u.values[0][1], 0.5, 1e-9);
  // link 1: 0.25 s at full rate in each half.
  EXPECT_NEAR(u.values[1][0], 0.5, 1e-9);
  EXPECT_NEAR(u.values[1][1], 0.5, 1e-9);
  EXPECT_EQ(bin_utilisation(samples, links, Time::from_ps(s), 1, 2).links.size(), 1u);
  const svg::Heatmap h = link_utilisation_heatmap(u, links, "t");
  EXPECT_EQ(h.rows[0], "link 0 a");
  EXPECT_DOUBLE_EQ(h.x_step, 500.0);  // ms
}

TEST(PipeOps, NamesCarryMicroBatchesAndDirection) {
  PipeOp f{PipeOpKind::kF, 0, 3, 0, -1, true};
  EXPECT_EQ(pipe_op_name(f, false), "F3");
  f.fwd_dir = 1;
  EXPECT_EQ(pipe_op_name(f, true), "F3'");
  PipeOp fb{PipeOpKind::kFB, 1, 3, 0, 1, true};
  EXPECT_EQ(pipe_op_name(fb, true), "F3'B1");
  PipeOp bi{PipeOpKind::kBInput, 0, -1, 0, 2, true};
  EXPECT_EQ(pipe_op_name(bi, false), "B2");
  EXPECT_EQ(pipe_op_category(PipeOpKind::kBInput), "B");
  EXPECT_EQ(pipe_op_category(PipeOpKind::kW), "W");
}

// Two ranks, F0 then B0 each, then the DP tail.
workloads::TrainingResult tiny_step() {
  workloads::TrainingResult r;
  r.program.ranks = 2;
  r.program.micro_batches = 1;
  const PipeOp f{PipeOpKind::kF, 0, 0, 0, -1, true};
  const PipeOp b{PipeOpKind::kB, 0, -1, 0, 0, true};
  r.program.ops = {{f, b}, {f, b}};
  auto t = [](int ms) { return Time::from_ps(int64_t{ms} * 1'000'000'000); };
  r.op_times = {{{t(0), t(10)}, {t(30), t(50)}}, {{t(10), t(20)}, {t(20), t(40)}}};
  r.dp_tail = {{t(50), t(60)}, {t(40), t(55)}};
  r.per_rank.resize(2);
  r.step = Milliseconds(60);
  r.gpus = 16;
  r.gpu_hours_per_trillion_tokens = 1000;
  r.usd_per_trillion_rental = 2000;
  r.owned_capex_usd = 8.766e6;  // 1000 $/h over 1 year
  r.owned_fabric_usd = 8.766e5;  // 100 $/h
  r.usd_per_trillion_owned = 1000.0 / 16 * 1100 + 500;  // + 500 $ of power
  return r;
}

TEST(TrainingCharts, GanttHasOneLanePerRankAndTheTail) {
  const auto r = tiny_step();
  const svg::GanttChart g = training_timeline_chart(r);
  ASSERT_EQ(g.lanes.size(), 2u);
  ASSERT_EQ(g.bars.size(), 6u);
  EXPECT_EQ(g.bars.front().category, "F");  // categories sorted F, B, ..., DP+opt
  EXPECT_EQ(g.bars.back().category, "DP+opt");
  double end = 0;
  for (const auto& b : g.bars) end = std::max(end, b.end);
  EXPECT_DOUBLE_EQ(end, 0.060);
  EXPECT_NE(svg::render(g).find("F0"), std::string::npos);
}

TEST(TrainingCharts, OwnedCostSplitsIntoHardwareFabricPower) {
  const auto r = tiny_step();
  const svg::BarChart c = training_cost_chart(r, 1.0);
  ASSERT_EQ(c.stacks.size(), 4u);
  EXPECT_DOUBLE_EQ(c.stacks[0].values[0], 2000);
  // 62.5 h per 1T tokens x (1000 + 100) $/h, then power is the rest (500 $).
  EXPECT_NEAR(c.stacks[1].values[1], 62.5 * 1000, 1e-6);
  EXPECT_NEAR(c.stacks[2].values[1], 62.5 * 100, 1e-6);
  EXPECT_NEAR(c.stacks[3].values[1], 500, 1e-6);
}

TEST(TrainingTrace, OneTrackPerRankSlicesInMicroseconds) {
  const auto r = tiny_step();
  const nlohmann::json t = training_trace(r, "tiny");
  int slices = 0;
  std::set<int> tids;
  for (const auto& e : t["traceEvents"]) {
    if (e["ph"] != "X") continue;
    ++slices;
    tids.insert(e["tid"].get<int>());
    if (e["name"] == "B0" && e["tid"] == 0) {
      EXPECT_DOUBLE_EQ(e["ts"].get<double>(), 30'000.0);
      EXPECT_DOUBLE_EQ(e["dur"].get<double>(), 20'000.0);
    }
  }
  EXPECT_EQ(slices, 6);
  EXPECT_EQ(tids, (std::set<int>{0, 1}));
}

TEST(ServingTrace, SlicesSumToTheStep) {
  workloads::StepCost c;
  c.attention = Microseconds(10);
  c.dense = Microseconds(20);
  c.experts = Microseconds(5);
  c.comm = Microseconds(30);
  c.exposed_comm = Microseconds(4);
  c.mtp = Microseconds(1);
  c.total = Microseconds(40);
  const nlohmann::json t = step_cost_trace("x", &c, nullptr);
  double sum = 0, end = 0;
  for (const auto& e : t["traceEvents"])
    if (e["ph"] == "X") {
      sum += e["dur"].get<double>();
      end = std::max(end, e["ts"].get<double>() + e["dur"].get<double>());
    }
  EXPECT_DOUBLE_EQ(sum, 40.0);
  EXPECT_DOUBLE_EQ(end, 40.0);
}

TEST(ServingCharts, DecodeCurveRisesToTheKvCapacity) {
  scenarios::Scenario sc;
  config::Diagnostics d;
  ASSERT_TRUE(scenarios::load_scenario(std::string(CODESIM_SOURCE_DIR) + "/scenarios/paper/v3-serve-day6.yaml", {},
                                       sc, d))
      << d.str();
  ASSERT_TRUE(sc.serving);
  const auto curve = decode_curve(*sc.serving, sc.serving->decode);
  ASSERT_GE(curve.size(), 3u);
  EXPECT_DOUBLE_EQ(curve.front().batch_per_gpu, 1.0);
  for (size_t i = 1; i < curve.size(); ++i) {
    EXPECT_GT(curve[i].batch_per_gpu, curve[i - 1].batch_per_gpu);
    EXPECT_GE(curve[i].tpot_ms, curve[i - 1].tpot_ms);  // a bigger batch never steps faster
  }
  const auto free = workloads::estimate_decode(*sc.serving, [&] {
    auto p = sc.serving->decode;
    p.batch_per_gpu = 0;
    return p;
  }());
  EXPECT_NEAR(curve.back().batch_per_gpu, free.kv_capacity, 1e-9);
  const auto chart = decode_curve_chart(curve, free, *sc.serving, sc.serving->decode);
  ASSERT_EQ(chart.ref_lines.size(), 1u);  // the TPOT SLO (20 tokens/s per user = 50 ms)
  EXPECT_NEAR(chart.ref_lines[0].value, 50.0, 1e-6);
}

TEST(Forms, KeyValueAndSelectedColumns) {
  ResultTable t("s");
  t.add_column("a_s", "a (s)", 2).add_column("b").add_column("c");
  t.add_row({1.234, "x", int64_t{3}});
  const ResultTable kv = key_value_table(t);
  ASSERT_EQ(kv.rows().size(), 3u);
  EXPECT_EQ(kv.rows()[0][0].text(), "a (s)");
  EXPECT_EQ(kv.rows()[0][1].text(), "a_s");
  EXPECT_EQ(kv.rows()[0][2].text(), "1.23");
  const ResultTable sel = select_columns(t, {"c", "nope", "a_s"});
  ASSERT_EQ(sel.columns().size(), 2u);
  EXPECT_EQ(sel.columns()[0].key, "c");
  EXPECT_EQ(sel.rows()[0][1].number(), 1.234);
}

TEST(Forms, NothingOnStdoutWhenAFileCannotBeWritten) {
  const fs::path dir = fs::temp_directory_path() / ("codesim_charts_forms_test_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  { std::ofstream(dir / "file") << "x"; }
  ResultTable t("t");
  t.add_column("k");
  t.add_row({int64_t{1}});
  Report rep("r");
  rep.table(t);
  Forms f;
  f.report = &rep;
  f.csv_table = &t;
  f.human_text = "human\n";
  f.json_text = "{}\n";
  f.trace_path = (dir / "trace.json").string();
  f.trace_text = "{\"traceEvents\":[]}\n";

  OutputOptions opt;
  opt.quiet = true;
  opt.report_dir = (dir / "file" / "sub").string();  // under a regular file
  std::ostringstream out, err;
  EXPECT_EQ(emit_forms(f, opt, out, err), 1);
  EXPECT_EQ(out.str(), "");
  EXPECT_NE(err.str().find("codesim: cannot"), std::string::npos);

  opt.report_dir = (dir / "rep").string();
  opt.csv = true;
  std::ostringstream out2, err2;
  EXPECT_EQ(emit_forms(f, opt, out2, err2), 0);
  EXPECT_EQ(out2.str(), "k\n1\n");
  EXPECT_EQ(err2.str(), "");  // quiet
  EXPECT_TRUE(fs::exists(dir / "rep" / "index.html"));
  std::ifstream tr(dir / "trace.json");
  std::string content((std::istreambuf_iterator<char>(tr)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, f.trace_text);

  f.trace_path = (dir / "file" / "t.json").string();
  std::ostringstream out3, err3;
  EXPECT_EQ(emit_forms(f, opt, out3, err3), 1);
  EXPECT_EQ(out3.str(), "");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace codesim::reports
