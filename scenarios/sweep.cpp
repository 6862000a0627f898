#include "scenarios/sweep.hpp"

#include "scenarios/scenario.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

namespace codesim::scenarios {

namespace {

struct EvaluatorEntry {
  std::string help;
  Evaluator fn;
  std::vector<std::string> metrics;
};

std::map<std::string, EvaluatorEntry>& registry() {
  static std::map<std::string, EvaluatorEntry> r;  // function-local: no init-order fiasco
  return r;
}
std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}

std::string number_text(double v) {
  if (std::abs(v - std::round(v)) < 1e-9 && std::abs(v) < 1e15) {
    return std::to_string(static_cast<long long>(std::llround(v)));
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.12g", v);
  return buf;
}

// A plain value, or a list of plain values (e.g. layers_per_stage).
bool plain_or_list(const config::Node& n) {
  if (n.is_scalar()) return true;
  return n.is_seq() && !n.items.empty() &&
         std::all_of(n.items.begin(), n.items.end(), [](const config::Node& i) { return i.is_scalar(); });
}

// The value as --set reads it: a list in YAML's flow form, "[4, 4, 2]".
std::string value_text(const config::Node& n) {
  if (n.is_scalar()) return n.scalar;
  std::string s = "[";
  for (size_t i = 0; i < n.items.size(); ++i) s += (i ? ", " : "") + n.items[i].scalar;
  return s + "]";
}

// The last `parts` dot-separated names of a key ("data.degree" for 2).
std::string key_tail(const std::string& key, int parts) {
  size_t at = key.size();
  for (int i = 0; i < parts && at != std::string::npos && at > 0; ++i) at = key.rfind('.', at - 1);
  return at == std::string::npos ? key : key.substr(at + 1);
}

// A value in a point's label: a list of one repeated value as "[4]x16".
std::string value_label(const config::Node& n) {
  if (n.is_seq() && n.items.size() > 1 &&
      std::all_of(n.items.begin(), n.items.end(), [&](const config::Node& i) { return i.scalar == n.items[0].scalar; }))
    return "[" + n.items[0].scalar + "]x" + std::to_string(n.items.size());
  return value_text(n);
}

}  // namespace

void SweepAxis::validate(config::Reader& r) {
  r.check(values.has_value() != range.has_value(), "values", "give exactly one of 'values' or 'range'");
  if (range) r.check(!key.empty(), "key", "a range axis needs a 'key'");
  if (values) {
    r.check(values->is_seq() && !values->items.empty(), "values", "expected a non-empty list");
    if (!values->is_seq()) return;
    for (const auto& item : values->items) {
      if (key.empty()) {
        bool ok = item.is_map();
        if (ok)
          for (const auto& [k, v] : item.entries) ok = ok && plain_or_list(v);
        r.check(ok, "values",
                "an axis without 'key' needs values that are mappings {key.path: value, ...} of plain values "
                "or lists of them");
      } else {
        r.check(item.is_scalar(), "values", "each value must be a plain value (number, string, unit)");
      }
    }
  }
  r.check(!key.empty() || !name.empty(), "name", "a linked axis (no 'key') needs a 'name'");
}

void register_evaluator(const std::string& mode, std::string help, Evaluator fn, std::vector<std::string> metrics) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  registry()[mode] = EvaluatorEntry{std::move(help), std::move(fn), std::move(metrics)};
}

const Evaluator* find_evaluator(const std::string& mode) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  auto it = registry().find(mode);
  return it == registry().end() ? nullptr : &it->second.fn;
}

const std::vector<std::string>* evaluator_metrics(const std::string& mode) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  auto it = registry().find(mode);
  return it == registry().end() ? nullptr : &it->second.metrics;
}

std::string evaluator_names() {
  std::lock_guard<std::mutex> lock(registry_mutex());
  std::string s;
  for (const auto& [k, v] : registry()) s += (s.empty() ? "" : ", ") + k;
  return s.empty() ? "(none registered)" : s;
}

bool load_sweep(const std::string& path, const std::vector<std::string>& overrides, SweepSpec& out,
                std::string& base_path, config::Diagnostics& diags) {
  SweepFile file;
  config::Node root;
  if (!config::load(path, overrides, file, diags, &root)) return false;
  out = std::move(file.sweep);
  std::filesystem::path b = out.base;
  if (b.is_relative()) b = std::filesystem::path(path).parent_path() / b;
  base_path = b.lexically_normal().string();
  if (!std::filesystem::exists(base_path)) {
    const config::Node* s = root.find("sweep");
    const config::Node* bn = s ? s->find("base") : nullptr;
    diags.add(bn ? bn->mark : root.mark, "sweep.base", "base scenario '" + base_path + "' does not exist");
    return false;
  }
  return true;
}

