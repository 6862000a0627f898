#include "reports/output.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <ostream>
#include <set>
#include <stdexcept>

namespace codesim::reports {

namespace {

std::string nonfinite(double v) {
  if (std::isnan(v)) return "nan";
  return v > 0 ? "inf" : "-inf";
}

// Shortest text that reads back to the same double (machine forms).
std::string shortest(double v) {
  if (!std::isfinite(v)) return nonfinite(v);
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

// Display width of UTF-8 text: code points, not bytes.
size_t display_width(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

// A column is right-aligned when every non-empty cell is a number.
std::vector<bool> numeric_columns(const ResultTable& t) {
  std::vector<bool> num(t.columns().size(), true);
  std::vector<bool> any(t.columns().size(), false);
  for (const auto& row : t.rows())
    for (size_t c = 0; c < row.size(); ++c) {
      if (row[c].empty()) continue;
      any[c] = true;
      if (!row[c].is_numeric()) num[c] = false;
    }
  for (size_t c = 0; c < num.size(); ++c) num[c] = num[c] && any[c];
  return num;
}

std::string one_line(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  return out;
}

std::string md_escape(std::string_view s) {
  std::string out;
  for (char c : one_line(s)) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// Cell text for the machine forms: full precision.
std::string machine_text(const Cell& c) {
  if (c.is_number()) return shortest(c.number());
  return c.format();
}

bool valid_chart_name(const std::string& n) {
  if (n.empty()) return false;
  for (char c : n)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

constexpr std::string_view kCss = R"(body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;border-bottom:1px solid #ccc;padding-bottom:.2em}
h2{font-size:1.25em;margin-top:1.6em}
table{border-collapse:collapse;margin:1em 0;font-size:.92em}
caption{text-align:left;font-weight:600;padding-bottom:.3em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}
td.num{text-align:right;font-variant-numeric:tabular-nums}
p.note{font-size:.85em;color:#555;margin:.2em 0}
pre{background:#f6f6f6;padding:.8em;overflow-x:auto;font-size:.85em}
figure{margin:1.2em 0}
figcaption{font-size:.9em;color:#444;margin-top:.3em}
svg{max-width:100%;height:auto}
)";

}  // namespace

// ---------------------------------------------------------------------------
// Cell

double Cell::as_double() const {
  if (is_integer()) return static_cast<double>(integer());
  if (is_number()) return number();
  return std::numeric_limits<double>::quiet_NaN();
}

std::string Cell::format(int precision) const {
  if (empty()) return {};
  if (is_text()) return text();
  if (is_integer()) return std::to_string(integer());
  if (is_bool()) return boolean() ? "true" : "false";
  double v = number();
  if (!std::isfinite(v)) return nonfinite(v);
  char buf[64];
  if (precision >= 0)
    std::snprintf(buf, sizeof buf, "%.*f", precision, v);
  else
    std::snprintf(buf, sizeof buf, "%.6g", v);
  std::string s(buf);
  if (s == "-0" || s.find_first_not_of("-0.") == std::string::npos) {
    if (!s.empty() && s[0] == '-') s.erase(0, 1);  // no "-0.00"
  }
  return s;
}

nlohmann::ordered_json Cell::to_json() const {
  if (empty()) return nullptr;
  if (is_text()) return text();
  if (is_integer()) return integer();
  if (is_bool()) return boolean();
  if (!std::isfinite(number())) return nullptr;
  return number();
}

// ---------------------------------------------------------------------------
// ResultTable

ResultTable& ResultTable::add_column(std::string key, std::string label, int precision) {
  columns_.push_back(Column{std::move(key), std::move(label), precision});
  return *this;
}

ResultTable& ResultTable::add_row(std::vector<Cell> cells) {
  if (cells.size() != columns_.size())
    throw std::invalid_argument("ResultTable '" + title_ + "': row has " +
                                std::to_string(cells.size()) + " cells, table has " +
                                std::to_string(columns_.size()) + " columns");
  rows_.push_back(std::move(cells));
  return *this;
}

ResultTable& ResultTable::add_note(std::string note) {
  notes_.push_back(std::move(note));
  return *this;
}

int ResultTable::column_index(std::string_view key) const {
  for (size_t i = 0; i < columns_.size(); ++i)
    if (columns_[i].key == key) return static_cast<int>(i);
  return -1;
}

std::string to_text(const ResultTable& t) {
  const auto& cols = t.columns();
  const auto num = numeric_columns(t);
  std::vector<std::vector<std::string>> cells;
  std::vector<size_t> width(cols.size(), 0);
  for (size_t c = 0; c < cols.size(); ++c) width[c] = display_width(cols[c].header());
  for (const auto& row : t.rows()) {
    std::vector<std::string> line;
    for (size_t c = 0; c < cols.size(); ++c) {
      line.push_back(one_line(row[c].format(cols[c].precision)));
      width[c] = std::max(width[c], display_width(line.back()));
    }
    cells.push_back(std::move(line));
  }
  auto render = [&](const std::vector<std::string>& line) {
    std::string out;
    for (size_t c = 0; c < line.size(); ++c) {
      size_t pad = width[c] - display_width(line[c]);
      bool last = c + 1 == line.size();
      if (c) out += "  ";
      if (num[c]) out += std::string(pad, ' ') + line[c];
      else out += line[c] + (last ? "" : std::string(pad, ' '));
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out;
  if (!t.title().empty()) out += t.title() + "\n";
  std::vector<std::string> header;
  std::vector<std::string> rule;
  for (size_t c = 0; c < cols.size(); ++c) {
    header.push_back(cols[c].header());
    rule.push_back(std::string(width[c], '-'));
  }
  out += render(header);
  out += render(rule);
  for (const auto& line : cells) out += render(line);
  for (const auto& n : t.notes()) out += n + "\n";
  return out;
}

nlohmann::ordered_json to_json(const ResultTable& t) {
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const auto& row : t.rows()) {
    nlohmann::ordered_json obj = nlohmann::ordered_json::object();
    for (size_t c = 0; c < row.size(); ++c) obj[t.columns()[c].key] = row[c].to_json();
    rows.push_back(std::move(obj));
  }
  return rows;
}

std::string to_csv(const ResultTable& t) {
  std::string out;
  for (size_t c = 0; c < t.columns().size(); ++c) {
    if (c) out += ',';
    out += csv_field(t.columns()[c].key);
  }
  out += '\n';
  for (const auto& row : t.rows()) {
    for (size_t c = 0; c < row.size(); ++c) {
      if (c) out += ',';
      out += csv_field(machine_text(row[c]));
    }
    out += '\n';
  }
  return out;
}

std::string to_markdown(const ResultTable& t) {
  const auto& cols = t.columns();
  const auto num = numeric_columns(t);
  std::string out;
  if (!t.title().empty()) out += "**" + md_escape(t.title()) + "**\n\n";
  out += "|";
  for (const auto& c : cols) out += " " + md_escape(c.header()) + " |";
  out += "\n|";
  for (size_t c = 0; c < cols.size(); ++c) out += num[c] ? " ---: |" : " --- |";
  out += "\n";
  for (const auto& row : t.rows()) {
    out += "|";
    for (size_t c = 0; c < row.size(); ++c) out += " " + md_escape(row[c].format(cols[c].precision)) + " |";
    out += "\n";
  }
  for (const auto& n : t.notes()) out += "\n" + n + "\n";
  return out;
}

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string to_html(const ResultTable& t) {
  const auto& cols = t.columns();
  const auto num = numeric_columns(t);
  std::string out = "<table>\n";
  if (!t.title().empty()) out += "<caption>" + xml_escape(t.title()) + "</caption>\n";
  out += "<thead><tr>";
  for (const auto& c : cols) out += "<th>" + xml_escape(c.header()) + "</th>";
  out += "</tr></thead>\n<tbody>\n";
  for (const auto& row : t.rows()) {
    out += "<tr>";
    for (size_t c = 0; c < row.size(); ++c)
      out += std::string(num[c] ? "<td class=\"num\">" : "<td>") +
             xml_escape(row[c].format(cols[c].precision)) + "</td>";
    out += "</tr>\n";
  }
  out += "</tbody>\n</table>\n";
  for (const auto& n : t.notes()) out += "<p class=\"note\">" + xml_escape(n) + "</p>\n";
  return out;
}

// ---------------------------------------------------------------------------
// Report

Report& Report::heading(std::string text) {
  blocks_.emplace_back(Heading{std::move(text)});
  return *this;
}
Report& Report::paragraph(std::string text) {
  blocks_.emplace_back(Paragraph{std::move(text)});
  return *this;
}
Report& Report::preformatted(std::string text) {
  blocks_.emplace_back(Preformatted{std::move(text)});
  return *this;
}
Report& Report::table(ResultTable t) {
  blocks_.emplace_back(Table{std::move(t)});
  return *this;
}
Report& Report::chart(std::string name, std::string svg, std::string caption) {
  if (!valid_chart_name(name))
    throw std::invalid_argument("chart name '" + name + "' must match [a-z0-9-]+");
  for (const auto& b : blocks_)
    if (const auto* c = std::get_if<Chart>(&b); c && c->name == name)
      throw std::invalid_argument("duplicate chart name '" + name + "'");
  blocks_.emplace_back(Chart{std::move(name), std::move(svg), std::move(caption)});
  return *this;
}

std::vector<const ResultTable*> Report::tables() const {
  std::vector<const ResultTable*> out;
  for (const auto& b : blocks_)
    if (const auto* t = std::get_if<Table>(&b)) out.push_back(&t->table);
  return out;
}

std::string to_markdown(const Report& r) {
  std::string out = "# " + one_line(r.title()) + "\n";
  for (const auto& b : r.blocks()) {
    out += "\n";
    if (const auto* h = std::get_if<Report::Heading>(&b)) {
      out += "## " + one_line(h->text) + "\n";
    } else if (const auto* p = std::get_if<Report::Paragraph>(&b)) {
      out += p->text + "\n";
    } else if (const auto* pre = std::get_if<Report::Preformatted>(&b)) {
      out += "```\n" + pre->text + (pre->text.ends_with('\n') ? "" : "\n") + "```\n";
    } else if (const auto* t = std::get_if<Report::Table>(&b)) {
      out += to_markdown(t->table);
    } else if (const auto* c = std::get_if<Report::Chart>(&b)) {
      out += "![" + md_escape(c->caption.empty() ? c->name : c->caption) + "](" + c->name + ".svg)\n";
      if (!c->caption.empty()) out += "\n*" + one_line(c->caption) + "*\n";
    }
  }
  return out;
}

std::string to_html(const Report& r) {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>" +
      xml_escape(r.title()) + "</title>\n<style>\n" + std::string(kCss) + "</style>\n</head>\n<body>\n<h1>" +
      xml_escape(r.title()) + "</h1>\n";
  for (const auto& b : r.blocks()) {
    if (const auto* h = std::get_if<Report::Heading>(&b)) {
      out += "<h2>" + xml_escape(h->text) + "</h2>\n";
    } else if (const auto* p = std::get_if<Report::Paragraph>(&b)) {
      out += "<p>" + xml_escape(p->text) + "</p>\n";
    } else if (const auto* pre = std::get_if<Report::Preformatted>(&b)) {
      out += "<pre>" + xml_escape(pre->text) + "</pre>\n";
    } else if (const auto* t = std::get_if<Report::Table>(&b)) {
      out += to_html(t->table);
    } else if (const auto* c = std::get_if<Report::Chart>(&b)) {
      out += "<figure id=\"" + c->name + "\">\n" + c->svg + (c->svg.ends_with('\n') ? "" : "\n");
      if (!c->caption.empty()) out += "<figcaption>" + xml_escape(c->caption) + "</figcaption>\n";
      out += "</figure>\n";
    }
  }
  out += "</body>\n</html>\n";
  return out;
}

// ---------------------------------------------------------------------------
// Files

bool write_file_atomic(const std::string& path, std::string_view content, std::string& error) {
  static std::atomic<unsigned> counter{0};
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  auto fail = [&](const std::string& what, int err) {
    error = "cannot write " + path + ": " + what + ": " + std::strerror(err);
    ::unlink(tmp.c_str());
    return false;
  };
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = "cannot write " + path + ": " + std::strerror(errno);
    return false;
  }
  const char* p = content.data();
  size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return fail("write", e);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    return fail("fsync", e);
  }
  if (::close(fd) != 0) return fail("close", errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("rename", errno);
  return true;
}

bool write_report(const Report& r, const std::string& dir, std::string& error) {
  // Render everything first: nothing below can fail but the file system.
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& b : r.blocks())
    if (const auto* c = std::get_if<Report::Chart>(&b)) files.emplace_back(c->name + ".svg", c->svg);
  files.emplace_back("report.md", to_markdown(r));
  files.emplace_back("index.html", to_html(r));  // last: its presence means the rest is there

  std::error_code ec;
  const bool existed = std::filesystem::exists(dir, ec);
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    error = "cannot create report directory " + dir + ": " + ec.message();
    return false;
  }
  // A failed write takes back what this call wrote (and the folder, if it
  // made it): no half-written report.
  std::vector<std::filesystem::path> written;
  for (const auto& [name, content] : files) {
    const std::filesystem::path path = std::filesystem::path(dir) / name;
    if (!write_file_atomic(path.string(), content, error)) {
      for (const auto& w : written) std::filesystem::remove(w, ec);
      // An earlier report's index.html would point at files just replaced.
      std::filesystem::remove(std::filesystem::path(dir) / "index.html", ec);
      if (!existed) std::filesystem::remove_all(dir, ec);
      return false;
    }
    written.push_back(path);
  }
  return true;
}

int emit(const Report& r, const OutputOptions& opt, std::ostream& out, std::ostream& err) {
  const auto tables = r.tables();
  // Render stdout's form first, then write the report, then print: a failed
  // report write leaves stdout empty (nothing half-done).
  std::string text;
  if (opt.json) {
    if (tables.size() == 1) {
      text = to_json(*tables[0]).dump(2);
    } else {
      nlohmann::ordered_json obj = nlohmann::ordered_json::object();
      for (size_t i = 0; i < tables.size(); ++i) {
        std::string key = tables[i]->title().empty() ? "table" + std::to_string(i + 1) : tables[i]->title();
        if (obj.contains(key)) key += " (" + std::to_string(i + 1) + ")";
        obj[key] = to_json(*tables[i]);
      }
      text = obj.dump(2);
    }
    text += "\n";
  } else if (opt.csv) {
    for (size_t i = 0; i < tables.size(); ++i) {
      if (i) text += "\n";
      if (tables.size() > 1) text += "# " + one_line(tables[i]->title()) + "\n";
      text += to_csv(*tables[i]);
    }
  } else {
    for (size_t i = 0; i < tables.size(); ++i) {
      if (i) text += "\n";
      text += to_text(*tables[i]);
    }
  }
  if (!opt.report_dir.empty()) {
    std::string error;
    if (!write_report(r, opt.report_dir, error)) {
      err << "codesim: " << error << "\n";
      return 1;
    }
  }
  out << text;
  out.flush();
  if (!opt.report_dir.empty() && !opt.quiet)
    err << "wrote " << (std::filesystem::path(opt.report_dir) / "index.html").string() << "\n";
  return 0;
}

}  // namespace codesim::reports
