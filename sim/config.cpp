#include "sim/config.hpp"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

namespace codesim::config {

// ---------------------------------------------------------------------------
// Diagnostics

std::string Diagnostic::str() const {
  std::string s = mark.file.empty() ? "<input>" : mark.file;
  if (mark.line > 0) s += ":" + std::to_string(mark.line) + ":" + std::to_string(mark.column);
  s += ": ";
  if (!key.empty()) s += "key '" + key + "': ";
  s += message;
  return s;
}

void Diagnostics::add(Mark mark, std::string key, std::string message) {
  list_.push_back({std::move(mark), std::move(key), std::move(message)});
}

std::string Diagnostics::str() const {
  std::vector<const Diagnostic*> sorted;
  for (const auto& d : list_) sorted.push_back(&d);
  std::stable_sort(sorted.begin(), sorted.end(), [](const Diagnostic* a, const Diagnostic* b) {
    if (a->mark.file != b->mark.file) return false;  // keep file order as found
    return std::tie(a->mark.line, a->mark.column) < std::tie(b->mark.line, b->mark.column);
  });
  std::string s;
  for (const auto* d : sorted) s += d->str() + "\n";
  return s;
}

// ---------------------------------------------------------------------------
// Node

const Node* Node::find(std::string_view key) const {
  for (const auto& [k, v] : entries)
    if (k == key) return &v;
  return nullptr;
}
Node* Node::find(std::string_view key) {
  for (auto& [k, v] : entries)
    if (k == key) return &v;
  return nullptr;
}
Node& Node::set(std::string_view key, Node value, Mark key_mark) {
  kind = Kind::Map;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].first == key) {
      entries[i].second = std::move(value);
      return entries[i].second;
    }
  }
  entries.emplace_back(std::string(key), std::move(value));
  key_marks.push_back(std::move(key_mark));
  return entries.back().second;
}
bool Node::erase(std::string_view key) {
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].first == key) {
      entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(i));
      if (i < key_marks.size()) key_marks.erase(key_marks.begin() + static_cast<std::ptrdiff_t>(i));
      return true;
    }
  }
  return false;
}
Node Node::make_scalar(std::string value, Mark mark) {
  Node n;
  n.kind = Kind::Scalar;
  n.scalar = std::move(value);
  n.mark = std::move(mark);
  return n;
}
Node Node::make_map(Mark mark) {
  Node n;
  n.kind = Kind::Map;
  n.mark = std::move(mark);
  return n;
}
Node Node::make_seq(Mark mark) {
  Node n;
  n.kind = Kind::Sequence;
  n.mark = std::move(mark);
  return n;
}

// ---------------------------------------------------------------------------
// Parsing

namespace {

Mark mark_of(const YAML::Mark& m, std::string_view file) {
  return Mark{std::string(file), m.line + 1, m.column + 1};
}

void convert(const YAML::Node& y, std::string_view file, Node& out, Diagnostics& diags,
             const std::string& path) {
  out.mark = mark_of(y.Mark(), file);
  switch (y.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out.kind = Node::Kind::Null;
      break;
    case YAML::NodeType::Scalar:
      out.kind = Node::Kind::Scalar;
      out.scalar = y.Scalar();
      break;
    case YAML::NodeType::Sequence:
      out.kind = Node::Kind::Sequence;
      for (size_t i = 0; i < y.size(); ++i) {
        Node child;
        convert(y[i], file, child, diags, path + "[" + std::to_string(i) + "]");
        out.items.push_back(std::move(child));
      }
      break;
    case YAML::NodeType::Map: {
      out.kind = Node::Kind::Map;
      for (auto it = y.begin(); it != y.end(); ++it) {
        Mark km = mark_of(it->first.Mark(), file);
        if (!it->first.IsScalar()) {
          diags.add(km, path, "mapping keys must be plain names");
          continue;
        }
        std::string key = it->first.Scalar();
        std::string child_path = path.empty() ? key : path + "." + key;
        if (out.find(key)) {
          diags.add(km, child_path, "duplicate key (it is already set in this mapping)");
          continue;
        }
        Node child;
        convert(it->second, file, child, diags, child_path);
        out.entries.emplace_back(key, std::move(child));
        out.key_marks.push_back(km);
      }
      break;
    }
  }
}

bool read_whole_file(const std::string& path, std::string& text) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  text = ss.str();
  return true;
}

