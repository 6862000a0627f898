#include "reports/svg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>

#include "reports/output.hpp"

namespace codesim::reports::svg {

namespace {

// Coordinates with one decimal: enough for a screen, and stable text.
std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  std::string s(buf);
  if (s == "-0.0") s = "0.0";
  if (s.size() > 2 && s.ends_with(".0")) s.resize(s.size() - 2);
  return s;
}

// Tooltip values.
std::string val(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

constexpr const char* kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

// Rough width of sans-serif text at 12 px (for layout decisions only).
double text_width(const std::string& s, double font = 12) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return static_cast<double>(n) * font * 0.58;
}

// A mapping from data values to pixels along one axis.
struct Scale {
  double lo = 0, hi = 1;  // data range (for log: the values, not exponents)
  bool log = false;
  double p0 = 0, p1 = 1;  // pixels of lo and hi
  std::vector<double> ticks;

  double operator()(double v) const {
    double a = log ? std::log10(lo) : lo;
    double b = log ? std::log10(hi) : hi;
    double t = log ? std::log10(v) : v;
    if (b == a) return (p0 + p1) / 2;
    return p0 + (t - a) / (b - a) * (p1 - p0);
  }
  bool contains(double v) const {
    double e = (hi - lo) * 1e-9;
    return v >= lo - e && v <= hi + e && (!log || v > 0);
  }
};

// Builds a scale covering `values` (and the axis' explicit bounds).
Scale make_scale(const Axis& axis, std::vector<double> values, double p0, double p1, bool include_zero = false) {
  Scale s;
  s.log = axis.log;
  s.p0 = p0;
  s.p1 = p1;
  if (s.log) values.erase(std::remove_if(values.begin(), values.end(), [](double v) { return !(v > 0); }), values.end());
  values.erase(std::remove_if(values.begin(), values.end(), [](double v) { return !std::isfinite(v); }), values.end());
  if (include_zero && !s.log) values.push_back(0);
  double lo = values.empty() ? (s.log ? 1 : 0) : *std::min_element(values.begin(), values.end());
  double hi = values.empty() ? (s.log ? 10 : 1) : *std::max_element(values.begin(), values.end());
  if (axis.min) lo = *axis.min;
  if (axis.max) hi = *axis.max;
  if (s.log) {
    double a = std::floor(std::log10(lo));
    double b = std::ceil(std::log10(hi));
    if (b <= a) b = a + 1;
    s.lo = std::pow(10.0, a);
    s.hi = std::pow(10.0, b);
    int step = static_cast<int>(std::ceil((b - a) / 8.0));
    for (double e = a; e <= b + 1e-9; e += step) s.ticks.push_back(std::pow(10.0, e));
    return s;
  }
  if (hi == lo) {
    double pad = lo == 0 ? 1 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  s.ticks = nice_ticks(lo, hi);
  s.lo = axis.min ? *axis.min : std::min(lo, s.ticks.front());
  s.hi = axis.max ? *axis.max : std::max(hi, s.ticks.back());
  s.ticks.erase(std::remove_if(s.ticks.begin(), s.ticks.end(), [&](double t) { return !s.contains(t); }),
                s.ticks.end());
  return s;
}

class Canvas {
 public:
  Canvas(Size size, const std::string& title) : size_(size) {
    out_ = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(size.width) +
           "\" height=\"" + std::to_string(size.height) + "\" viewBox=\"0 0 " + std::to_string(size.width) +
           " " + std::to_string(size.height) +
           "\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\" role=\"img\">\n";
    out_ += "<title>" + xml_escape(title) + "</title>\n";
    out_ += "<rect x=\"0\" y=\"0\" width=\"" + std::to_string(size.width) + "\" height=\"" +
            std::to_string(size.height) + "\" fill=\"#ffffff\"/>\n";
    if (!title.empty())
      text(size.width / 2.0, 22, title, "middle", "font-size=\"15\" font-weight=\"bold\"");
  }
  void raw(const std::string& s) { out_ += s; }
  void open(const std::string& cls) { out_ += "<g class=\"" + cls + "\">\n"; }
  void close() { out_ += "</g>\n"; }
  void line(double x1, double y1, double x2, double y2, const std::string& stroke, double width = 1,
            const std::string& extra = {}) {
    out_ += "<line x1=\"" + num(x1) + "\" y1=\"" + num(y1) + "\" x2=\"" + num(x2) + "\" y2=\"" + num(y2) +
            "\" stroke=\"" + stroke + "\" stroke-width=\"" + num(width) + "\"" + (extra.empty() ? "" : " " + extra) +
            "/>\n";
  }
  void rect(double x, double y, double w, double h, const std::string& fill, const std::string& tip = {},
            const std::string& extra = {}) {
    out_ += "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(std::max(w, 0.0)) + "\" height=\"" +
            num(std::max(h, 0.0)) + "\" fill=\"" + fill + "\"" + (extra.empty() ? "" : " " + extra);
    if (tip.empty()) {
      out_ += "/>\n";
    } else {
      out_ += "><title>" + xml_escape(tip) + "</title></rect>\n";
    }
  }
  void circle(double x, double y, double r, const std::string& fill, const std::string& tip = {}) {
    out_ += "<circle cx=\"" + num(x) + "\" cy=\"" + num(y) + "\" r=\"" + num(r) + "\" fill=\"" + fill +
            "\" stroke=\"#ffffff\" stroke-width=\"1\"";
    if (tip.empty()) {
      out_ += "/>\n";
    } else {
      out_ += "><title>" + xml_escape(tip) + "</title></circle>\n";
    }
  }
  void polyline(const std::vector<std::pair<double, double>>& pts, const std::string& stroke, double width,
                const std::string& extra = {}) {
    if (pts.size() < 2) return;
    out_ += "<polyline fill=\"none\" stroke=\"" + stroke + "\" stroke-width=\"" + num(width) + "\"" +
            (extra.empty() ? "" : " " + extra) + " points=\"";
    for (size_t i = 0; i < pts.size(); ++i) out_ += (i ? " " : "") + num(pts[i].first) + "," + num(pts[i].second);
    out_ += "\"/>\n";
  }
  void text(double x, double y, const std::string& s, const std::string& anchor = "start",
            const std::string& extra = {}) {
    out_ += "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" text-anchor=\"" + anchor + "\"" +
            (extra.empty() ? "" : " " + extra) + ">" + xml_escape(s) + "</text>\n";
  }
  std::string finish() { return out_ + "</svg>\n"; }
  Size size() const { return size_; }

 private:
  Size size_;
  std::string out_;
};

// The plot area inside the margins.
struct Frame {
  double left, top, right, bottom;  // pixel edges
};

Frame make_frame(Size size, double left, bool legend, double legend_width = 150) {
  Frame f;
  f.left = left;
  f.top = 40;
  f.right = size.width - 20 - (legend ? legend_width : 0);
  f.bottom = size.height - 50;
  return f;
}

void draw_x_axis(Canvas& cv, const Frame& f, const Scale& sx, const std::string& label, bool grid) {
  cv.open("x-axis");
  for (double t : sx.ticks) {
    double x = sx(t);
    if (grid) cv.line(x, f.top, x, f.bottom, "#e6e6e6");
    cv.line(x, f.bottom, x, f.bottom + 5, "#333333");
    cv.text(x, f.bottom + 18, tick_label(t), "middle");
  }
  cv.line(f.left, f.bottom, f.right, f.bottom, "#333333");
  if (!label.empty()) cv.text((f.left + f.right) / 2, f.bottom + 38, label, "middle", "font-size=\"13\"");
  cv.close();
}

void draw_y_axis(Canvas& cv, const Frame& f, const Scale& sy, const std::string& label, bool grid) {
  cv.open("y-axis");
  for (double t : sy.ticks) {
    double y = sy(t);
    if (grid) cv.line(f.left, y, f.right, y, "#e6e6e6");
    cv.line(f.left - 5, y, f.left, y, "#333333");
    cv.text(f.left - 8, y + 4, tick_label(t), "end");
  }
  cv.line(f.left, f.top, f.left, f.bottom, "#333333");
  if (!label.empty()) {
    double x = 16, y = (f.top + f.bottom) / 2;
    cv.text(x, y, label, "middle", "font-size=\"13\" transform=\"rotate(-90 " + num(x) + " " + num(y) + ")\"");
  }
  cv.close();
}

struct LegendEntry {
  std::string name;
  std::string colour;
  enum Kind { kBox, kDot, kLine, kDashed } kind = kBox;
};

void draw_legend(Canvas& cv, double x, double y, const std::vector<LegendEntry>& entries) {
  if (entries.empty()) return;
  cv.open("legend");
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    double yy = y + static_cast<double>(i) * 18;
    switch (e.kind) {
      case LegendEntry::kBox: cv.rect(x, yy - 9, 12, 12, e.colour); break;
      case LegendEntry::kDot: cv.circle(x + 6, yy - 3, 5, e.colour); break;
      case LegendEntry::kLine: cv.line(x, yy - 3, x + 14, yy - 3, e.colour, 2); break;
      case LegendEntry::kDashed: cv.line(x, yy - 3, x + 14, yy - 3, e.colour, 1.5, "stroke-dasharray=\"5,3\""); break;
    }
    cv.text(x + 20, yy + 1, e.name);
  }
  cv.close();
}

void draw_ref_lines(Canvas& cv, const Frame& f, const Scale& sx, const Scale& sy, const std::vector<RefLine>& lines) {
  if (lines.empty()) return;
  cv.open("ref-lines");
  for (const auto& r : lines) {
    if (r.vertical) {
      if (!sx.contains(r.value)) continue;
      double x = sx(r.value);
      cv.line(x, f.top, x, f.bottom, "#c0392b", 1.5, "stroke-dasharray=\"6,4\"");
      cv.text(x + 4, f.top + 12, r.label, "start", "fill=\"#c0392b\"");
    } else {
      if (!sy.contains(r.value)) continue;
      double y = sy(r.value);
      cv.line(f.left, y, f.right, y, "#c0392b", 1.5, "stroke-dasharray=\"6,4\"");
      cv.text(f.right - 4, y - 5, r.label, "end", "fill=\"#c0392b\"");
    }
  }
  cv.close();
}

// x and y values of every point, plus reference lines, for the scales.
void collect(const std::vector<Series>& series, const std::vector<RefLine>& refs, std::vector<double>& xs,
             std::vector<double>& ys) {
  for (const auto& s : series)
    for (const auto& p : s.points) {
      xs.push_back(p.x);
      ys.push_back(p.y);
    }
  for (const auto& r : refs) (r.vertical ? xs : ys).push_back(r.value);
}

bool plottable(const Scale& sx, const Scale& sy, const Point& p) {
  return std::isfinite(p.x) && std::isfinite(p.y) && (!sx.log || p.x > 0) && (!sy.log || p.y > 0);
}

// Viridis-like sequential scale, t in [0, 1].
std::string sequential(double t) {
  static constexpr double stops[][3] = {
      {68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
  t = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0);
  double pos = t * 4;
  int i = std::min(static_cast<int>(pos), 3);
  double u = pos - i;
  char buf[8];
  int rgb[3];
  for (int k = 0; k < 3; ++k) rgb[k] = static_cast<int>(std::lround(stops[i][k] + (stops[i + 1][k] - stops[i][k]) * u));
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
  return buf;
}

}  // namespace

std::string palette(size_t i) { return kPalette[i % (sizeof kPalette / sizeof kPalette[0])]; }

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi)) return {lo};
  double raw = (hi - lo) / std::max(target - 1, 1);
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double m = 10;
  for (double c : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    m = c;
    if (c * mag >= raw) break;
  }
  // Tick k is k * m * mag; for mag < 1 it is computed as k * m / (1/mag),
  // which is exact for 0.2, 0.6, ... (3 * 0.2 is not).
  const double inv = mag < 1 ? std::round(1 / mag) : 0;
  auto at = [&](double k) { return inv > 0 ? k * m / inv : k * m * mag; };
  const double step = at(1);
  const double k0 = std::floor(lo / step + 1e-9), k1 = std::ceil(hi / step - 1e-9);
  std::vector<double> ticks;
  for (double k = k0; k <= k1 && ticks.size() < 100; ++k) ticks.push_back(k == 0 ? 0.0 : at(k));
  return ticks;
}

