// File: sim/config.hpp
//
// Strict configuration files. Every scenario, model spec, price list and
// sweep in codesim is YAML read through this one layer, which guarantees:
//
//  * every value remembers where it came from (file, line, column), also
//    after `include:` and `--set key=value` overrides have been merged;
//  * unknown keys, missing keys, wrong types and dimensioned values without
//    units are errors that name the file, line, column and key, and say what
//    was expected; all errors of a file are collected, never just the first;
//  * the typed parameter structs are the single source of truth: a struct
//    lists its fields once, with help text, in
//
//        template <class V> void fields(V& v) {
//          v.req("bandwidth", bandwidth, "per-direction link rate");
//          v.opt("latency", latency, "per-hop latency");   // default = initializer
//        }
//
//    and the same list drives reading (Reader), printing the resolved file
//    (Writer, for `codesim show`) and documentation (Documenter).
//
// Loaders return false and fill Diagnostics; nothing here exits or throws
// across the API.
//
// Includes: a mapping may carry `include: FILE` or `include: [FILE, ...]`;
// `FILE#a.b` includes the mapping at key path a.b of FILE instead of the
// whole file. Paths are relative to the including file. The included mappings are merged
// first (in order), then the including mapping's own keys on top, deeply:
// maps merge key by key, anything else replaces.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "sim/units.hpp"

namespace codesim::config {

// Where a value came from. Lines and columns are 1-based; a value set on the
// command line has file "--set" and line 0.
struct Mark {
  std::string file;
  int line = 0;
  int column = 0;
};

struct Diagnostic {
  Mark mark;
  std::string key;      // dotted path, e.g. "cluster.fabric.planes"
  std::string message;  // what is wrong and what was expected
  // "file:line:col: key 'a.b': message" (one line).
  std::string str() const;
};

class Diagnostics {
 public:
  void add(Mark mark, std::string key, std::string message);
  bool empty() const { return list_.empty(); }
  size_t size() const { return list_.size(); }
  const std::vector<Diagnostic>& list() const { return list_; }
  // All diagnostics, one per line, in file order.
  std::string str() const;

 private:
  std::vector<Diagnostic> list_;
};

// A YAML value with its origin. Sequences keep order; mappings keep the
// order of their keys as written.
class Node {
 public:
  enum class Kind { Null, Scalar, Sequence, Map };

  Kind kind = Kind::Null;
  std::string scalar;                               // for Scalar
  std::vector<Node> items;                          // for Sequence
  std::vector<std::pair<std::string, Node>> entries;  // for Map
  Mark mark;
  std::vector<Mark> key_marks;  // for Map: where each key was written

  bool is_map() const { return kind == Kind::Map; }
  bool is_seq() const { return kind == Kind::Sequence; }
  bool is_scalar() const { return kind == Kind::Scalar; }
  bool is_null() const { return kind == Kind::Null; }

  const Node* find(std::string_view key) const;
  Node* find(std::string_view key);
  // Inserts or replaces `key` (keeps its position when it exists).
  Node& set(std::string_view key, Node value, Mark key_mark = {});
  bool erase(std::string_view key);

  static Node make_scalar(std::string value, Mark mark = {});
  static Node make_map(Mark mark = {});
  static Node make_seq(Mark mark = {});
};

// Parses YAML text (no includes). `name` is used as the file in marks.
bool parse_string(std::string_view text, std::string_view name, Node& out, Diagnostics& diags);
// Reads a file and resolves `include:` recursively. Include cycles and
// missing files are errors at the including line.
bool load_file(const std::string& path, Node& out, Diagnostics& diags);
// Deep merge: maps merge key by key; any other value in `over` replaces.
void merge(Node& base, const Node& over);
// Applies "a.b.c=value" (value parsed as YAML) to `root`, creating maps on
// the way. Errors name the flag.
bool apply_override(Node& root, std::string_view assignment, Diagnostics& diags);
// YAML text of a node tree (block style, keys in stored order).
std::string emit(const Node& node);

// ---------------------------------------------------------------------------
// Enumerations in config files: declare, next to the enum,
//   constexpr auto enum_names(Color) { return std::array{std::pair{Color::kRed, "red"}, ...}; }
// and Reader/Writer find it by argument-dependent lookup.
template <class E>
concept ConfigEnum = std::is_enum_v<E> && requires(E e) { enum_names(e); };

template <ConfigEnum E>
std::string_view enum_to_string(E value) {
  for (const auto& [v, name] : enum_names(E{}))
    if (v == value) return name;
  return "?";
}
template <ConfigEnum E>
bool enum_from_string(std::string_view text, E& out) {
  for (const auto& [v, name] : enum_names(E{}))
    if (name == text) {
      out = v;
      return true;
    }
  return false;
}
template <ConfigEnum E>
std::string enum_choices() {
  std::string s;
  for (const auto& [v, name] : enum_names(E{})) {
    if (!s.empty()) s += ", ";
    s += name;
  }
  return s;
}

// Closest valid key for a misspelt one (edit distance <= 2), or "".
std::string suggest(std::string_view key, const std::vector<std::string_view>& valid);

// ---------------------------------------------------------------------------
// Reader: fills a typed struct from a Node, collecting every error.
class Reader {
 public:
  Reader(const Node& node, std::string path, Diagnostics& diags)
      : node_(&node), path_(std::move(path)), diags_(&diags) {}