bool load_rec(const std::string& path, Node& out, Diagnostics& diags, std::vector<std::string>& stack,
              const Mark& from) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::string canon = fs::weakly_canonical(path, ec).string();
  if (std::find(stack.begin(), stack.end(), canon) != stack.end()) {
    diags.add(from, "include", "include cycle: '" + path + "' is already being loaded");
    return false;
  }
  std::string text;
  if (!read_whole_file(path, text)) {
    diags.add(from, stack.empty() ? "" : "include", "cannot read file '" + path + "'");
    return false;
  }
  if (!parse_string(text, path, out, diags)) return false;
  stack.push_back(canon);
  // Resolve includes depth-first in every mapping.
  bool ok = true;
  std::function<void(Node&)> resolve = [&](Node& n) {
    if (n.is_seq()) {
      for (auto& c : n.items) resolve(c);
      return;
    }
    if (!n.is_map()) return;
    for (auto& [k, v] : n.entries) resolve(v);
    const Node* inc = n.find("include");
    if (!inc) return;
    std::vector<const Node*> files;
    if (inc->is_scalar()) files.push_back(inc);
    else if (inc->is_seq())
      for (const auto& f : inc->items) files.push_back(&f);
    else {
      diags.add(inc->mark, "include", "expected a file name or a list of file names");
      ok = false;
      return;
    }
    Node base = Node::make_map(n.mark);
    for (const Node* f : files) {
      if (!f->is_scalar()) {
        diags.add(f->mark, "include", "expected a file name");
        ok = false;
        continue;
      }
      // FILE#a.b: the mapping at key path a.b of FILE instead of the whole
      // file (a '#' followed by a '/' belongs to the path).
      std::string file = f->scalar, section;
      if (const size_t hash = file.rfind('#');
          hash != std::string::npos && file.find('/', hash) == std::string::npos) {
        section = file.substr(hash + 1);
        file.resize(hash);
        if (section.empty()) {
          diags.add(f->mark, "include", "'" + f->scalar + "': expected a key path after '#' (FILE#key.path)");
          ok = false;
          continue;
        }
      }
      fs::path p = file;
      if (p.is_relative()) p = fs::path(path).parent_path() / p;
      Node included;
      if (!load_rec(p.string(), included, diags, stack, f->mark)) {
        ok = false;
        continue;
      }
      if (!section.empty()) {
        const Node* at = &included;
        for (size_t pos = 0; at && pos <= section.size();) {
          const size_t dot = std::min(section.find('.', pos), section.size());
          at = at->is_map() ? at->find(section.substr(pos, dot - pos)) : nullptr;
          pos = dot + 1;
        }
        if (!at) {
          diags.add(f->mark, "include", "included file '" + p.string() + "' has no key '" + section + "'");
          ok = false;
          continue;
        }
        Node sub = *at;
        included = std::move(sub);
      }
      if (!included.is_map()) {
        diags.add(f->mark, "include",
                  "included " + (section.empty() ? std::string("file '") + p.string() + "'"
                                                 : "'" + section + "' of '" + p.string() + "'") +
                      " is not a mapping");
        ok = false;
        continue;
      }
      merge(base, included);
    }
    Node own = n;
    own.erase("include");
    merge(base, own);
    base.mark = n.mark;
    n = std::move(base);
  };
  resolve(out);
  stack.pop_back();
  return ok;
}

}  // namespace

bool parse_string(std::string_view text, std::string_view name, Node& out, Diagnostics& diags) {
  size_t before = diags.size();
  try {
    YAML::Node y = YAML::Load(std::string(text));
    convert(y, name, out, diags, "");
  } catch (const YAML::Exception& e) {
    diags.add(mark_of(e.mark, name), "", "YAML syntax error: " + e.msg);
    return false;
  }
  return diags.size() == before;
}