std::string tick_label(double v) {
  if (v == 0) return "0";
  char buf[32];
  double a = std::abs(v);
  auto trim = [](std::string s) {
    if (s.find('.') != std::string::npos && s.find('e') == std::string::npos) {
      while (s.ends_with('0')) s.pop_back();
      if (s.ends_with('.')) s.pop_back();
    }
    return s;
  };
  if (a >= 1e12) {
    std::snprintf(buf, sizeof buf, "%.3g", v);
    return buf;
  }
  const struct { double div; const char* suffix; } units[] = {{1e9, "G"}, {1e6, "M"}, {1e3, "k"}};
  for (const auto& u : units)
    if (a >= u.div) {
      std::snprintf(buf, sizeof buf, "%.3f", v / u.div);
      return trim(buf) + u.suffix;
    }
  if (a < 1e-3) {
    std::snprintf(buf, sizeof buf, "%.2g", v);
    return buf;
  }
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return trim(buf);
}

std::string render(const ScatterChart& c) {
  Canvas cv(c.size, c.title);
  std::vector<LegendEntry> legend;
  for (size_t i = 0; i < c.series.size(); ++i)
    if (!c.series[i].name.empty()) legend.push_back({c.series[i].name, palette(i), LegendEntry::kDot});
  if (c.pareto) legend.push_back({"Pareto front", "#555555", LegendEntry::kDashed});
  Frame f = make_frame(c.size, 70, !legend.empty());
  std::vector<double> xs, ys;
  collect(c.series, c.ref_lines, xs, ys);
  Scale sx = make_scale(c.x, xs, f.left, f.right);
  Scale sy = make_scale(c.y, ys, f.bottom, f.top);
  draw_x_axis(cv, f, sx, c.x.label, true);
  draw_y_axis(cv, f, sy, c.y.label, true);
  draw_ref_lines(cv, f, sx, sy, c.ref_lines);

  if (c.pareto) {
    std::vector<Point> all;
    for (const auto& s : c.series)
      for (const auto& p : s.points)
        if (plottable(sx, sy, p)) all.push_back(p);
    auto better_eq = [](Better b, double a, double o) { return b == Better::kLower ? a <= o : a >= o; };
    std::vector<Point> front;
    for (const auto& p : all) {
      bool dominated = false;
      for (const auto& q : all) {
        if (&p == &q) continue;
        if (better_eq(c.pareto->x, q.x, p.x) && better_eq(c.pareto->y, q.y, p.y) && (q.x != p.x || q.y != p.y)) {
          dominated = true;
          break;
        }
      }
      if (!dominated) front.push_back(p);
    }
    std::sort(front.begin(), front.end(), [](const Point& a, const Point& b) { return a.x < b.x || (a.x == b.x && a.y < b.y); });
    std::vector<std::pair<double, double>> pts;
    for (const auto& p : front) pts.emplace_back(sx(p.x), sy(p.y));
    cv.open("pareto");
    cv.polyline(pts, "#555555", 1.5, "stroke-dasharray=\"5,3\"");
    cv.close();
  }

  cv.open("points");
  for (size_t i = 0; i < c.series.size(); ++i) {
    for (const auto& p : c.series[i].points) {
      if (!plottable(sx, sy, p)) continue;
      std::string tip = (p.label.empty() ? c.series[i].name : p.label) + ": " + val(p.x) + ", " + val(p.y);
      cv.circle(sx(p.x), sy(p.y), 5, palette(i), tip);
    }
  }
  cv.close();
  cv.open("labels");
  for (const auto& s : c.series)
    for (const auto& p : s.points)
      if (!p.label.empty() && plottable(sx, sy, p)) cv.text(sx(p.x) + 7, sy(p.y) - 7, p.label, "start", "font-size=\"11\"");
  cv.close();
  draw_legend(cv, f.right + 20, f.top + 10, legend);
  return cv.finish();
}