bool check_sweep(const std::string& path, const SweepSpec& spec, const std::string& mode, const config::Node& base,
                 config::Diagnostics& diags) {
  config::Node root;
  config::Diagnostics ignored;
  config::load_file(path, root, ignored);  // for the marks only: load_sweep read it already
  const config::Node* sweep = root.find("sweep");
  auto mark_of = [&](const char* section, size_t i, const char* key) {
    const config::Node* sec = sweep ? sweep->find(section) : nullptr;
    if (!sec || !sec->is_seq() || i >= sec->items.size()) return sweep ? sweep->mark : root.mark;
    const config::Node* k = key ? sec->items[i].find(key) : nullptr;
    return k ? k->mark : sec->items[i].mark;
  };
  const size_t before = diags.size();
  if (!find_evaluator(mode)) {
    const config::Node* m = sweep ? sweep->find("mode") : nullptr;
    diags.add(m ? m->mark : root.mark, "sweep.mode",
              "unknown mode '" + mode + "'; valid values are: " + evaluator_names());
    return false;
  }
  if (const std::vector<std::string>* known = evaluator_metrics(mode); known && !known->empty()) {
    std::vector<std::string_view> names(known->begin(), known->end());
    std::string list;
    for (const auto& n : *known) list += (list.empty() ? "" : ", ") + n;
    auto check_metric = [&](const std::string& metric, const char* section, size_t i) {
      if (std::find(known->begin(), known->end(), metric) != known->end()) return;
      const std::string hint = config::suggest(metric, names);
      diags.add(mark_of(section, i, "metric"), "sweep." + std::string(section) + "[" + std::to_string(i) + "].metric",
                "mode '" + mode + "' reports no metric '" + metric + "'" +
                    (hint.empty() ? std::string() : " (did you mean '" + hint + "'?)") + "; it reports: " + list);
    };
    for (size_t i = 0; i < spec.constraints.size(); ++i) check_metric(spec.constraints[i].metric, "constraints", i);
    for (size_t i = 0; i < spec.objectives.size(); ++i) check_metric(spec.objectives[i].metric, "objectives", i);
  }
  // Every value of every axis (a range: its first), set on the base alone:
  // diagnostics that point at the value itself (its marks are the
  // override's) and say the key is unknown or the type is wrong.
  SweepSpec one;
  for (size_t a = 0; a < spec.axes.size(); ++a) {
    one.axes = {spec.axes[a]};
    std::vector<SweepPoint> choices = expand(one);
    if (spec.axes[a].range && choices.size() > 1) choices.resize(1);
    std::set<std::string> reported;
    for (const SweepPoint& c : choices) {
      config::Node tree = base;
      config::Diagnostics d;
      bool applied = true;
      for (const auto& o : c.overrides) applied = config::apply_override(tree, o, d) && applied;
      Scenario s;
      if (applied) read_scenario(tree, s, d);
      for (const config::Diagnostic& e : d.list()) {
        const bool at_value = e.mark.file.rfind("--set ", 0) == 0;
        // Unknown keys and type errors ("expected an integer, got 'eight'":
        // the Reader quotes the value it could not read); a value that
        // fails a check against other keys may be valid with another
        // axis's value, so it stays a skipped point.
        auto has = [&](const char* t) { return e.message.find(t) != std::string::npos; };
        const bool type_error = (e.message.rfind("expected ", 0) == 0 &&
                                 (has(", got '") || has(", got a list") || has(", got a mapping") ||
                                  has(", got nothing"))) ||
                                has(" unit '");  // "unknown bandwidth unit 'x'"
        const bool schema = e.message.rfind("unknown key", 0) == 0 || type_error ||
                            e.message.rfind("cannot set a key below", 0) == 0;
        if (!at_value || !schema || !reported.insert(e.key + e.message).second) continue;
        const std::string axis = spec.axes[a].name.empty() ? spec.axes[a].key : spec.axes[a].name;
        diags.add(mark_of("axes", a, spec.axes[a].range ? "range" : "values"),
                  "sweep.axes[" + std::to_string(a) + "]",
                  "axis '" + axis + "' value '" + c.labels.front().second + "' sets '" + e.key + "': " + e.message);
      }
    }
  }
  return diags.size() == before;
}

