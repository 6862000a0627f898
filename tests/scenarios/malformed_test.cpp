// Every file in tests/bad/*.yaml is a malformed scenario whose first line is
//   # expect: <the exact error: file:line:col: key 'k': message (or a prefix)>
// Loading it (and, for a training scenario, checking its plan against the
// model and cluster as `codesim check` does) must fail and the reported errors must contain that text, so
// each file pins the file, line, column, key and wording of its error. The
// files in tests/bad/sweeps/ are sweeps that load but fail the checks a
// sweep gets before it runs a point (check_sweep), pinned the same way.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "scenarios/evaluators.hpp"
#include "scenarios/scenario.hpp"
#include "scenarios/sweep.hpp"

namespace codesim::scenarios {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> bad_files(const char* dir = "bad") {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(fs::path(CODESIM_TEST_DATA) / dir))
    if (e.is_regular_file() && e.path().extension() == ".yaml") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string expectation(const fs::path& p) {
  std::ifstream in(p);
  std::string first;
  std::getline(in, first);
  const std::string tag = "# expect: ";
  return first.rfind(tag, 0) == 0 ? first.substr(tag.size()) : std::string();
}

TEST(Malformed, AtLeastThirtyFiles) { EXPECT_GE(bad_files().size(), 30u); }

TEST(Malformed, EachFileGetsItsPreciseError) {
  for (const fs::path& p : bad_files()) {
    SCOPED_TRACE(p.filename().string());
    const std::string expect = expectation(p);
    ASSERT_FALSE(expect.empty()) << "first line must be '# expect: ...'";
    Scenario s;
    config::Diagnostics d;
    bool ok = load_scenario(p.string(), {}, s, d);
    // A training scenario that loads also gets what `check` and `train` ask
    // of its plan against the model and cluster (training_inputs).
    if (ok && s.cluster && s.plan && s.training) {
      config::Node root;
      ASSERT_TRUE(config::load_file(p.string(), root, d));
      workloads::TrainingInputs in;
      ok = training_inputs(s, root, in, d);
    }
    EXPECT_FALSE(ok);
    const std::string got = d.str();
    EXPECT_NE(got.find(expect), std::string::npos) << "expected: " << expect << "\ngot:\n" << got;
  }
}

TEST(Malformed, EachSweepGetsItsPreciseError) {
  register_builtin_evaluators();
  const std::vector<fs::path> files = bad_files("bad/sweeps");
  EXPECT_GE(files.size(), 3u);
  for (const fs::path& p : files) {
    SCOPED_TRACE(p.filename().string());
    const std::string expect = expectation(p);
    ASSERT_FALSE(expect.empty()) << "first line must be '# expect: ...'";
    SweepSpec spec;
    std::string base_path;
    config::Diagnostics d;
    ASSERT_TRUE(load_sweep(p.string(), {}, spec, base_path, d)) << d.str();
    config::Node base;
    ASSERT_TRUE(config::load_file(base_path, base, d)) << d.str();
    EXPECT_FALSE(check_sweep(p.string(), spec, spec.mode, base, d));
    const std::string got = d.str();
    EXPECT_NE(got.find(expect), std::string::npos) << "expected: " << expect << "\ngot:\n" << got;
  }
}

// The bundled sweeps pass the same checks, in both modes (where the mode
// has a full variant).
TEST(Malformed, BundledSweepsPassTheirChecks) {
  register_builtin_evaluators();
  for (const auto& e : fs::directory_iterator(fs::path(CODESIM_TEST_DATA) / ".." / "scenarios" / "sweeps")) {
    if (e.path().extension() != ".yaml") continue;
    SCOPED_TRACE(e.path().filename().string());
    SweepSpec spec;
    std::string base_path;
    config::Diagnostics d;
    ASSERT_TRUE(load_sweep(e.path().string(), {}, spec, base_path, d)) << d.str();
    config::Node base;
    ASSERT_TRUE(config::load_file(base_path, base, d)) << d.str();
    EXPECT_TRUE(check_sweep(e.path().string(), spec, spec.mode, base, d)) << d.str();
    if (find_evaluator(spec.mode + "-full")) {
      EXPECT_TRUE(check_sweep(e.path().string(), spec, spec.mode + "-full", base, d)) << d.str();
    }
  }
}

// The metric names each evaluator registers (what the checks above hold
// constraints and objectives against) cover every metric a real point
// reports: the fast train, serve and topology modes on the paper scenarios.
TEST(Malformed, RegisteredMetricsCoverWhatEvaluatorsReport) {
  register_builtin_evaluators();
  const std::string root = std::string(CODESIM_TEST_DATA) + "/../scenarios/paper/";
  for (const auto& [mode, file] : {std::pair{"train", "v3-train-2048-h800-mpft.yaml"},
                                   std::pair{"serve", "v3-serve-day6.yaml"},
                                   std::pair{"topology", "table3-mpft.yaml"}}) {
    SCOPED_TRACE(mode);
    config::Node tree;
    config::Diagnostics d;
    ASSERT_TRUE(config::load_file(root + file, tree, d)) << d.str();
    if (std::string(mode) == "train") {
      ASSERT_TRUE(config::apply_override(tree, "training.comm=analytic", d));
    }
    const PointResult r = (*find_evaluator(mode))(tree, root + file);
    ASSERT_EQ(r.status, PointResult::Status::kOk) << r.reason;
    const std::vector<std::string>& known = *evaluator_metrics(mode);
    EXPECT_GE(r.metrics.size(), 8u);
    for (const auto& [name, value] : r.metrics)
      EXPECT_NE(std::find(known.begin(), known.end(), name), known.end()) << name << " is not registered";
  }
}

}  // namespace
}  // namespace codesim::scenarios
