#include "reports/charts_forms.hpp"

#include <filesystem>
#include <ostream>

namespace codesim::reports {

ResultTable key_value_table(const ResultTable& t, size_t row) {
  ResultTable out(t.title());
  out.add_column("quantity").add_column("key").add_column("value");
  if (row >= t.rows().size()) return out;
  for (size_t c = 0; c < t.columns().size(); ++c) {
    const Column& col = t.columns()[c];
    out.add_row({col.header(), col.key, t.rows()[row][c].format(col.precision)});
  }
  for (const auto& n : t.notes()) out.add_note(n);
  return out;
}

ResultTable select_columns(const ResultTable& t, const std::vector<std::string>& keys) {
  ResultTable out(t.title());
  std::vector<int> idx;
  for (const auto& k : keys) {
    const int i = t.column_index(k);
    if (i < 0) continue;
    idx.push_back(i);
    const Column& c = t.columns()[static_cast<size_t>(i)];
    out.add_column(c.key, c.label, c.precision);
  }
  for (const auto& row : t.rows()) {
    std::vector<Cell> cells;
    for (int i : idx) cells.push_back(row[static_cast<size_t>(i)]);
    out.add_row(std::move(cells));
  }
  for (const auto& n : t.notes()) out.add_note(n);
  return out;
}

int emit_forms(const Forms& f, const OutputOptions& opt, std::ostream& out, std::ostream& err) {
  std::string text;
  if (opt.json) text = f.json_text;
  else if (opt.csv) text = f.csv_table ? to_csv(*f.csv_table) : std::string();
  else text = f.human_text;

  if (!f.trace_path.empty()) {
    std::string error;
    if (!write_file_atomic(f.trace_path, f.trace_text, error)) {
      err << "codesim: " << error << "\n";
      return 1;
    }
  }
  if (!opt.report_dir.empty()) {
    std::string error;
    if (!f.report) {
      err << "codesim: no report to write to " << opt.report_dir << "\n";
      return 1;
    }
    if (!write_report(*f.report, opt.report_dir, error)) {
      err << "codesim: " << error << "\n";
      return 1;
    }
  }
  out << text;
  out.flush();
  if (!opt.quiet) {
    if (!f.trace_path.empty()) err << "wrote " << f.trace_path << "\n";
    if (!opt.report_dir.empty())
      err << "wrote " << (std::filesystem::path(opt.report_dir) / "index.html").string() << "\n";
  }
  return 0;
}

}  // namespace codesim::reports