std::vector<SweepPoint> expand(const SweepSpec& spec) {
  // Each axis becomes a list of choices; a choice is (overrides, label).
  struct Choice {
    std::vector<std::string> overrides;
    std::string label;
  };
  std::vector<std::vector<Choice>> axes;
  std::vector<std::string> names;
  for (const auto& axis : spec.axes) {
    std::vector<Choice> choices;
    if (axis.range) {
      const auto& r = *axis.range;
      // Tolerate rounding in the last step (e.g. 0.1 steps) by a relative epsilon.
      const double eps = 1e-9 * std::max(1.0, std::abs(r.to));
      for (double v = r.from; v <= r.to + eps; v = r.step ? v + *r.step : v * *r.times) {
        std::string t = number_text(v);
        choices.push_back({{axis.key + "=" + t}, t});
        if (choices.size() > 1'000'000) break;
      }
    } else if (axis.values) {
      for (const auto& item : axis.values->items) {
        if (item.is_scalar()) {
          choices.push_back({{axis.key + "=" + item.scalar}, item.scalar});
        } else {
          Choice c;
          for (const auto& [k, v] : item.entries) {
            c.overrides.push_back(k + "=" + value_text(v));
            // The key's last name labels it, or its last two where another
            // key of the choice ends the same (pipeline.degree, data.degree).
            const std::string last = key_tail(k, 1);
            const bool shared = std::count_if(item.entries.begin(), item.entries.end(),
                                              [&](const auto& e) { return key_tail(e.first, 1) == last; }) > 1;
            c.label += (c.label.empty() ? "" : ",") + key_tail(k, shared ? 2 : 1) + "=" + value_label(v);
          }
          choices.push_back(std::move(c));
        }
      }
    }
    axes.push_back(std::move(choices));
    names.push_back(axis.name.empty() ? axis.key : axis.name);
  }
  size_t total = 1;
  for (const auto& a : axes) total *= a.size();
  std::vector<SweepPoint> points;
  points.reserve(total);
  std::vector<size_t> idx(axes.size(), 0);
  for (size_t p = 0; p < total; ++p) {
    SweepPoint pt;
    pt.index = p;
    size_t rem = p;
    for (size_t a = axes.size(); a-- > 0;) {
      idx[a] = rem % axes[a].size();
      rem /= axes[a].size();
    }
    for (size_t a = 0; a < axes.size(); ++a) {
      const Choice& c = axes[a][idx[a]];
      pt.overrides.insert(pt.overrides.end(), c.overrides.begin(), c.overrides.end());
      pt.labels.emplace_back(names[a], c.label);
    }
    points.push_back(std::move(pt));
  }
  return points;
}

std::string SweepRow::fingerprint() const {
  std::string s = context + "|";
  for (const auto& o : point.overrides) s += o + ";";
  return s;
}

SweepRow evaluate_point(const config::Node& base, const std::string& base_path,
                        const SweepSpec& spec, const SweepPoint& point, const Evaluator& eval) {
  SweepRow row;
  row.point = point;
  config::Node tree = base;
  config::Diagnostics diags;
  for (const auto& o : point.overrides) config::apply_override(tree, o, diags);
  if (!diags.empty()) {
    row.result.status = PointResult::Status::kSkipped;
    row.result.reason = diags.list().front().str();
    row.feasible = false;
    return row;
  }
  row.result = eval(tree, base_path);
  if (row.result.status != PointResult::Status::kOk) {
    row.feasible = false;
    return row;
  }
  for (const auto& c : spec.constraints) {
    auto it = row.result.metrics.find(c.metric);
    if (it == row.result.metrics.end()) {
      row.feasible = false;
      continue;
    }
    if (c.min && it->second < *c.min) row.feasible = false;
    if (c.max && it->second > *c.max) row.feasible = false;
  }
  return row;
}

std::string row_to_json(const SweepRow& row) {
  nlohmann::ordered_json j;
  j["index"] = row.point.index;
  j["overrides"] = row.point.overrides;
  if (!row.context.empty()) j["context"] = row.context;
  nlohmann::ordered_json labels = nlohmann::ordered_json::object();
  for (const auto& [k, v] : row.point.labels) labels[k] = v;
  j["inputs"] = labels;
  j["status"] = row.result.status == PointResult::Status::kOk ? "ok" : "skipped";
  if (!row.result.reason.empty()) j["reason"] = row.result.reason;
  j["feasible"] = row.feasible;
  nlohmann::ordered_json m = nlohmann::ordered_json::object();
  for (const auto& [k, v] : row.result.metrics) m[k] = v;
  j["outputs"] = m;
  if (!row.result.text.empty()) j["text"] = row.result.text;
  return j.dump();
}