std::string render(const LineChart& c) {
  Canvas cv(c.size, c.title);
  std::vector<LegendEntry> legend;
  for (size_t i = 0; i < c.series.size(); ++i)
    if (!c.series[i].name.empty()) legend.push_back({c.series[i].name, palette(i), LegendEntry::kLine});
  Frame f = make_frame(c.size, 70, !legend.empty());
  std::vector<double> xs, ys;
  collect(c.series, c.ref_lines, xs, ys);
  Scale sx = make_scale(c.x, xs, f.left, f.right);
  Scale sy = make_scale(c.y, ys, f.bottom, f.top);
  draw_x_axis(cv, f, sx, c.x.label, true);
  draw_y_axis(cv, f, sy, c.y.label, true);
  draw_ref_lines(cv, f, sx, sy, c.ref_lines);
  cv.open("lines");
  for (size_t i = 0; i < c.series.size(); ++i) {
    std::vector<std::pair<double, double>> pts;
    for (const auto& p : c.series[i].points)
      if (plottable(sx, sy, p)) pts.emplace_back(sx(p.x), sy(p.y));
    cv.polyline(pts, palette(i), 2);
    if (c.markers)
      for (const auto& p : c.series[i].points)
        if (plottable(sx, sy, p)) cv.circle(sx(p.x), sy(p.y), 3.5, palette(i), c.series[i].name + ": " + val(p.x) + ", " + val(p.y));
  }
  cv.close();
  draw_legend(cv, f.right + 20, f.top + 10, legend);
  return cv.finish();
}

