// File: cli/output_flags.hpp
//
// The output flags every result-producing command shares:
//   --json          JSON on stdout instead of the table
//   --csv           CSV on stdout instead of the table
//   --report DIR    also write DIR/index.html (self-contained, SVG charts)
//                   and DIR/report.md
// Use:
//   static reports::OutputOptions out;
//   add_output_flags(cmd, out);
//   cmd->callback([&] { ...; global.exit_code = reports::emit(report, with_quiet(out, global), std::cout, std::cerr); });
#pragma once

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "reports/output.hpp"

namespace codesim::cli {

inline void add_output_flags(CLI::App* cmd, reports::OutputOptions& out) {
  auto* json = cmd->add_flag("--json", out.json, "Print JSON on stdout instead of the table");
  auto* csv = cmd->add_flag("--csv", out.csv, "Print CSV on stdout instead of the table");
  json->excludes(csv);
  cmd->add_option("--report", out.report_dir,
                  "Also write DIR/index.html (self-contained, with SVG charts) and DIR/report.md")
      ->option_text("DIR");
}

inline reports::OutputOptions with_quiet(reports::OutputOptions out, const GlobalOptions& global) {
  out.quiet = out.quiet || global.quiet;
  return out;
}

}  // namespace codesim::cli
