// File: reports/output.hpp
//
// One way for every codesim command to produce its four output forms from
// the same data:
//
//   human table on stdout   to_text(table)        aligned, units in headers
//   --json                  to_json(table)        array of row objects
//   --csv                   to_csv(table)         RFC 4180, header = keys
//   --report DIR            write_report(report)  DIR/index.html (self-
//                                                 contained: CSS and SVG
//                                                 inline, no network, no JS),
//                                                 DIR/report.md (markdown
//                                                 source), DIR/<chart>.svg
//
// A command builds a ResultTable (or several, inside a Report) and hands it
// to emit(), which picks the form from OutputOptions:
//
//   reports::ResultTable t("Topology comparison");
//   t.add_column("fabric")                              // text
//    .add_column("switches", "", 0)                     // integer-valued
//    .add_column("cost_per_endpoint_kusd", "cost/endpoint (k$)", 2)
//    .add_column("bisection_tbps", "bisection (TB/s)", 1);
//   t.add_row({"FT2", int64_t{96}, 4.39, 51.2});
//   reports::Report r("codesim topology compare");
//   r.table(t).chart("cost-vs-bisection", svg::render(scatter), "Cost per endpoint ...");
//   return reports::emit(r, options, std::cout, std::cerr);   // exit code
//
// Column keys are the machine names used by JSON and CSV and carry their
// unit as a suffix (duration_us, bytes, cost_usd, bandwidth_gbps; STYLE.md
// habit 13); the optional label is the human header (defaults to the key).
//
// Every file is written atomically (a temporary file in the same folder,
// then rename), and every form is rendered to memory before the first file
// is touched, so a failure leaves either the old files or the new ones,
// never a half-written one.
#pragma once

#include <concepts>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace codesim::reports {

// A typed table cell: empty, text, integer, real number or boolean.
// Real numbers that are not finite print as "inf"/"nan" in text and CSV and
// as null in JSON (JSON has no infinity).
class Cell {
 public:
  Cell() = default;
  Cell(std::string s) : v_(std::move(s)) {}  // NOLINT: implicit on purpose, for add_row({...})
  Cell(const char* s) : v_(std::string(s)) {}
  Cell(std::string_view s) : v_(std::string(s)) {}
  template <std::integral I>
    requires(!std::same_as<I, bool>)
  Cell(I v) : v_(static_cast<int64_t>(v)) {}
  Cell(double v) : v_(v) {}
  Cell(bool v) : v_(v) {}

  bool empty() const { return std::holds_alternative<std::monostate>(v_); }
  bool is_text() const { return std::holds_alternative<std::string>(v_); }
  bool is_integer() const { return std::holds_alternative<int64_t>(v_); }
  bool is_number() const { return std::holds_alternative<double>(v_); }
  bool is_bool() const { return std::holds_alternative<bool>(v_); }
  bool is_numeric() const { return is_integer() || is_number(); }

  const std::string& text() const { return std::get<std::string>(v_); }
  int64_t integer() const { return std::get<int64_t>(v_); }
  double number() const { return std::get<double>(v_); }
  bool boolean() const { return std::get<bool>(v_); }
  // The value as a double (integers converted, others NaN).
  double as_double() const;

  // Text form: `precision` digits after the point for real numbers, or the
  // shortest round-trip-ish form (%.6g) when precision < 0.
  std::string format(int precision = -1) const;
  nlohmann::ordered_json to_json() const;

 private:
  std::variant<std::monostate, std::string, int64_t, double, bool> v_;
};

struct Column {
  std::string key;    // machine name with unit suffix: "step_time_ms"
  std::string label;  // human header, e.g. "step time (ms)"; empty: the key
  int precision = -1; // digits after the point for real numbers; -1: %.6g
  const std::string& header() const { return label.empty() ? key : label; }
};

class ResultTable {
 public:
  explicit ResultTable(std::string title = {}) : title_(std::move(title)) {}

