// File: reports/charts_forms.hpp
//
// The four output forms for commands whose JSON and human text predate
// reports/output.hpp and are kept as they are (scripts and tests parse
// them): the command renders its own JSON and text, and a Report (tables
// and charts) for --csv and --report; emit_forms() picks what goes to
// stdout and writes the files.
//
//   stdout   opt.json: json_text; opt.csv: to_csv(csv_table); else: human_text
//   files    --report DIR (write_report) and an optional trace file
//
// Everything is rendered to memory before the first file is touched, files
// are written atomically, and stdout is printed last: when a file cannot be
// written, the command prints one error line, nothing on stdout, and
// returns 1. The trace (one file) is written before the report, so a trace
// that cannot be written leaves no report (tests/cli/output_forms.sh); a
// report that fails after a written trace leaves that trace in place.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "reports/output.hpp"

namespace codesim::reports {

// What a command hands to emit_forms(). The strings are complete (json_text
// ends with a newline); csv_table is the one table --csv prints (often the
// report's first one).
struct Forms {
  const Report* report = nullptr;        // required for --report
  const ResultTable* csv_table = nullptr;
  std::string json_text;
  std::string human_text;
  std::string trace_path;                // "" = no trace
  std::string trace_text;                // its content (e.g. a Chrome trace-event JSON)
};

// A one-row table turned on its side for the page: one row per column
// (quantity = the column's label, key = its machine key, value formatted
// with its precision). Wide summaries read better this way.
ResultTable key_value_table(const ResultTable& t, size_t row = 0);

// The columns of `t` with these keys, in this order (unknown keys skipped):
// a narrower table for the page when the CSV has every column.
ResultTable select_columns(const ResultTable& t, const std::vector<std::string>& keys);

// Returns 0, or 1 after one error line on `err`. `opt.quiet` silences the
// "wrote ..." lines on `err`.
int emit_forms(const Forms& f, const OutputOptions& opt, std::ostream& out, std::ostream& err);

}  // namespace codesim::reports
