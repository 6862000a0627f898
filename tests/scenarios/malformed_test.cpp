// Every file in tests/bad/*.yaml is a malformed scenario whose first line is
//   # expect: <the exact error: file:line:col: key 'k': message (or a prefix)>
// Loading it must fail and the reported errors must contain that text, so
// each file pins the file, line, column, key and wording of its error.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "scenarios/scenario.hpp"

namespace codesim::scenarios {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> bad_files() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(fs::path(CODESIM_TEST_DATA) / "bad"))
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
    EXPECT_FALSE(load_scenario(p.string(), {}, s, d));
    const std::string got = d.str();
    EXPECT_NE(got.find(expect), std::string::npos) << "expected: " << expect << "\ngot:\n" << got;
  }
}

}  // namespace
}  // namespace codesim::scenarios