bool row_from_json(const std::string& line, SweepRow& row) {
  auto j = nlohmann::ordered_json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("index") || !j.contains("overrides") ||
      !j.contains("status"))
    return false;
  try {
    row.point.index = j["index"].get<size_t>();
    row.point.overrides = j["overrides"].get<std::vector<std::string>>();
    row.context = j.value("context", "");
    row.point.labels.clear();
    if (j.contains("inputs"))
      for (auto& [k, v] : j["inputs"].items()) row.point.labels.emplace_back(k, v.get<std::string>());
    row.result.status = j["status"] == "ok" ? PointResult::Status::kOk : PointResult::Status::kSkipped;
    row.result.reason = j.value("reason", "");
    row.feasible = j.value("feasible", false);
    row.result.metrics.clear();
    if (j.contains("outputs"))
      for (auto& [k, v] : j["outputs"].items())
        if (v.is_number()) row.result.metrics[k] = v.get<double>();
    row.result.text.clear();
    if (j.contains("text"))
      for (auto& [k, v] : j["text"].items()) row.result.text[k] = v.get<std::string>();
  } catch (const nlohmann::json::exception&) {
    return false;
  }
  return true;
}

std::vector<SweepRow> read_rows(const std::string& path) {
  std::vector<SweepRow> rows;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    SweepRow r;
    if (!line.empty() && row_from_json(line, r)) rows.push_back(std::move(r));
  }
  return rows;
}

std::vector<size_t> pareto_front(const std::vector<SweepRow>& rows,
                                 const std::vector<SweepObjective>& objectives) {
  std::vector<size_t> cand;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (!rows[i].feasible) continue;
    bool has_all = true;
    for (const auto& o : objectives) has_all = has_all && rows[i].result.metrics.count(o.metric);
    if (has_all) cand.push_back(i);
  }
  auto val = [&](size_t i, const SweepObjective& o) {
    double v = rows[i].result.metrics.at(o.metric);
    return o.goal == Goal::kMin ? v : -v;  // smaller is better
  };
  std::vector<size_t> front;
  for (size_t a : cand) {
    bool dominated = false;
    for (size_t b : cand) {
      if (a == b) continue;
      bool no_worse = true, better = false;
      for (const auto& o : objectives) {
        double va = val(a, o), vb = val(b, o);
        if (vb > va) no_worse = false;
        if (vb < va) better = true;
      }
      // Identical points: keep the lower index only.
      if (no_worse && (better || b < a)) {
        dominated = true;
        break;
      }
    }
    if (!dominated) front.push_back(a);
  }
  if (!objectives.empty())
    std::sort(front.begin(), front.end(), [&](size_t a, size_t b) {
      return std::make_pair(val(a, objectives[0]), rows[a].point.index) <
             std::make_pair(val(b, objectives[0]), rows[b].point.index);
    });
  return front;
}

namespace {
std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}
}  // namespace

std::string rows_to_csv(std::vector<SweepRow> rows) {
  std::sort(rows.begin(), rows.end(),
            [](const SweepRow& a, const SweepRow& b) { return a.point.index < b.point.index; });
  std::vector<std::string> inputs, outputs, texts;
  std::set<std::string> seen_in, seen_out, seen_text;
  for (const auto& r : rows) {
    for (const auto& [k, v] : r.point.labels)
      if (seen_in.insert(k).second) inputs.push_back(k);
    for (const auto& [k, v] : r.result.metrics)
      if (seen_out.insert(k).second) outputs.push_back(k);
    for (const auto& [k, v] : r.result.text)
      if (seen_text.insert(k).second) texts.push_back(k);
  }
  std::sort(outputs.begin(), outputs.end());
  std::ostringstream out;
  out << "index";
  for (const auto& k : inputs) out << "," << csv_cell(k);
  for (const auto& k : texts) out << "," << csv_cell(k);
  for (const auto& k : outputs) out << "," << csv_cell(k);
  out << ",status,feasible,reason\n";
  for (const auto& r : rows) {
    out << r.point.index;
    for (const auto& k : inputs) {
      std::string v;
      for (const auto& [lk, lv] : r.point.labels)
        if (lk == k) v = lv;
      out << "," << csv_cell(v);
    }
    for (const auto& k : texts) {
      auto it = r.result.text.find(k);
      out << "," << csv_cell(it == r.result.text.end() ? "" : it->second);
    }
    for (const auto& k : outputs) {
      auto it = r.result.metrics.find(k);
      out << ",";
      if (it != r.result.metrics.end()) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.9g", it->second);
        out << buf;
      }
    }
    out << "," << (r.result.status == PointResult::Status::kOk ? "ok" : "skipped") << ","
        << (r.feasible ? "true" : "false") << "," << csv_cell(r.result.reason) << "\n";
  }
  return out.str();
}

}  // namespace codesim::scenarios
