// reports/validation.hpp: tolerance kinds, statuses, the table and JSON
// shapes of `codesim validate`, and the built-in targets.
#include "reports/validation.hpp"

#include <gtest/gtest.h>

#include <set>

namespace codesim::reports {
namespace {

ValidationFn constant(double v) {
  return [v](const ValidationContext&, double& sim, std::string&) {
    sim = v;
    return true;
  };
}

TEST(Tolerance, Kinds) {
  EXPECT_TRUE(Tolerance::exact().accepts(70272, 70272));
  EXPECT_FALSE(Tolerance::exact().accepts(70272, 70273));
  EXPECT_TRUE(Tolerance::exact().accepts(120.96, 120.96000000000001));  // closed-form rounding
  EXPECT_TRUE(Tolerance::relative(0.02).accepts(250, 254.9));
  EXPECT_FALSE(Tolerance::relative(0.02).accepts(250, 255.1));
  EXPECT_TRUE(Tolerance::absolute(0.01).accepts(4.66, 4.663));
  EXPECT_FALSE(Tolerance::absolute(0.01).accepts(7.28, 7.344));
  EXPECT_FALSE(Tolerance::relative(0.5).accepts(1, std::numeric_limits<double>::quiet_NaN()));
  EXPECT_EQ(Tolerance::relative(0.02).str(), "±2%");
  EXPECT_EQ(Tolerance::absolute(0.01).str(), "±0.01");
}

ValidationRegistry sample_registry() {
  ValidationRegistry reg;
  reg.add({"A1", "passes", "B", 100, "src", Tolerance::exact(), "", constant(100), {}});
  reg.add({"A2", "fails", "us", 100, "src", Tolerance::relative(0.01), "", constant(103), {}});
  reg.add({"B1", "not modelled", "", 5, "src", Tolerance::exact(), "", nullptr, {}});
  reg.add({"B2", "errors", "", 5, "src", Tolerance::exact(), "",
           [](const ValidationContext&, double&, std::string& e) {
             e = "scenario missing";
             return false;
           },
           {}});
  reg.add({"B3", "known gap", "", 394, "src", Tolerance::relative(0.02), "", constant(445), "config differs"});
  return reg;
}

TEST(Registry, RejectsDuplicateIds) {
  ValidationRegistry reg;
  reg.add({"T1", "", "", 0, "", {}, "", nullptr, {}});
  EXPECT_THROW(reg.add({"T1", "", "", 0, "", {}, "", nullptr, {}}), std::invalid_argument);
}

TEST(Run, StatusesAndErrors) {
  const auto reg = sample_registry();
  const auto r = run_validation(reg, {"."});
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r[0].status, ValidationStatus::kPass);
  EXPECT_EQ(r[1].status, ValidationStatus::kFail);
  EXPECT_NEAR(r[1].rel_error, 0.03, 1e-12);
  EXPECT_EQ(r[2].status, ValidationStatus::kNotModelled);
  EXPECT_EQ(r[3].status, ValidationStatus::kError);
  EXPECT_EQ(r[3].error, "scenario missing");
  EXPECT_EQ(r[4].status, ValidationStatus::kKnownGap);
  EXPECT_FALSE(all_passed(r));
  // Not modelled and known gaps do not fail the run.
  EXPECT_TRUE(all_passed(run_validation(reg, {"."}, {"A1", "B1", "B3"})));
}

TEST(Run, OnlySelectsIdAndChildren) {
  ValidationRegistry reg;
  for (const char* id : {"T1", "T10/ft2/a", "T10/ft2/b", "T10/mpft/a", "T12"})
    reg.add({id, "q", "", 1, "s", Tolerance::exact(), "", constant(1), {}});
  auto ids = [&](std::vector<std::string> only) {
    std::vector<std::string> out;
    for (const auto& r : run_validation(reg, {"."}, only)) out.push_back(r.target->id);
    return out;
  };
  EXPECT_EQ(ids({"T1"}), (std::vector<std::string>{"T1"}));
  EXPECT_EQ(ids({"T10"}), (std::vector<std::string>{"T10/ft2/a", "T10/ft2/b", "T10/mpft/a"}));
  EXPECT_EQ(ids({"T10/ft2", "T12"}), (std::vector<std::string>{"T10/ft2/a", "T10/ft2/b", "T12"}));
  EXPECT_TRUE(ids({"T10/f"}).empty());
}

TEST(Table, ColumnsAndCells) {
  const auto reg = sample_registry();
  const ResultTable t = validation_table(run_validation(reg, {"."}));
  for (const char* k : {"id", "quantity", "published", "simulated", "error", "tolerance", "pass"})
    EXPECT_GE(t.column_index(k), 0) << k;
  const int pass = t.column_index("pass"), err = t.column_index("error");
  EXPECT_EQ(t.rows()[0][pass].text(), "pass");
  EXPECT_EQ(t.rows()[1][pass].text(), "FAIL");
  EXPECT_EQ(t.rows()[1][err].text(), "+3.00%");
  EXPECT_EQ(t.rows()[2][pass].text(), "not modelled yet");
  EXPECT_TRUE(t.rows()[2][err].empty());
  EXPECT_NE(t.notes().at(0).find("1 pass, 1 fail, 1 error, 1 known gap, 1 not modelled yet"), std::string::npos);
}

TEST(Json, KeysAndNulls) {
  const auto reg = sample_registry();
  const auto j = validation_json(run_validation(reg, {"."}));
  ASSERT_EQ(j.size(), 5u);
  for (const auto& row : j)
    for (const char* k : {"id", "published", "simulated", "rel_error", "pass"}) EXPECT_TRUE(row.contains(k)) << k;
  EXPECT_EQ(j[0]["pass"], true);
  EXPECT_EQ(j[1]["pass"], false);
  EXPECT_TRUE(j[2]["pass"].is_null());
  EXPECT_TRUE(j[2]["simulated"].is_null());
  EXPECT_EQ(j[3]["pass"], false);
  EXPECT_EQ(j[3]["error"], "scenario missing");
}

TEST(Report, HasTableAndChart) {
  const auto reg = sample_registry();
  const Report rep = validation_report(run_validation(reg, {"."}));
  EXPECT_EQ(rep.tables().size(), 1u);
  EXPECT_NE(to_html(rep).find("<figure id=\"error-vs-tolerance\">"), std::string::npos);
}

// The built-in registry: unique ids, every target has a source, and every
// computed target with a tolerance other than exact says why.
TEST(Builtin, WellFormedRegistry) {
  ValidationRegistry reg;
  register_builtin_targets(reg);
  EXPECT_GT(reg.targets().size(), 30u);
  std::set<std::string> ids;
  for (const auto& t : reg.targets()) {
    EXPECT_TRUE(ids.insert(t.id).second) << t.id;
    EXPECT_TRUE(t.id.starts_with("T")) << t.id;
    EXPECT_FALSE(t.source.empty()) << t.id;
    EXPECT_FALSE(t.quantity.empty()) << t.id;
    if (t.compute) {
      EXPECT_FALSE(t.why.empty()) << t.id;
    }
  }
}

// The cheap built-in targets pass against the bundled scenarios (the whole
// table, including Table 3's fabrics, runs in tests/cli/validate.sh).
TEST(Builtin, ModelAndDecodeLimitTargetsPass) {
  ValidationRegistry reg;
  register_builtin_targets(reg);
  const auto results = run_validation(reg, {CODESIM_SOURCE_DIR}, {"T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "T31"});
  EXPECT_EQ(results.size(), 20u);
  for (const auto& r : results) {
    EXPECT_TRUE(r.status == ValidationStatus::kPass || r.status == ValidationStatus::kKnownGap)
        << r.target->id << ": " << status_name(r.status) << " simulated " << r.simulated << " " << r.error;
  }
}

}  // namespace
}  // namespace codesim::reports
