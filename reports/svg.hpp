// File: reports/svg.hpp
//
// codesim draws its charts itself, as plain SVG 1.1 text: no network, no
// JavaScript, no fonts beyond the generic sans-serif. Each chart is a value
// (a struct of data and labels) and render() turns it into one complete
// <svg> element, to inline in reports/output.hpp's HTML page or to save as
// a .svg file. Output is deterministic (fixed palette, fixed number
// formatting, no time stamps or random ids), so charts are golden-testable.
//
// Charts (and the codesim figure each is meant for):
//   ScatterChart  topology comparison (cost per endpoint vs bisection or
//                 step time), colour per category, point labels, optional
//                 log axes and Pareto-front line, reference lines (SLO)
//   LineChart     inference throughput vs TPOT, sweeps
//   BarChart      grouped or stacked bars (training cost breakdown, KV
//                 cache capacity per model)
//   GanttChart    step timeline, one lane per stream (compute, dispatch,
//                 combine, PP, DP), bars coloured by category
//   Heatmap       link utilisation over time (rows = links, columns = time
//                 bins), sequential colour scale with a colour bar
//
// Example:
//   svg::ScatterChart c;
//   c.title = "Cost per endpoint vs bisection bandwidth";
//   c.x = {"bisection bandwidth (TB/s)"};
//   c.y = {"cost per endpoint (k$)"};
//   c.series.push_back({"fat tree", {{51.2, 4.39, "FT2"}, {409.6, 7.5, "FT3"}}});
//   c.pareto = svg::Pareto{svg::Better::kHigher, svg::Better::kLower};
//   std::string text = svg::render(c);
//
// Values are plain doubles in the unit the axis label names; callers convert
// from sim/units.hpp types (d / Microseconds(1)) and put the unit in the label.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace codesim::reports::svg {

struct Size {
  int width = 760;
  int height = 440;
};

struct Axis {
  std::string label;        // with unit: "step time (s)"
  bool log = false;         // base-10; non-positive values are dropped
  std::optional<double> min;  // default: from the data (padded, nice ticks)
  std::optional<double> max;
};

// A horizontal (value on the y axis) or vertical (x axis) reference line,
// drawn dashed with its label, e.g. the TPOT SLO.
struct RefLine {
  bool vertical = true;
  double value = 0;
  std::string label;
};

struct Point {
  double x = 0;
  double y = 0;
  std::string label;  // drawn next to the point when non-empty
};

struct Series {
  std::string name;  // legend entry; one colour per series
  std::vector<Point> points;
};

enum class Better { kLower, kHigher };
// Which direction is better on each axis; the front joins the points no
// other point beats on both axes.
struct Pareto {
  Better x = Better::kLower;
  Better y = Better::kHigher;
};

struct ScatterChart {
  std::string title;
  Axis x, y;
  std::vector<Series> series;
  std::optional<Pareto> pareto;  // over all series together
  std::vector<RefLine> ref_lines;
  Size size;
};

struct LineChart {
  std::string title;
  Axis x, y;
  std::vector<Series> series;  // points joined in the order given
  bool markers = true;
  std::vector<RefLine> ref_lines;
  Size size;
};

struct BarStack {
  std::string name;            // legend entry (e.g. "GPUs", "network")
  std::vector<double> values;  // one per category
};

struct BarChart {
  std::string title;
  std::vector<std::string> categories;  // x axis
  std::vector<BarStack> stacks;         // one colour each
  bool stacked = false;                 // false: grouped side by side
  Axis y;                               // y.log is not supported for bars
  bool value_labels = false;            // print each bar's (or stack's total) value
  Size size;
};

struct GanttBar {
  int lane = 0;           // index into GanttChart::lanes
  double start = 0;       // x units (e.g. ms)
  double end = 0;
  std::string category;   // colour and legend ("compute", "dispatch", ...)
  std::string label;      // drawn inside the bar when it fits
};

struct GanttChart {
  std::string title;
  std::vector<std::string> lanes;  // top to bottom (streams)
  std::vector<GanttBar> bars;
  Axis x;  // time, e.g. {"time (ms)"}
  Size size;
};

struct Heatmap {
  std::string title;
  std::vector<std::string> rows;          // y labels, top to bottom (links)
  std::vector<std::vector<double>> values;  // values[row][column]
  double x_start = 0;                     // x value of the first column's left edge
  double x_step = 1;                      // column width in x units
  Axis x;                                 // e.g. {"time (ms)"}
  std::string value_label;                // colour-bar label, e.g. "utilisation"
  std::optional<double> value_min;        // default: data min (0 when all >= 0)
  std::optional<double> value_max;        // default: data max
  Size size;
};

std::string render(const ScatterChart& c);
std::string render(const LineChart& c);
std::string render(const BarChart& c);
std::string render(const GanttChart& c);
std::string render(const Heatmap& c);

// Tick positions for a linear axis covering [lo, hi]: about `target` ticks
// at 1, 2 or 5 x 10^k steps. Exposed for tests.
std::vector<double> nice_ticks(double lo, double hi, int target = 6);
// Compact tick label: 0.5, 12, 1.5k, 2M, 1e-05 (deterministic).
std::string tick_label(double v);
// The i-th colour of the fixed categorical palette (wraps around).
std::string palette(size_t i);

}  // namespace codesim::reports::svg