  ResultTable& add_column(std::string key, std::string label = {}, int precision = -1);
  // Rows must have one cell per column (checked; a mismatch throws
  // std::invalid_argument, a programming error, not bad input).
  ResultTable& add_row(std::vector<Cell> cells);
  // A line printed under the human and markdown/HTML tables ("* relative to
  // the published value"); not part of JSON/CSV.
  ResultTable& add_note(std::string note);

  const std::string& title() const { return title_; }
  const std::vector<Column>& columns() const { return columns_; }
  const std::vector<std::vector<Cell>>& rows() const { return rows_; }
  const std::vector<std::string>& notes() const { return notes_; }
  // Index of the column with `key`, or -1.
  int column_index(std::string_view key) const;

 private:
  std::string title_;
  std::vector<Column> columns_;
  std::vector<std::vector<Cell>> rows_;
  std::vector<std::string> notes_;
};

// Human table: title line, header, a rule, rows; numbers right-aligned,
// text left-aligned, two spaces between columns, no trailing spaces.
std::string to_text(const ResultTable& t);
// [{"key": value, ...}, ...] in column order.
nlohmann::ordered_json to_json(const ResultTable& t);
// Header row of keys, then rows; fields with , " CR or LF are quoted and "
// doubled (RFC 4180); lines end in \n.
std::string to_csv(const ResultTable& t);
// GitHub-flavoured pipe table ('|' escaped), preceded by the title in bold.
std::string to_markdown(const ResultTable& t);
// <table> with <caption>; text escaped.
std::string to_html(const ResultTable& t);

// Escapes & < > " ' for HTML/XML text and attributes.
std::string xml_escape(std::string_view s);

// A page of results: a title, then blocks in order.
class Report {
 public:
  struct Heading { std::string text; };
  struct Paragraph { std::string text; };
  struct Preformatted { std::string text; };  // e.g. the resolved scenario YAML
  struct Table { ResultTable table; };
  struct Chart {
    std::string name;     // file stem: [a-z0-9-]+ (checked), unique in the report
    std::string svg;      // a complete <svg> element (reports/svg.hpp)
    std::string caption;
  };
  using Block = std::variant<Heading, Paragraph, Preformatted, Table, Chart>;

  explicit Report(std::string title) : title_(std::move(title)) {}
  Report& heading(std::string text);
  Report& paragraph(std::string text);
  Report& preformatted(std::string text);
  Report& table(ResultTable t);
  // Throws std::invalid_argument on a bad or duplicate name.
  Report& chart(std::string name, std::string svg, std::string caption = {});

  const std::string& title() const { return title_; }
  const std::vector<Block>& blocks() const { return blocks_; }
  std::vector<const ResultTable*> tables() const;

 private:
  std::string title_;
  std::vector<Block> blocks_;
};

std::string to_markdown(const Report& r);  // charts as ![caption](name.svg)
std::string to_html(const Report& r);      // self-contained page, charts inline

// Writes `content` to `path` atomically: a temporary file beside it, flushed
// and closed, then renamed over `path`. Returns false and sets `error`
// ("cannot write PATH: reason") on failure; the temporary file is removed.
bool write_file_atomic(const std::string& path, std::string_view content, std::string& error);

// Creates `dir` (and parents) if needed and writes index.html, report.md and
// one <name>.svg per chart, each atomically. All content is rendered first.
bool write_report(const Report& r, const std::string& dir, std::string& error);

// Which forms a command was asked for (cli/output_flags.hpp adds the flags).
struct OutputOptions {
  bool json = false;        // --json: JSON on stdout instead of the table
  bool csv = false;         // --csv: CSV on stdout instead of the table
  std::string report_dir;   // --report DIR: also write the HTML/markdown report
  bool quiet = false;       // no "wrote ..." line on stderr
};

// Prints `r` in the form `opt` asks for and writes the report directory when
// asked. stdout gets exactly one form: JSON (one table: its array; several:
// an object keyed by table title), CSV (tables separated by a blank line,
// each after a "# title" line when there are several), or the human tables.
// Returns 0, or 1 after printing one error line on `err`.
int emit(const Report& r, const OutputOptions& opt, std::ostream& out, std::ostream& err);

}  // namespace codesim::reports
