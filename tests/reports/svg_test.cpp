// reports/svg.hpp: structure of every chart kind (well-formed, expected
// elements), deterministic output, and one golden file.
//
// Golden: tests/reports/golden/scatter.svg. After an intended change, refresh
// it with
//   CODESIM_UPDATE_GOLDEN=1 build/tests/reports_tests --gtest_filter='Golden.*'
// and review the diff (open the .svg in a browser).
//
// Gallery: with CODESIM_GALLERY_DIR=DIR set, Gallery.AllCharts writes a
// report with one chart of each kind to DIR (scripts/render-check.sh renders
// it in headless Chromium for a human look).
#include "reports/svg.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <vector>

#include "reports/output.hpp"

namespace codesim::reports::svg {
namespace {

// A small XML well-formedness check: tags balance, attributes are quoted,
// '&' only starts an entity, no '<' inside text.
::testing::AssertionResult WellFormed(const std::string& s) {
  std::vector<std::string> stack;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '&') {
      static const std::regex entity("^&(amp|lt|gt|quot|#39);");
      if (!std::regex_search(s.substr(i, 8), entity))
        return ::testing::AssertionFailure() << "bare & at " << i;
      ++i;
      continue;
    }
    if (s[i] != '<') {
      ++i;
      continue;
    }
    size_t end = s.find('>', i);
    if (end == std::string::npos) return ::testing::AssertionFailure() << "unclosed tag at " << i;
    std::string tag = s.substr(i + 1, end - i - 1);
    if (tag.find('<') != std::string::npos) return ::testing::AssertionFailure() << "'<' inside tag at " << i;
    if (std::count(tag.begin(), tag.end(), '"') % 2)
      return ::testing::AssertionFailure() << "unbalanced quotes in <" << tag << ">";
    if (tag.starts_with("/")) {
      std::string name = tag.substr(1);
      if (stack.empty() || stack.back() != name)
        return ::testing::AssertionFailure() << "</" << name << "> closes " << (stack.empty() ? "nothing" : stack.back());
      stack.pop_back();
    } else if (!tag.ends_with("/")) {
      stack.push_back(tag.substr(0, tag.find_first_of(" \n")));
    }
    i = end + 1;
  }
  if (!stack.empty()) return ::testing::AssertionFailure() << "<" << stack.back() << "> never closed";
  return ::testing::AssertionSuccess();
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

ScatterChart topology_scatter() {
  // Table 3 shaped data (cost per endpoint vs endpoints) with two categories.
  ScatterChart c;
  c.title = "Cost per endpoint vs scale";
  c.x = {"endpoints", true, {}, {}};
  c.y = {"cost per endpoint (k$)", false, {}, {}};
  c.series.push_back({"fat tree", {{2048, 4.39, "FT2"}, {16384, 4.39, "MPFT"}, {65536, 7.5, "FT3"}}});
  c.series.push_back({"direct", {{32928, 4.4, "SF"}, {261632, 5.8, "DF"}}});
  c.pareto = Pareto{Better::kHigher, Better::kLower};
  c.ref_lines.push_back({false, 5.0, "budget 5 k$"});
  return c;
}

std::vector<Point> pts(std::initializer_list<std::pair<double, double>> xy) {
  std::vector<Point> out;
  for (auto [x, y] : xy) out.push_back({x, y, ""});
  return out;
}

LineChart throughput_line() {
  LineChart c;
  c.title = "Decode throughput vs TPOT";
  c.x = {"TPOT (ms)", false, {}, {}};
  c.y = {"tokens/s per GPU", false, {}, {}};
  c.series.push_back({"EP144", pts({{20, 800}, {35, 1500}, {50, 1850}, {70, 2000}})});
  c.series.push_back({"EP32", pts({{25, 600}, {40, 1100}, {60, 1400}})});
  c.ref_lines.push_back({true, 50, "SLO 50 ms"});
  return c;
}

BarChart cost_bars() {
  BarChart c;
  c.title = "Training cost breakdown";
  c.categories = {"FT2", "MPFT", "FT3", "Slim Fly", "Dragonfly"};
  c.stacks = {{"GPUs", {61, 61, 61, 61, 61}}, {"network", {9, 9, 16, 9, 12}}, {"power", {5, 5, 6, 5, 6}}};
  c.stacked = true;
  c.value_labels = true;
  c.y = {"cost (M$)", false, {}, {}};
  return c;
}

GanttChart timeline() {
  GanttChart c;
  c.title = "Step timeline (one F&B chunk pair)";
  c.lanes = {"compute", "dispatch", "combine", "PP", "DP"};
  c.x = {"time (ms)", false, {}, {}};
  double t = 0;
  for (int layer = 0; layer < 4; ++layer) {
    c.bars.push_back({0, t, t + 20, "compute", "attn+mlp " + std::to_string(layer)});
    c.bars.push_back({1, t + 2, t + 6.5, "dispatch", "D"});
    c.bars.push_back({2, t + 12, t + 18, "combine", "C"});
    t += 22;
  }
  c.bars.push_back({3, 80, 86, "PP", "send"});
  c.bars.push_back({4, 60, 95, "DP", "reduce-scatter"});
  return c;
}

Heatmap utilisation() {
  Heatmap h;
  h.title = "Link utilisation";
  h.x = {"time (us)", false, {}, {}};
  h.value_label = "utilisation";
  h.value_min = 0;
  h.value_max = 1;
  h.x_step = 10;
  for (int r = 0; r < 12; ++r) {
    h.rows.push_back("leaf" + std::to_string(r / 4) + "-spine" + std::to_string(r % 4));
    std::vector<double> row;
    for (int k = 0; k < 40; ++k) row.push_back(((r * 7 + k * 3) % 11) / 10.0);
    h.values.push_back(row);
  }
  return h;
}

TEST(Ticks, NiceSteps) {
  EXPECT_EQ(nice_ticks(0, 1), (std::vector<double>{0, 0.2, 0.4, 0.6, 0.8, 1.0}));
  EXPECT_EQ(nice_ticks(3, 97), (std::vector<double>{0, 20, 40, 60, 80, 100}));
  EXPECT_EQ(nice_ticks(-5, 5).front(), -6);
}

TEST(Ticks, Labels) {
  EXPECT_EQ(tick_label(0), "0");
  EXPECT_EQ(tick_label(0.25), "0.25");
  EXPECT_EQ(tick_label(1500), "1.5k");
  EXPECT_EQ(tick_label(2e6), "2M");
  EXPECT_EQ(tick_label(-40), "-40");
  EXPECT_EQ(tick_label(1e-5), "1e-05");
}

TEST(Scatter, Structure) {
  const std::string s = render(topology_scatter());
  EXPECT_TRUE(WellFormed(s));
  EXPECT_TRUE(s.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_EQ(count(s, "<circle"), 5u + 2u);  // 5 points + 2 legend dots
  EXPECT_EQ(count(s, "<g class=\"pareto\">"), 1u);
  EXPECT_NE(s.find(">Pareto front</text>"), std::string::npos);
  EXPECT_NE(s.find(">budget 5 k$</text>"), std::string::npos);
  // Log x axis: decade ticks 1k .. 1M.
  EXPECT_NE(s.find(">1k</text>"), std::string::npos);
  EXPECT_NE(s.find(">1M</text>"), std::string::npos);
  EXPECT_NE(s.find(">DF</text>"), std::string::npos);
}

// Lower cost and more endpoints are better: FT2 is beaten by MPFT (same
// cost, more endpoints), so the front is MPFT - SF - DF... only points
// nobody beats on both axes.
TEST(Scatter, ParetoFrontJoinsNonDominatedPoints) {
  const std::string s = render(topology_scatter());
  const size_t g = s.find("<g class=\"pareto\">");
  const size_t p = s.find("points=\"", g) + 8;
  const std::string points = s.substr(p, s.find('"', p) - p);
  EXPECT_EQ(count(points, ","), 3u) << points;  // MPFT, SF, DF
}

TEST(Scatter, LogAxisDropsNonPositive) {
  ScatterChart c = topology_scatter();
  c.series[0].points.push_back({0, 1, "zero"});
  const std::string s = render(c);
  EXPECT_TRUE(WellFormed(s));
  EXPECT_EQ(s.find(">zero</text>"), std::string::npos);
}

TEST(Line, Structure) {
  const std::string s = render(throughput_line());
  EXPECT_TRUE(WellFormed(s));
  EXPECT_EQ(count(s, "<polyline"), 2u);
  EXPECT_NE(s.find(">SLO 50 ms</text>"), std::string::npos);
  EXPECT_NE(s.find("stroke-dasharray"), std::string::npos);
}

TEST(Bar, StackedStructure) {
  const std::string s = render(cost_bars());
  EXPECT_TRUE(WellFormed(s));
  const size_t g = s.find("<g class=\"bars\">");
  const std::string bars = s.substr(g, s.find("</g>", g) - g);
  EXPECT_EQ(count(bars, "<rect"), 15u);  // 5 categories x 3 stacks
  EXPECT_NE(bars.find(">75</text>"), std::string::npos);  // FT2 total 61+9+5
  EXPECT_NE(s.find(">Slim Fly</text>"), std::string::npos);
}

TEST(Bar, GroupedHandlesNegative) {
  BarChart c;
  c.categories = {"a", "b"};
  c.stacks = {{"x", {3, -2}}, {"y", {1, 4}}};
  const std::string s = render(c);
  EXPECT_TRUE(WellFormed(s));
  EXPECT_EQ(s.find("height=\"-"), std::string::npos);
}

TEST(Gantt, Structure) {
  const std::string s = render(timeline());
  EXPECT_TRUE(WellFormed(s));
  const size_t g = s.find("<g class=\"bars\">");
  const std::string bars = s.substr(g, s.find("</g>", g) - g);
  EXPECT_EQ(count(bars, "<rect"), 14u);
  for (const char* lane : {">compute</text>", ">dispatch</text>", ">DP</text>"})
    EXPECT_NE(s.find(lane), std::string::npos) << lane;
}

TEST(Heatmap, Structure) {
  const std::string s = render(utilisation());
  EXPECT_TRUE(WellFormed(s));
  const size_t g = s.find("<g class=\"cells\">");
  const std::string cells = s.substr(g, s.find("</g>\n<g", g) - g);
  EXPECT_EQ(count(cells, "<rect"), 12u * 40u);
  EXPECT_NE(s.find(">utilisation</text>"), std::string::npos);
  EXPECT_NE(s.find("fill=\"#440154\""), std::string::npos);  // value 0 -> darkest
}

TEST(Charts, EscapeText) {
  ScatterChart c;
  c.title = "a < b & \"c\"";
  c.series.push_back({"s<1>", {{1, 2, "p&q"}}});
  const std::string s = render(c);
  EXPECT_TRUE(WellFormed(s));
  EXPECT_NE(s.find("a &lt; b &amp; &quot;c&quot;"), std::string::npos);
}

TEST(Charts, EmptyDataStillRenders) {
  EXPECT_TRUE(WellFormed(render(ScatterChart{})));
  EXPECT_TRUE(WellFormed(render(LineChart{})));
  EXPECT_TRUE(WellFormed(render(BarChart{})));
  EXPECT_TRUE(WellFormed(render(GanttChart{})));
  EXPECT_TRUE(WellFormed(render(Heatmap{})));
}

TEST(Charts, Deterministic) {
  EXPECT_EQ(render(timeline()), render(timeline()));
  EXPECT_EQ(render(utilisation()), render(utilisation()));
}

TEST(Golden, Scatter) {
  const std::string path = std::string(CODESIM_TEST_DATA) + "/reports/golden/scatter.svg";
  const std::string got = render(topology_scatter());
  if (std::getenv("CODESIM_UPDATE_GOLDEN")) {
    std::string err;
    ASSERT_TRUE(write_file_atomic(path, got, err)) << err;
    GTEST_SKIP() << "updated " << path;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in) << "missing " << path << "; run with CODESIM_UPDATE_GOLDEN=1";
  std::stringstream want;
  want << in.rdbuf();
  EXPECT_EQ(got, want.str()) << "rerun with CODESIM_UPDATE_GOLDEN=1 to refresh " << path;
}

TEST(Gallery, AllCharts) {
  Report r("codesim chart gallery");
  r.paragraph("One chart of each kind, with made-up data shaped like codesim's results.");
  r.heading("Topology comparison");
  r.chart("scatter", render(topology_scatter()), "Scatter, log x axis, Pareto front, reference line.");
  r.heading("Inference");
  r.chart("line", render(throughput_line()), "Line chart with an SLO marker.");
  r.heading("Training cost");
  r.chart("bars", render(cost_bars()), "Stacked bars with totals.");
  BarChart grouped = cost_bars();
  grouped.stacked = false;
  grouped.title = "Grouped bars";
  r.chart("grouped", render(grouped), "Grouped bars.");
  r.heading("Step timeline");
  r.chart("gantt", render(timeline()), "Gantt chart per stream.");
  r.heading("Network");
  r.chart("heatmap", render(utilisation()), "Link-utilisation heatmap.");
  const std::string html = to_html(r);
  EXPECT_TRUE(WellFormed(html.substr(html.find("<html"))));
  if (const char* dir = std::getenv("CODESIM_GALLERY_DIR")) {
    std::string err;
    ASSERT_TRUE(write_report(r, dir, err)) << err;
  }
}

}  // namespace
}  // namespace codesim::reports::svg