std::string render(const BarChart& c) {
  Canvas cv(c.size, c.title);
  std::vector<LegendEntry> legend;
  if (c.stacks.size() > 1 || (c.stacks.size() == 1 && !c.stacks[0].name.empty()))
    for (size_t i = 0; i < c.stacks.size(); ++i) legend.push_back({c.stacks[i].name, palette(i), LegendEntry::kBox});
  Frame f = make_frame(c.size, 70, !legend.empty());
  const size_t n = c.categories.size();
  const double band = n ? (f.right - f.left) / static_cast<double>(n) : 0;
  // Category labels are rotated when they would collide; the plot then
  // leaves room below for the longest one (sin 30 deg = 0.5).
  bool rotate = false;
  double longest = 0;
  for (const auto& cat : c.categories) {
    rotate = rotate || text_width(cat) > band * 0.95;
    longest = std::max(longest, text_width(cat));
  }
  if (rotate) f.bottom = std::min(f.bottom, std::max(f.top + 60, c.size.height - 16 - longest * 0.5 - 14));
  std::vector<double> ys;
  for (size_t k = 0; k < n; ++k) {
    double pos = 0, neg = 0;
    for (const auto& s : c.stacks) {
      double v = k < s.values.size() ? s.values[k] : 0;
      if (!std::isfinite(v)) continue;
      if (c.stacked) (v >= 0 ? pos : neg) += v;
      else ys.push_back(v);
    }
    if (c.stacked) {
      ys.push_back(pos);
      ys.push_back(neg);
    }
  }
  Axis yaxis = c.y;
  yaxis.log = false;
  Scale sy = make_scale(yaxis, ys, f.bottom, f.top, true);
  draw_y_axis(cv, f, sy, c.y.label, true);
  cv.open("x-axis");
  cv.line(f.left, sy(0), f.right, sy(0), "#333333");
  for (size_t k = 0; k < n; ++k) {
    double x = f.left + band * (k + 0.5);
    if (rotate)
      cv.text(x, f.bottom + 14, c.categories[k], "end",
              "transform=\"rotate(-30 " + num(x) + " " + num(f.bottom + 14) + ")\"");
    else
      cv.text(x, f.bottom + 18, c.categories[k], "middle");
  }
  cv.close();
  cv.open("bars");
  const double inner = band * 0.7;
  for (size_t k = 0; k < n; ++k) {
    double x0 = f.left + band * k + (band - inner) / 2;
    double pos = 0, neg = 0;
    for (size_t i = 0; i < c.stacks.size(); ++i) {
      double v = k < c.stacks[i].values.size() ? c.stacks[i].values[k] : 0;
      if (!std::isfinite(v)) continue;
      std::string tip = c.categories[k] + (c.stacks[i].name.empty() ? "" : " / " + c.stacks[i].name) + ": " + val(v);
      if (c.stacked) {
        double base = v >= 0 ? pos : neg;
        double top = base + v;
        (v >= 0 ? pos : neg) = top;
        cv.rect(x0, std::min(sy(base), sy(top)), inner, std::abs(sy(top) - sy(base)), palette(i), tip);
      } else {
        double w = inner / static_cast<double>(c.stacks.size());
        double x = x0 + w * static_cast<double>(i);
        cv.rect(x, std::min(sy(0), sy(v)), w, std::abs(sy(v) - sy(0)), palette(i), tip);
        if (c.value_labels) cv.text(x + w / 2, sy(v) - 4, tick_label(v), "middle", "font-size=\"11\"");
      }
    }
    if (c.stacked && c.value_labels) cv.text(x0 + inner / 2, sy(pos) - 4, tick_label(pos + neg), "middle", "font-size=\"11\"");
  }
  cv.close();
  draw_legend(cv, f.right + 20, f.top + 10, legend);
  return cv.finish();
}