  // A required key: missing is an error.
  template <class T>
  void req(std::string_view key, T& field, std::string_view help = {}) {
    (void)help;
    seen_.push_back(key);
    const Node* child = lookup(key);
    if (!child) {
      missing(key);
      return;
    }
    read_value(*child, join(key), field);
  }
  // An optional key: when absent the field keeps its initial value.
  template <class T>
  void opt(std::string_view key, T& field, std::string_view help = {}) {
    (void)help;
    seen_.push_back(key);
    const Node* child = lookup(key);
    if (child && !child->is_null()) read_value(*child, join(key), field);
  }
  // A semantic check on values already read; `key` names the offending key.
  void check(bool ok, std::string_view key, std::string message);
  // True when the key is written in this mapping.
  bool has(std::string_view key) const { return node_->is_map() && node_->find(key); }
  const Node& node() const { return *node_; }
  const std::string& path() const { return path_; }
  Diagnostics& diags() { return *diags_; }

  // After all req/opt calls: every key of the mapping not asked for is an
  // unknown-key error with the list of valid keys.
  void finish();

  // Reads a whole struct (a top-level document or a nested mapping).
  template <class T>
  static void read_struct(const Node& node, const std::string& path, T& out, Diagnostics& diags) {
    if (!node.is_map()) {
      diags.add(node.mark, path.empty() ? "(document)" : path,
                "expected a mapping of keys, got " + describe(node));
      return;
    }
    Reader r(node, path, diags);
    out.fields(r);
    r.finish();
    if constexpr (requires(T& t, Reader& rr) { t.validate(rr); }) {
      if (r.local_errors() == 0) out.validate(r);
    }
  }

  static std::string describe(const Node& n);

  template <class T>
  void read_value(const Node& n, const std::string& key, T& field);

 private:
  // The child `key`; a key with dots that is not itself a child ("a.b")
  // walks down the maps, so cross-field checks point at the nested key.
  const Node* lookup(std::string_view key) const {
    if (!node_->is_map()) return nullptr;
    if (const Node* n = node_->find(key)) return n;
    const Node* n = node_;
    for (;;) {
      const auto dot = key.find('.');
      const Node* c = n->is_map() ? n->find(key.substr(0, dot)) : nullptr;
      if (!c || dot == std::string_view::npos) return dot == std::string_view::npos ? c : nullptr;
      n = c;
      key.remove_prefix(dot + 1);
    }
  }
  std::string join(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  void missing(std::string_view key);
  size_t local_errors() const { return diags_->size() - errors_at_start_; }
  void type_error(const Node& n, const std::string& key, std::string_view expected);

  const Node* node_;
  std::string path_;
  Diagnostics* diags_;
  std::vector<std::string_view> seen_;
  size_t errors_at_start_ = diags_->size();

  bool scalar_or_error(const Node& n, const std::string& key, std::string_view expected);
  void read_scalar(const Node& n, const std::string& key, bool& out);
  void read_scalar(const Node& n, const std::string& key, int64_t& out);
  void read_scalar(const Node& n, const std::string& key, int& out);
  void read_scalar(const Node& n, const std::string& key, double& out);
  void read_scalar(const Node& n, const std::string& key, std::string& out);
  void read_scalar(const Node& n, const std::string& key, Duration& out);
  void read_scalar(const Node& n, const std::string& key, Bytes& out);
  void read_scalar(const Node& n, const std::string& key, Bandwidth& out);
  void read_scalar(const Node& n, const std::string& key, Flops& out);
  void read_scalar(const Node& n, const std::string& key, FlopRate& out);
};

template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
struct is_string_map : std::false_type {};
template <class T>
struct is_string_map<std::map<std::string, T>> : std::true_type {};

template <class T>
void Reader::read_value(const Node& n, const std::string& key, T& field) {
  if constexpr (std::is_same_v<T, Node>) {
    field = n;  // raw YAML, interpreted by the caller
  } else if constexpr (is_optional<T>::value) {
    // Reads into the existing value (keeping its defaults), or a fresh one.
    if (!field) field.emplace();
    read_value(n, key, *field);
  } else if constexpr (is_vector<T>::value) {
    if (!n.is_seq()) {
      type_error(n, key, "a list");
      return;
    }
    field.clear();
    for (size_t i = 0; i < n.items.size(); ++i) {
      typename T::value_type v{};
      read_value(n.items[i], key + "[" + std::to_string(i) + "]", v);
      field.push_back(std::move(v));
    }
  } else if constexpr (is_string_map<T>::value) {
    if (!n.is_map()) {
      type_error(n, key, "a mapping");
      return;
    }
    for (const auto& [k, v] : n.entries) {
      typename T::mapped_type value{};
      auto it = field.find(k);
      if (it != field.end()) value = it->second;
      read_value(v, key + "." + k, value);
      field[k] = std::move(value);
    }
  } else if constexpr (ConfigEnum<T>) {
    if (!scalar_or_error(n, key, "one of: " + enum_choices<T>())) return;
    if (!enum_from_string(n.scalar, field))
      diags_->add(n.mark, key,
                  "unknown value '" + n.scalar + "'; expected one of: " + enum_choices<T>());
  } else if constexpr (requires(T& t, Reader& r) { t.fields(r); }) {
    read_struct(n, key, field, *diags_);
  } else {
    read_scalar(n, key, field);
  }
}

// ---------------------------------------------------------------------------
// Writer: turns a typed struct back into a Node (every field, defaults
// filled in), for `codesim show` and for the resolved configuration that is
// written next to every result.
class Writer {
 public:
  explicit Writer(Node& out) : out_(&out) { *out_ = Node::make_map(); }