bool load_file(const std::string& path, Node& out, Diagnostics& diags) {
  std::vector<std::string> stack;
  return load_rec(path, out, diags, stack, Mark{path, 0, 0});
}

void merge(Node& base, const Node& over) {
  if (base.is_map() && over.is_map()) {
    for (size_t i = 0; i < over.entries.size(); ++i) {
      const auto& [k, v] = over.entries[i];
      Node* existing = base.find(k);
      if (existing && existing->is_map() && v.is_map()) merge(*existing, v);
      else base.set(k, v, i < over.key_marks.size() ? over.key_marks[i] : Mark{});
    }
    return;
  }
  base = over;
}

bool apply_override(Node& root, std::string_view assignment, Diagnostics& diags) {
  const Mark flag{"--set " + std::string(assignment), 0, 0};
  size_t eq = assignment.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    diags.add(flag, "", "expected --set KEY.PATH=VALUE");
    return false;
  }
  std::string_view path = assignment.substr(0, eq);
  std::string_view value = assignment.substr(eq + 1);
  Node parsed;
  if (!parse_string(value, "--set " + std::string(assignment), parsed, diags)) return false;
  // Marks inside the value point at the flag, not at a line of a file.
  std::function<void(Node&)> remark = [&](Node& n) {
    n.mark = flag;
    for (auto& c : n.items) remark(c);
    for (auto& [k, c] : n.entries) remark(c);
    for (auto& m : n.key_marks) m = flag;
  };
  remark(parsed);
  if (!root.is_map()) root = Node::make_map(flag);
  Node* cur = &root;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string key(path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (key.empty()) {
      diags.add(flag, std::string(path), "empty key name in the path");
      return false;
    }
    if (dot == std::string_view::npos) {
      cur->set(key, std::move(parsed), flag);
      return true;
    }
    Node* next = cur->find(key);
    if (!next) next = &cur->set(key, Node::make_map(flag), flag);
    if (!next->is_map()) {
      diags.add(flag, std::string(path.substr(0, dot)),
                "cannot set a key below '" + key + "': it is not a mapping");
      return false;
    }
    cur = next;
    start = dot + 1;
  }
}

namespace {
void emit_rec(YAML::Emitter& e, const Node& n) {
  switch (n.kind) {
    case Node::Kind::Null:
      e << YAML::Null;
      break;
    case Node::Kind::Scalar:
      e << n.scalar;
      break;
    case Node::Kind::Sequence: {
      bool flat = std::all_of(n.items.begin(), n.items.end(), [](const Node& c) { return c.is_scalar(); });
      e << (flat ? YAML::Flow : YAML::Block) << YAML::BeginSeq;
      for (const auto& c : n.items) emit_rec(e, c);
      e << YAML::EndSeq;
      break;
    }
    case Node::Kind::Map:
      e << YAML::Block << YAML::BeginMap;
      for (const auto& [k, v] : n.entries) {
        e << YAML::Key << k << YAML::Value;
        emit_rec(e, v);
      }
      e << YAML::EndMap;
      break;
  }
}
}  // namespace

std::string emit(const Node& node) {
  YAML::Emitter e;
  emit_rec(e, node);
  return std::string(e.c_str()) + "\n";
}

// ---------------------------------------------------------------------------
// Reader

std::string suggest(std::string_view key, const std::vector<std::string_view>& valid) {
  auto dist = [](std::string_view a, std::string_view b) {
    std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      cur[0] = i;
      for (size_t j = 1; j <= b.size(); ++j)
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1] ? 1 : 0)});
      std::swap(prev, cur);
    }
    return prev[b.size()];
  };
  std::string best;
  size_t best_d = 3;
  for (auto v : valid) {
    size_t d = dist(key, v);
    if (d < best_d) {
      best_d = d;
      best = std::string(v);
    }
  }
  return best;
}

std::string Reader::describe(const Node& n) {
  switch (n.kind) {
    case Node::Kind::Null: return "nothing (null)";
    case Node::Kind::Scalar: return "'" + n.scalar + "'";
    case Node::Kind::Sequence: return "a list";
    case Node::Kind::Map: return "a mapping";
  }
  return "?";
}

