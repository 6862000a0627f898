// Helpers for the serving tests: read one section of a scenario file (the
// tests link workloads, not scenarios, so they read the section directly).
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "sim/config.hpp"
#include "workloads/serving.hpp"

namespace codesim::workloads::testing {

inline std::string repo_path(const std::string& rel) { return std::string(CODESIM_SOURCE_DIR) + "/" + rel; }

template <class T>
::testing::AssertionResult load_section(const std::string& rel, const std::string& key, T& out) {
  config::Diagnostics diags;
  config::Node root;
  if (!config::load_file(repo_path(rel), root, diags)) return ::testing::AssertionFailure() << diags.str();
  const config::Node* n = root.find(key);
  if (!n) return ::testing::AssertionFailure() << rel << ": no '" << key << "' section";
  config::Reader::read_struct(*n, key, out, diags);
  if (!diags.empty()) return ::testing::AssertionFailure() << diags.str();
  return ::testing::AssertionSuccess();
}

// The day-6 production scenario's serving section (fails the test if it
// does not load).
inline ServingSpec day6() {
  ServingSpec s;
  EXPECT_TRUE(load_section("scenarios/paper/v3-serve-day6.yaml", "serving", s));
  return s;
}

}  // namespace codesim::workloads::testing