std::string render(const GanttChart& c) {
  Canvas cv(c.size, c.title);
  std::vector<std::string> cats;  // in order of first appearance
  for (const auto& b : c.bars)
    if (std::find(cats.begin(), cats.end(), b.category) == cats.end()) cats.push_back(b.category);
  std::vector<LegendEntry> legend;
  for (size_t i = 0; i < cats.size(); ++i) legend.push_back({cats[i], palette(i), LegendEntry::kBox});
  double left = 20;
  for (const auto& l : c.lanes) left = std::max(left, text_width(l));
  Frame f = make_frame(c.size, left + 20, !legend.empty(), 130);
  std::vector<double> xs;
  for (const auto& b : c.bars) {
    xs.push_back(b.start);
    xs.push_back(b.end);
  }
  Axis xaxis = c.x;
  xaxis.log = false;
  Scale sx = make_scale(xaxis, xs, f.left, f.right);
  draw_x_axis(cv, f, sx, c.x.label, true);
  const size_t lanes = std::max<size_t>(c.lanes.size(), 1);
  const double lane_h = (f.bottom - f.top) / static_cast<double>(lanes);
  cv.open("lanes");
  for (size_t i = 0; i < c.lanes.size(); ++i) {
    double y = f.top + lane_h * static_cast<double>(i);
    if (i % 2 == 1) cv.rect(f.left, y, f.right - f.left, lane_h, "#f7f7f7");
    cv.text(f.left - 8, y + lane_h / 2 + 4, c.lanes[i], "end");
  }
  cv.line(f.left, f.top, f.left, f.bottom, "#333333");
  cv.close();
  cv.open("bars");
  for (const auto& b : c.bars) {
    if (b.lane < 0 || static_cast<size_t>(b.lane) >= c.lanes.size()) continue;
    size_t ci = static_cast<size_t>(std::find(cats.begin(), cats.end(), b.category) - cats.begin());
    double x0 = sx(std::max(b.start, sx.lo)), x1 = sx(std::min(b.end, sx.hi));
    double y = f.top + lane_h * b.lane + lane_h * 0.15;
    std::string tip = (b.label.empty() ? b.category : b.label) + ": " + val(b.start) + " - " + val(b.end);
    cv.rect(x0, y, x1 - x0, lane_h * 0.7, palette(ci), tip, "stroke=\"#ffffff\" stroke-width=\"0.5\"");
    if (!b.label.empty() && text_width(b.label, 11) + 6 < x1 - x0)
      cv.text((x0 + x1) / 2, y + lane_h * 0.35 + 4, b.label, "middle", "font-size=\"11\" fill=\"#ffffff\"");
  }
  cv.close();
  draw_legend(cv, f.right + 20, f.top + 10, legend);
  return cv.finish();
}

