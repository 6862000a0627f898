#include "models/model_io.hpp"

namespace codesim::models {

bool load_model_spec(const std::string& path, const std::vector<std::string>& overrides,
                     ModelSpec& spec, config::Diagnostics& diags) {
  spec = ModelSpec{};
  return config::load(path, overrides, spec, diags);
}

bool load_model_spec_text(std::string_view text, std::string_view name, ModelSpec& spec,
                          config::Diagnostics& diags) {
  spec = ModelSpec{};
  return config::load_text(text, name, spec, diags);
}

}  // namespace codesim::models
