// reports/output.hpp: the four output forms of a ResultTable / Report and
// atomic writes.
#include "reports/output.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace codesim::reports {
namespace {

namespace fs = std::filesystem;

ResultTable sample() {
  ResultTable t("Fabrics");
  t.add_column("fabric").add_column("switches").add_column("cost_per_endpoint_kusd", "cost/endpoint (k$)", 2);
  t.add_row({"FT2", 96, 4.3912});
  t.add_row({"Dragonfly", int64_t{16352}, 5.8});
  return t;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/codesim-reports-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

// Numbers right-aligned, text left-aligned, two spaces apart, header from
// the label, a rule as wide as each column, no trailing blanks.
TEST(TextTable, AlignsColumns) {
  EXPECT_EQ(to_text(sample()),
            "Fabrics\n"
            "fabric     switches  cost/endpoint (k$)\n"
            "---------  --------  ------------------\n"
            "FT2              96                4.39\n"
            "Dragonfly     16352                5.80\n");
}

TEST(TextTable, CountsUtf8AsOneColumn) {
  ResultTable t;
  t.add_column("tolerance").add_column("x");
  t.add_row({"±2%", 1});
  t.add_row({"exact", 22});
  EXPECT_EQ(to_text(t),
            "tolerance   x\n"
            "---------  --\n"
            "±2%         1\n"
            "exact      22\n");
}

TEST(TextTable, RowWidthMismatchThrows) {
  ResultTable t;
  t.add_column("a");
  EXPECT_THROW(t.add_row({1, 2}), std::invalid_argument);
}

TEST(Cell, Formats) {
  EXPECT_EQ(Cell(1.5).format(2), "1.50");
  EXPECT_EQ(Cell(-0.001).format(2), "0.00");  // no "-0.00"
  EXPECT_EQ(Cell(123456789.0).format(), "1.23457e+08");
  EXPECT_EQ(Cell(std::numeric_limits<double>::infinity()).format(), "inf");
  EXPECT_EQ(Cell(true).format(), "true");
  EXPECT_EQ(Cell(size_t{7}).format(), "7");
  EXPECT_EQ(Cell().format(), "");
}

// JSON keeps column order, full precision, and maps non-finite to null.
TEST(Json, RowsAsObjectsInColumnOrder) {
  ResultTable t = sample();
  t.add_row({"bad \"name\"\n", Cell(), std::numeric_limits<double>::quiet_NaN()});
  EXPECT_EQ(to_json(t).dump(),
            R"([{"fabric":"FT2","switches":96,"cost_per_endpoint_kusd":4.3912},)"
            R"({"fabric":"Dragonfly","switches":16352,"cost_per_endpoint_kusd":5.8},)"
            R"({"fabric":"bad \"name\"\n","switches":null,"cost_per_endpoint_kusd":null}])");
}

// RFC 4180: quote fields with , " CR LF; double the quotes; full precision.
TEST(Csv, EscapesAndKeepsPrecision) {
  ResultTable t;
  t.add_column("name").add_column("value_us", "value (us)", 1);
  t.add_row({"plain", 0.1 + 0.2});
  t.add_row({"a,b", 1});
  t.add_row({"say \"hi\"", 2});
  t.add_row({"two\nlines", 3});
  EXPECT_EQ(to_csv(t),
            "name,value_us\n"
            "plain,0.30000000000000004\n"
            "\"a,b\",1\n"
            "\"say \"\"hi\"\"\",2\n"
            "\"two\nlines\",3\n");
}

TEST(Markdown, PipeTableEscapesBars) {
  ResultTable t("T");
  t.add_column("a").add_column("n");
  t.add_row({"x|y", 1});
  EXPECT_EQ(to_markdown(t), "**T**\n\n| a | n |\n| --- | ---: |\n| x\\|y | 1 |\n");
}

TEST(Html, EscapesText) {
  ResultTable t("<b>&</b>");
  t.add_column("a");
  t.add_row({"<script>"});
  const std::string h = to_html(t);
  EXPECT_NE(h.find("<caption>&lt;b&gt;&amp;&lt;/b&gt;</caption>"), std::string::npos);
  EXPECT_NE(h.find("<td>&lt;script&gt;</td>"), std::string::npos);
  EXPECT_EQ(h.find("<script>"), std::string::npos);
}