std::string render(const Heatmap& c) {
  Canvas cv(c.size, c.title);
  double left = 20;
  for (const auto& l : c.rows) left = std::max(left, text_width(l, 11));
  Frame f = make_frame(c.size, left + 20, true, 90);
  size_t cols = 0;
  double vmin = std::numeric_limits<double>::infinity(), vmax = -vmin;
  for (const auto& r : c.values) {
    cols = std::max(cols, r.size());
    for (double v : r)
      if (std::isfinite(v)) {
        vmin = std::min(vmin, v);
        vmax = std::max(vmax, v);
      }
  }
  if (!std::isfinite(vmin)) vmin = vmax = 0;
  if (vmin >= 0) vmin = 0;
  if (c.value_min) vmin = *c.value_min;
  if (c.value_max) vmax = *c.value_max;
  if (vmax <= vmin) vmax = vmin + 1;
  Axis xaxis = c.x;
  xaxis.log = false;
  if (!xaxis.min) xaxis.min = c.x_start;
  if (!xaxis.max) xaxis.max = c.x_start + c.x_step * static_cast<double>(std::max<size_t>(cols, 1));
  Scale sx = make_scale(xaxis, {}, f.left, f.right);
  draw_x_axis(cv, f, sx, c.x.label, false);
  const size_t rows = std::max<size_t>(c.values.size(), 1);
  const double row_h = (f.bottom - f.top) / static_cast<double>(rows);
  cv.open("cells");
  for (size_t r = 0; r < c.values.size(); ++r)
    for (size_t k = 0; k < c.values[r].size(); ++k) {
      double v = c.values[r][k];
      double x0 = sx(c.x_start + c.x_step * static_cast<double>(k));
      double x1 = sx(c.x_start + c.x_step * static_cast<double>(k + 1));
      std::string name = r < c.rows.size() ? c.rows[r] : std::to_string(r);
      cv.rect(x0, f.top + row_h * r, x1 - x0 + 0.3, row_h + 0.3,
              std::isfinite(v) ? sequential((v - vmin) / (vmax - vmin)) : "#dddddd",
              name + " @ " + val(c.x_start + c.x_step * static_cast<double>(k)) + ": " + val(v));
    }
  cv.close();
  cv.open("rows");
  const size_t every = std::max<size_t>(1, static_cast<size_t>(std::ceil(12.0 / row_h)));
  for (size_t r = 0; r < c.rows.size(); r += every)
    cv.text(f.left - 6, f.top + row_h * (r + 0.5) + 4, c.rows[r], "end", "font-size=\"11\"");
  cv.line(f.left, f.top, f.left, f.bottom, "#333333");
  cv.close();
  // Colour bar.
  cv.open("colour-bar");
  const double bx = f.right + 20, bw = 16, steps = 32;
  for (int i = 0; i < steps; ++i) {
    double y = f.bottom - (f.bottom - f.top) * (i + 1) / steps;
    cv.rect(bx, y, bw, (f.bottom - f.top) / steps + 0.3, sequential((i + 0.5) / steps));
  }
  Axis vaxis;
  vaxis.min = vmin;
  vaxis.max = vmax;
  Scale sv = make_scale(vaxis, {}, f.bottom, f.top);
  for (double t : sv.ticks) {
    cv.line(bx + bw, sv(t), bx + bw + 4, sv(t), "#333333");
    cv.text(bx + bw + 7, sv(t) + 4, tick_label(t), "start", "font-size=\"11\"");
  }
  if (!c.value_label.empty()) cv.text(bx, f.top - 8, c.value_label, "start", "font-size=\"11\"");
  cv.close();
  return cv.finish();
}

}  // namespace codesim::reports::svg
