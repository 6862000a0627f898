#include "reports/validation.hpp"

#include <cmath>
#include <cstdio>
#include <exception>
#include <stdexcept>

#include "reports/svg.hpp"

namespace codesim::reports {

namespace {

std::string pct(double frac, int digits = 2) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.*f%%", digits, frac * 100);
  return buf;
}

bool counts_as_ok(ValidationStatus s) {
  return s != ValidationStatus::kFail && s != ValidationStatus::kError;
}

}  // namespace

std::string Tolerance::str() const {
  char buf[32];
  switch (kind) {
    case ToleranceKind::kExact: return "exact";
    case ToleranceKind::kRelative: std::snprintf(buf, sizeof buf, "±%g%%", value * 100); return buf;
    case ToleranceKind::kAbsolute: std::snprintf(buf, sizeof buf, "±%g", value); return buf;
  }
  return "?";
}

bool Tolerance::accepts(double published, double simulated) const {
  if (!std::isfinite(simulated)) return false;
  const double diff = std::abs(simulated - published);
  switch (kind) {
    case ToleranceKind::kExact: return diff <= 1e-9 * std::max(1.0, std::abs(published));
    case ToleranceKind::kRelative:
      return published == 0 ? diff == 0 : diff / std::abs(published) <= value * (1 + 1e-12);
    case ToleranceKind::kAbsolute: return diff <= value * (1 + 1e-12);
  }
  return false;
}

void ValidationRegistry::add(ValidationTarget t) {
  if (t.id.empty()) throw std::invalid_argument("validation target without an id");
  for (const auto& o : targets_)
    if (o.id == t.id) throw std::invalid_argument("duplicate validation target id '" + t.id + "'");
  targets_.push_back(std::move(t));
}

std::string_view status_name(ValidationStatus s) {
  switch (s) {
    case ValidationStatus::kPass: return "pass";
    case ValidationStatus::kFail: return "FAIL";
    case ValidationStatus::kError: return "error";
    case ValidationStatus::kKnownGap: return "known gap";
    case ValidationStatus::kNotModelled: return "not modelled yet";
  }
  return "?";
}

std::vector<ValidationResult> run_validation(const ValidationRegistry& reg, const ValidationContext& ctx,
                                             const std::vector<std::string>& only) {
  std::vector<ValidationResult> out;
  for (const auto& t : reg.targets()) {
    if (!only.empty()) {
      bool match = false;
      for (const auto& sel : only)
        match = match || t.id == sel || (t.id.starts_with(sel) && (sel.ends_with('/') || t.id[sel.size()] == '/'));
      if (!match) continue;
    }
    ValidationResult r;
    r.target = &t;
    if (!t.compute) {
      r.status = ValidationStatus::kNotModelled;
      out.push_back(std::move(r));
      continue;
    }
    bool ok = false;
    try {
      ok = t.compute(ctx, r.simulated, r.error);
    } catch (const std::exception& e) {
      r.error = e.what();
    }
    if (!ok) {
      r.status = ValidationStatus::kError;
      if (r.error.empty()) r.error = "computation failed";
    } else {
      r.rel_error = t.published == 0 ? 0 : (r.simulated - t.published) / std::abs(t.published);
      if (t.tolerance.accepts(t.published, r.simulated)) r.status = ValidationStatus::kPass;
      else r.status = t.known_gap.empty() ? ValidationStatus::kFail : ValidationStatus::kKnownGap;
    }
    out.push_back(std::move(r));
  }
  return out;
}

bool all_passed(const std::vector<ValidationResult>& results) {
  for (const auto& r : results)
    if (!counts_as_ok(r.status)) return false;
  return true;
}

