// codesim validate: recompute every published figure codesim models and
// compare (reports/validation.hpp). Exits 1 when a target fails.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/output_flags.hpp"
#include "reports/validation.hpp"

namespace codesim::cli {

void register_validate_commands(CLI::App& app, GlobalOptions& global) {
  auto* cmd = app.add_subcommand("validate", "Compare codesim with every published figure it models")
                  ->footer(
                      "Prints id, quantity, published, simulated, error, tolerance and pass for each\n"
                      "target of shared/reference/deepseek-v3-published.md; rows codesim does not\n"
                      "compute yet say \"not modelled yet\". Exits 1 on any failure.\n\n"
                      "Examples:\n"
                      "  codesim validate\n"
                      "  codesim validate --only T10 --only T11     # Table 3 only\n"
                      "  codesim validate --json | jq '.[] | select(.pass == false)'\n"
                      "  codesim validate --report out/validate     # HTML + markdown + SVG");
  static reports::OutputOptions out;
  static std::vector<std::string> only;
  static std::string root = CODESIM_SOURCE_DIR;
  add_output_flags(cmd, out);
  cmd->add_option("--only", only, "Run only this target and those below it (T10 = T10/*; repeatable)");
  cmd->add_option("--root", root, "Repository root holding scenarios/ (default: the source tree)")
      ->check(CLI::ExistingDirectory);
  cmd->callback([&global] {
    reports::ValidationRegistry reg;
    reports::register_builtin_targets(reg);
    const auto results = reports::run_validation(reg, reports::ValidationContext{root}, only);
    if (results.empty()) {
      std::cerr << "codesim validate: no target matches --only\n";
      global.exit_code = 1;
      return;
    }
    int rc = 0;
    if (out.json) {
      reports::OutputOptions o = with_quiet(out, global);
      o.json = false;
      if (!o.report_dir.empty()) {
        std::string error;
        if (!reports::write_report(reports::validation_report(results), o.report_dir, error)) {
          std::cerr << "codesim: " << error << "\n";
          global.exit_code = 1;
          return;
        }
      }
      std::cout << reports::validation_json(results).dump(2) << "\n";
    } else {
      rc = reports::emit(reports::validation_report(results), with_quiet(out, global), std::cout, std::cerr);
    }
    global.exit_code = rc != 0 ? rc : (reports::all_passed(results) ? 0 : 1);
  });
}

}  // namespace codesim::cli
