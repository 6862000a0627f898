#pragma once
// Helpers shared by the models/ tests (one definition, so the area's unity
// build has no duplicate).
#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "models/model_io.hpp"
#include "models/reference_options.hpp"

namespace codesim::models::test_support {

// A bundled model spec, scenarios/models/FILE; a load error fails the test.
inline ModelSpec load(const std::string& file) {
  ModelSpec spec;
  config::Diagnostics d;
  const bool ok =
      load_model_spec(std::string(CODESIM_SOURCE_DIR) + "/scenarios/models/" + file, {}, spec, d);
  EXPECT_TRUE(ok) << d.str();
  return spec;
}

inline ReferenceOptions with_seed(uint64_t seed, MlaPath path = MlaPath::kAbsorbed,
                                  PrecisionPolicy precision = {}) {
  ReferenceOptions o;
  o.seed = seed;
  o.mla_path = path;
  o.precision = precision;
  return o;
}

}  // namespace codesim::models::test_support