void Reader::check(bool ok, std::string_view key, std::string message) {
  if (ok) return;
  const Node* child = lookup(key);
  diags_->add(child ? child->mark : node_->mark, join(key), std::move(message));
}

void Reader::missing(std::string_view key) {
  diags_->add(node_->mark, join(key), "missing required key");
}

void Reader::finish() {
  if (!node_->is_map()) return;
  for (size_t i = 0; i < node_->entries.size(); ++i) {
    const std::string& k = node_->entries[i].first;
    if (std::find(seen_.begin(), seen_.end(), k) != seen_.end()) continue;
    const Mark& m = i < node_->key_marks.size() ? node_->key_marks[i] : node_->entries[i].second.mark;
    std::string valid;
    for (auto s : seen_) valid += (valid.empty() ? "" : ", ") + std::string(s);
    std::string hint = suggest(k, seen_);
    diags_->add(m, join(k),
                "unknown key" + (hint.empty() ? std::string() : " (did you mean '" + hint + "'?)") +
                    "; valid keys here: " + valid);
  }
}

void Reader::type_error(const Node& n, const std::string& key, std::string_view expected) {
  diags_->add(n.mark, key, "expected " + std::string(expected) + ", got " + describe(n));
}

bool Reader::scalar_or_error(const Node& n, const std::string& key, std::string_view expected) {
  if (n.is_scalar()) return true;
  type_error(n, key, expected);
  return false;
}

void Reader::read_scalar(const Node& n, const std::string& key, bool& out) {
  if (!scalar_or_error(n, key, "true or false")) return;
  if (n.scalar == "true") out = true;
  else if (n.scalar == "false") out = false;
  else type_error(n, key, "true or false");
}

void Reader::read_scalar(const Node& n, const std::string& key, int64_t& out) {
  if (!scalar_or_error(n, key, "an integer")) return;
  const std::string& s = n.scalar;
  int64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) {
    type_error(n, key, "an integer");
    return;
  }
  out = v;
}

void Reader::read_scalar(const Node& n, const std::string& key, int& out) {
  int64_t v = out;
  size_t before = diags_->size();
  read_scalar(n, key, v);
  if (diags_->size() != before) return;
  if (v < INT32_MIN || v > INT32_MAX) {
    type_error(n, key, "an integer of at most 2^31");
    return;
  }
  out = static_cast<int>(v);
}

void Reader::read_scalar(const Node& n, const std::string& key, double& out) {
  if (!scalar_or_error(n, key, "a number")) return;
  const std::string& s = n.scalar;
  double v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) {
    type_error(n, key, "a number");
    return;
  }
  if (!std::isfinite(v)) {  // from_chars reads "nan" and "inf"; no setting means either
    type_error(n, key, "a finite number");
    return;
  }
  out = v;
}

void Reader::read_scalar(const Node& n, const std::string& key, std::string& out) {
  if (!scalar_or_error(n, key, "a string")) return;
  out = n.scalar;
}

#define CODESIM_UNIT_READER(Type, parse_fn, help_fn, what)                      \
  void Reader::read_scalar(const Node& n, const std::string& key, Type& out) {  \
    if (!scalar_or_error(n, key, std::string(what) + " with a unit")) return;   \
    std::string why;                                                            \
    if (!parse_fn(n.scalar, out, why)) diags_->add(n.mark, key, why);           \
  }
CODESIM_UNIT_READER(Duration, parse_duration, duration_units_help, "a duration")
CODESIM_UNIT_READER(Bytes, parse_bytes, bytes_units_help, "a byte size")
CODESIM_UNIT_READER(Bandwidth, parse_bandwidth, bandwidth_units_help, "a bandwidth")
CODESIM_UNIT_READER(Flops, parse_flops, flops_units_help, "a FLOP count")
CODESIM_UNIT_READER(FlopRate, parse_flop_rate, flop_rate_units_help, "a FLOP rate")
#undef CODESIM_UNIT_READER

std::string Writer::scalar_text(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.12g", v);
  return buf;
}

}  // namespace codesim::config