ResultTable validation_table(const std::vector<ValidationResult>& results) {
  ResultTable t("Validation against published figures");
  t.add_column("id")
      .add_column("quantity")
      .add_column("unit")
      .add_column("published")
      .add_column("simulated")
      .add_column("error")
      .add_column("tolerance")
      .add_column("pass")
      .add_column("source");
  int counts[5] = {0, 0, 0, 0, 0};
  for (const auto& r : results) {
    const auto& tg = *r.target;
    ++counts[static_cast<int>(r.status)];
    Cell sim, err;
    if (r.status == ValidationStatus::kError) {
      sim = Cell("error: " + r.error);
    } else if (r.status != ValidationStatus::kNotModelled) {
      sim = Cell(r.simulated);
      err = Cell(pct(r.rel_error));
    }
    t.add_row({tg.id, tg.quantity, tg.unit, tg.published, sim, err, tg.tolerance.str(),
               std::string(status_name(r.status)), tg.source});
  }
  t.add_note(std::to_string(counts[0]) + " pass, " + std::to_string(counts[1]) + " fail, " +
             std::to_string(counts[2]) + " error, " + std::to_string(counts[3]) + " known gap, " +
             std::to_string(counts[4]) + " not modelled yet; error = (simulated - published) / published");
  return t;
}

nlohmann::ordered_json validation_json(const std::vector<ValidationResult>& results) {
  auto rows = nlohmann::ordered_json::array();
  for (const auto& r : results) {
    const auto& tg = *r.target;
    nlohmann::ordered_json o;
    o["id"] = tg.id;
    o["quantity"] = tg.quantity;
    o["unit"] = tg.unit;
    o["published"] = tg.published;
    const bool has_value = r.status != ValidationStatus::kNotModelled && r.status != ValidationStatus::kError &&
                           std::isfinite(r.simulated);
    o["simulated"] = has_value ? nlohmann::ordered_json(r.simulated) : nlohmann::ordered_json(nullptr);
    o["rel_error"] = has_value ? nlohmann::ordered_json(r.rel_error) : nlohmann::ordered_json(nullptr);
    o["tolerance"] = tg.tolerance.str();
    if (r.status == ValidationStatus::kNotModelled) o["pass"] = nullptr;
    else o["pass"] = r.status == ValidationStatus::kPass;
    o["status"] = std::string(status_name(r.status));
    o["source"] = tg.source;
    if (!r.error.empty()) o["error"] = r.error;
    if (!tg.known_gap.empty()) o["known_gap"] = tg.known_gap;
    rows.push_back(std::move(o));
  }
  return rows;
}

Report validation_report(const std::vector<ValidationResult>& results) {
  Report rep("codesim validate");
  rep.paragraph(
      "Every published figure that codesim models, recomputed by the code that models it and compared "
      "with the published value (targets of shared/reference/deepseek-v3-published.md). Rows marked "
      "\"not modelled yet\" are published figures codesim does not compute yet.");
  rep.table(validation_table(results));
  // |error| as a fraction of the tolerance: below 1 passes. Exact targets
  // use 1e-9 relative as their tolerance.
  svg::BarChart chart;
  chart.title = "Error relative to tolerance (below 1 passes)";
  chart.y.label = "|error| / tolerance";
  svg::BarStack s{"", {}};
  for (const auto& r : results) {
    if (r.status == ValidationStatus::kNotModelled || r.status == ValidationStatus::kError) continue;
    const auto& tg = *r.target;
    double tol = 1e-9;
    if (tg.tolerance.kind == ToleranceKind::kRelative) tol = tg.tolerance.value;
    double ratio;
    if (tg.tolerance.kind == ToleranceKind::kAbsolute) {
      ratio = tg.tolerance.value > 0 ? std::abs(r.simulated - tg.published) / tg.tolerance.value : 0;
    } else {
      ratio = std::abs(r.rel_error) / tol;
    }
    chart.categories.push_back(tg.id);
    s.values.push_back(std::min(ratio, 2.0));  // clipped: a miss shows as 2
  }
  chart.stacks.push_back(s);
  chart.y.max = 2.0;
  chart.size = {std::max(760, 40 + 28 * static_cast<int>(chart.categories.size())), 420};
  if (!chart.categories.empty())
    rep.chart("error-vs-tolerance", svg::render(chart),
              "|simulated - published| divided by the tolerance, per target (clipped at 2).");
  return rep;
}

}  // namespace codesim::reports