TEST(Report, ChartNamesAreChecked) {
  Report r("x");
  r.chart("ok-1", "<svg/>");
  EXPECT_THROW(r.chart("ok-1", "<svg/>"), std::invalid_argument);
  EXPECT_THROW(r.chart("Bad Name", "<svg/>"), std::invalid_argument);
}

// The page is self-contained: no external resources, no script.
TEST(Report, HtmlIsSelfContained) {
  Report r("Topology comparison");
  r.paragraph("Costs & sizes").table(sample()).chart("c", "<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>", "cap");
  const std::string h = to_html(r);
  EXPECT_TRUE(h.starts_with("<!DOCTYPE html>"));
  EXPECT_NE(h.find("<p>Costs &amp; sizes</p>"), std::string::npos);
  EXPECT_NE(h.find("<figure id=\"c\">\n<svg"), std::string::npos);
  EXPECT_NE(h.find("<figcaption>cap</figcaption>"), std::string::npos);
  EXPECT_EQ(h.find("<script"), std::string::npos);
  EXPECT_EQ(h.find("src="), std::string::npos);
  EXPECT_EQ(h.find("<link"), std::string::npos);
  EXPECT_TRUE(h.ends_with("</html>\n"));
  const std::string md = to_markdown(r);
  EXPECT_NE(md.find("![cap](c.svg)"), std::string::npos);
}

TEST(AtomicWrite, WritesAndReplaces) {
  TempDir d;
  const fs::path p = d.path / "out.txt";
  std::string err;
  ASSERT_TRUE(write_file_atomic(p.string(), "one", err)) << err;
  ASSERT_TRUE(write_file_atomic(p.string(), "two", err)) << err;
  EXPECT_EQ(slurp(p), "two");
  // Nothing but the file itself is left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(d.path), fs::directory_iterator()), 1);
}

// A failed write names the file and leaves the old content (no partial file).
TEST(AtomicWrite, FailureLeavesOldFile) {
  TempDir d;
  std::string err;
  EXPECT_FALSE(write_file_atomic((d.path / "missing-dir" / "x.txt").string(), "x", err));
  EXPECT_NE(err.find("missing-dir/x.txt"), std::string::npos) << err;
  // A rename onto a directory fails after the temp file was written: the
  // temp file must be gone and the directory untouched.
  fs::create_directory(d.path / "target");
  EXPECT_FALSE(write_file_atomic((d.path / "target").string(), "x", err));
  EXPECT_EQ(std::distance(fs::directory_iterator(d.path), fs::directory_iterator()), 1);
}

TEST(WriteReport, WritesHtmlMarkdownAndSvgs) {
  TempDir d;
  Report r("R");
  r.table(sample()).chart("cost", "<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>\n");
  std::string err;
  const fs::path dir = d.path / "nested" / "report";
  ASSERT_TRUE(write_report(r, dir.string(), err)) << err;
  EXPECT_TRUE(fs::exists(dir / "index.html"));
  EXPECT_TRUE(fs::exists(dir / "report.md"));
  EXPECT_EQ(slurp(dir / "cost.svg"), "<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>\n");
}

TEST(Emit, PicksOneFormForStdout) {
  Report r("R");
  r.table(sample());
  std::ostringstream out, err;
  OutputOptions o;
  EXPECT_EQ(emit(r, o, out, err), 0);
  EXPECT_EQ(out.str(), to_text(sample()));
  out.str("");
  o.json = true;
  EXPECT_EQ(emit(r, o, out, err), 0);
  EXPECT_EQ(out.str(), to_json(sample()).dump(2) + "\n");
  out.str("");
  o.json = false;
  o.csv = true;
  r.table(sample());  // two tables: each under a "# title" line
  EXPECT_EQ(emit(r, o, out, err), 0);
  EXPECT_EQ(out.str(), "# Fabrics\n" + to_csv(sample()) + "\n# Fabrics\n" + to_csv(sample()));
}

// A report that cannot be written prints one error line and nothing on stdout.
TEST(Emit, ReportFailureIsOneLineAndNoStdout) {
  TempDir d;
  std::ofstream(d.path / "file") << "x";
  Report r("R");
  r.table(sample());
  OutputOptions o;
  o.report_dir = (d.path / "file" / "sub").string();
  std::ostringstream out, err;
  EXPECT_EQ(emit(r, o, out, err), 1);
  EXPECT_EQ(out.str(), "");
  const std::string e = err.str();
  EXPECT_EQ(std::count(e.begin(), e.end(), '\n'), 1) << e;
}

}  // namespace
}  // namespace codesim::reports