  template <class T>
  void req(std::string_view key, const T& field, std::string_view help = {}) {
    (void)help;
    add(key, field);
  }
  template <class T>
  void opt(std::string_view key, const T& field, std::string_view help = {}) {
    (void)help;
    add(key, field);
  }
  void check(bool, std::string_view, const std::string&) {}

  template <class T>
  static Node to_node(const T& v) {
    if constexpr (std::is_same_v<T, Node>) {
      return v;
    } else if constexpr (is_optional<T>::value) {
      return v ? to_node(*v) : Node{};
    } else if constexpr (is_vector<T>::value) {
      Node seq = Node::make_seq();
      for (const auto& x : v) seq.items.push_back(to_node(x));
      return seq;
    } else if constexpr (is_string_map<T>::value) {
      Node map = Node::make_map();
      for (const auto& [k, x] : v) map.set(k, to_node(x));
      return map;
    } else if constexpr (ConfigEnum<T>) {
      return Node::make_scalar(std::string(enum_to_string(v)));
    } else if constexpr (requires(T& t, Writer& w) { t.fields(w); }) {
      Node n;
      Writer w(n);
      const_cast<T&>(v).fields(w);
      return n;
    } else {
      return Node::make_scalar(scalar_text(v));
    }
  }

 private:
  template <class T>
  void add(std::string_view key, const T& field) {
    Node n = to_node(field);
    if (n.is_null() && is_optional<T>::value) return;  // absent optional: leave out
    out_->set(key, std::move(n));
  }
  static std::string scalar_text(bool v) { return v ? "true" : "false"; }
  static std::string scalar_text(int v) { return std::to_string(v); }
  static std::string scalar_text(int64_t v) { return std::to_string(v); }
  static std::string scalar_text(double v);
  static std::string scalar_text(const std::string& v) { return v; }
  static std::string scalar_text(Duration v) { return to_string(v); }
  static std::string scalar_text(Bytes v) { return to_string(v); }
  static std::string scalar_text(Bandwidth v) { return to_string(v); }
  static std::string scalar_text(Flops v) { return to_string(v); }
  static std::string scalar_text(FlopRate v) { return to_string(v); }

  Node* out_;
};

// ---------------------------------------------------------------------------
// Convenience: load a file (with includes and overrides) into a struct.
template <class T>
bool load(const std::string& path, const std::vector<std::string>& overrides, T& out,
          Diagnostics& diags, Node* resolved = nullptr) {
  Node root;
  if (!load_file(path, root, diags)) return false;
  for (const auto& o : overrides)
    if (!apply_override(root, o, diags)) return false;
  Reader::read_struct(root, "", out, diags);
  if (resolved) *resolved = std::move(root);
  return diags.empty();
}

template <class T>
bool load_text(std::string_view text, std::string_view name, T& out, Diagnostics& diags) {
  Node root;
  if (!parse_string(text, name, root, diags)) return false;
  Reader::read_struct(root, "", out, diags);
  return diags.empty();
}

}  // namespace codesim::config
