// File: models/model_io.hpp
//
// Loading model specs (scenarios/models/*.yaml) through the strict config
// layer: unknown, missing and mistyped keys are errors that name the file,
// line, column and key; `overrides` are "--set key=value" assignments
// ("moe.n_activated_experts=4"). Nothing here exits or throws.
#pragma once

#include <string>
#include <vector>

#include "models/model_spec.hpp"
#include "sim/config.hpp"

namespace codesim::models {

// Returns false and fills `diags` (every error, not just the first) when the
// file is missing or invalid; `spec` is then unspecified.
bool load_model_spec(const std::string& path, const std::vector<std::string>& overrides,
                     ModelSpec& spec, config::Diagnostics& diags);

// The same from YAML text (tests); `name` stands for the file in messages.
bool load_model_spec_text(std::string_view text, std::string_view name, ModelSpec& spec,
                          config::Diagnostics& diags);

}  // namespace codesim::models
