#include "models/trace.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <numeric>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "models/counts.hpp"
#include "sim/config.hpp"

namespace codesim::models {

using OrderedJson = nlohmann::ordered_json;

namespace {

// ---------------------------------------------------------------- writing --

OrderedJson shape_to_json(const OpShape& shape) {
  return std::visit(
      [](const auto& s) -> OrderedJson {
        using S = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<S, GemmShape>) {
          return {{"m", s.m}, {"n", s.n}, {"k", s.k}, {"groups", s.groups}};
        } else if constexpr (std::is_same_v<S, AttentionShape>) {
          return {{"batch", s.batch},   {"q_len", s.q_len},   {"kv_len", s.kv_len},
                  {"n_heads", s.n_heads}, {"n_kv_heads", s.n_kv_heads}, {"qk_dim", s.qk_dim},
                  {"v_dim", s.v_dim},   {"causal", s.causal}};
        } else if constexpr (std::is_same_v<S, CommShape>) {
          return {{"tokens", s.tokens}, {"copies", s.copies}, {"hidden", s.hidden}};
        } else {
          return {{"rows", s.rows}, {"cols", s.cols}};
        }
      },
      shape);
}

OrderedJson matrix_to_json(const std::vector<uint64_t>& m, int n) {
  OrderedJson rows = OrderedJson::array();
  for (int i = 0; i < n; ++i) {
    OrderedJson row = OrderedJson::array();
    for (int j = 0; j < n; ++j) row.push_back(m[static_cast<size_t>(i * n + j)]);
    rows.push_back(std::move(row));
  }
  return rows;
}

template <class E>
std::string name_of(E e) {
  return std::string(config::enum_to_string(e));
}

// ---------------------------------------------------------------- reading --

// Collects strict-validation errors with their JSON pointer.
class Checker {
 public:
  explicit Checker(std::string_view file) : file_(file) {}

  void error(const std::string& path, const std::string& what) {
    if (count_++ < 50) out_ += file_ + ": " + (path.empty() ? "/" : path) + ": " + what + "\n";
  }
  bool ok() const { return count_ == 0; }
  std::string str() const {
    return count_ > 50 ? out_ + file_ + ": ... " + std::to_string(count_ - 50) + " more errors\n"
                       : out_;
  }

  static std::string type_name(const OrderedJson& j) {
    if (j.is_null()) return "null";
    if (j.is_boolean()) return "a boolean";
    if (j.is_number_integer() || j.is_number_unsigned()) return "an integer";
    if (j.is_number()) return "a number";
    if (j.is_string()) return "a string";
    if (j.is_array()) return "an array";
    return "an object";
  }

  // An object with exactly the keys in `required` plus any of `optional`.
  bool object(const OrderedJson& j, const std::string& path, std::initializer_list<const char*> required,
              std::initializer_list<const char*> optional = {}) {
    if (!j.is_object()) {
      error(path, "expected an object, got " + type_name(j));
      return false;
    }
    bool good = true;
    for (const char* k : required)
      if (!j.contains(k)) {
        error(path, std::string("missing key '") + k + "'");
        good = false;
      }
    for (const auto& [k, v] : j.items()) {
      bool known = false;
      for (const char* r : required) known |= k == r;
      for (const char* o : optional) known |= k == o;
      if (!known) {
        std::string valid;
        for (const char* r : required) valid += std::string(valid.empty() ? "" : ", ") + r;
        for (const char* o : optional) valid += std::string(valid.empty() ? "" : ", ") + o;
        error(path + "/" + k, "unknown key; expected one of: " + valid);
        good = false;
      }
    }
    return good;
  }

  bool integer(const OrderedJson& j, const std::string& path, int64_t& out, int64_t min = 0) {
    if (!(j.is_number_integer() || j.is_number_unsigned())) {
      error(path, "expected an integer >= " + std::to_string(min) + ", got " + type_name(j));
      return false;
    }
    out = j.get<int64_t>();
    if (out < min) {
      error(path, "expected an integer >= " + std::to_string(min) + ", got " + std::to_string(out));
      return false;
    }
    return true;
  }
  bool integer(const OrderedJson& j, const std::string& path, int& out, int64_t min = 0) {
    int64_t v = 0;
    if (!integer(j, path, v, min)) return false;
    out = static_cast<int>(v);
    return true;
  }
  bool number(const OrderedJson& j, const std::string& path, double& out) {
    if (!j.is_number() || !std::isfinite(j.get<double>()) || j.get<double>() < 0) {
      error(path, "expected a finite number >= 0, got " +
                      (j.is_number() ? std::to_string(j.get<double>()) : type_name(j)));
      return false;
    }
    out = j.get<double>();
    return true;
  }
  bool string(const OrderedJson& j, const std::string& path, std::string& out) {
    if (!j.is_string()) {
      error(path, "expected a string, got " + type_name(j));
      return false;
    }
    out = j.get<std::string>();
    return true;
  }
  bool boolean(const OrderedJson& j, const std::string& path, bool& out) {
    if (!j.is_boolean()) {
      error(path, "expected true or false, got " + type_name(j));
      return false;
    }
    out = j.get<bool>();
    return true;
  }
  template <class E>
  bool enumeration(const OrderedJson& j, const std::string& path, E& out) {
    std::string s;
    if (!j.is_string() || !config::enum_from_string(j.get<std::string>(), out)) {
      error(path, "expected one of: " + config::enum_choices<E>() + ", got " +
                      (j.is_string() ? "'" + j.get<std::string>() + "'" : type_name(j)));
      return false;
    }
    return true;
  }
  bool array(const OrderedJson& j, const std::string& path) {
    if (!j.is_array()) {
      error(path, "expected an array, got " + type_name(j));
      return false;
    }
    return true;
  }

 private:
  std::string file_;
  std::string out_;
  int count_ = 0;
};

bool read_shape(Checker& c, const OrderedJson& j, const std::string& p, OpType kind, OpShape& out) {
  auto i = [&](const char* k, int64_t& v) { return c.integer(j[k], p + "/" + k, v); };
  switch (kind) {
    case OpType::kGemm:
    case OpType::kGroupedGemm: {
      if (!c.object(j, p, {"m", "n", "k", "groups"})) return false;
      GemmShape s;
      bool ok = i("m", s.m) & i("n", s.n) & i("k", s.k);
      ok &= c.integer(j["groups"], p + "/groups", s.groups, 1);
      out = s;
      return ok;
    }
    case OpType::kAttention: {
      if (!c.object(j, p, {"batch", "q_len", "kv_len", "n_heads", "n_kv_heads", "qk_dim", "v_dim",
                           "causal"}))
        return false;
      AttentionShape s;
      bool ok = i("batch", s.batch) & i("q_len", s.q_len) & i("kv_len", s.kv_len) &
                i("n_heads", s.n_heads) & i("n_kv_heads", s.n_kv_heads) & i("qk_dim", s.qk_dim) &
                i("v_dim", s.v_dim);
      ok &= c.boolean(j["causal"], p + "/causal", s.causal);
      if (ok && s.q_len > s.kv_len) {
        c.error(p + "/q_len", "expected q_len <= kv_len (" + std::to_string(s.kv_len) + "), got " +
                                  std::to_string(s.q_len));
        ok = false;
      }
      out = s;
      return ok;
    }
    case OpType::kDispatch:
    case OpType::kCombine:
    case OpType::kTpComm: {
      if (!c.object(j, p, {"tokens", "copies", "hidden"})) return false;
      CommShape s;
      const bool ok = i("tokens", s.tokens) & i("copies", s.copies) & i("hidden", s.hidden);
      out = s;
      return ok;
    }
    default: {
      if (!c.object(j, p, {"rows", "cols"})) return false;
      ElementwiseShape s;
      const bool ok = i("rows", s.rows) & i("cols", s.cols);
      out = s;
      return ok;
    }
  }
}

bool read_matrix(Checker& c, const OrderedJson& j, const std::string& p, int n,
                 std::vector<uint64_t>& out) {
  if (!c.array(j, p)) return false;
  if (static_cast<int>(j.size()) != n) {
    c.error(p, "expected " + std::to_string(n) + " rows, got " + std::to_string(j.size()));
    return false;
  }
  out.assign(static_cast<size_t>(n) * static_cast<size_t>(n), 0);
  bool ok = true;
  for (int r = 0; r < n; ++r) {
    const std::string rp = p + "/" + std::to_string(r);
    const OrderedJson& row = j[static_cast<size_t>(r)];
    if (!c.array(row, rp)) {
      ok = false;
      continue;
    }
    if (static_cast<int>(row.size()) != n) {
      c.error(rp, "expected " + std::to_string(n) + " columns, got " + std::to_string(row.size()));
      ok = false;
      continue;
    }
    for (int col = 0; col < n; ++col) {
      int64_t v = 0;
      if (c.integer(row[static_cast<size_t>(col)], rp + "/" + std::to_string(col), v))
        out[static_cast<size_t>(r * n + col)] = static_cast<uint64_t>(v);
      else
        ok = false;
    }
  }
  return ok;
}

}  // namespace

// ------------------------------------------------------------------- JSON --

std::string trace_to_json(const Trace& t, int indent) {
  OrderedJson root;
  root["format"] = kTraceFormatName;
  root["version"] = kTraceFormatVersion;
  root["meta"] = {{"model", t.meta.model},       {"producer", t.meta.producer},
                  {"workload", name_of(t.meta.workload)}, {"batch", t.meta.batch},
                  {"seq_len", t.meta.seq_len},   {"notes", t.meta.notes}};
  OrderedJson layers = OrderedJson::array();
  for (const auto& l : t.layers) {
    OrderedJson ops = OrderedJson::array();
    for (size_t i = 0; i < l.ops.size(); ++i) {
      const Op& op = l.ops[i];
      OrderedJson o = {{"name", op.name},
                {"kind", name_of(op.kind)},
                {"pass", name_of(op.pass)},
                {"precision", name_of(op.precision)},
                {"shape", shape_to_json(op.shape)},
                {"flops", op.flops.count()},
                {"bytes_read", op.bytes_read.count()},
                {"bytes_written", op.bytes_written.count()}};
      if (op.input_fp8) o["input_fp8"] = true;
      if (op.grad_fp8) o["grad_fp8"] = true;
      if (op.input_e5m6) o["input_e5m6"] = true;
      if (i < l.measured.size()) o["measured_us"] = l.measured[i] / Microseconds(1);
      ops.push_back(std::move(o));
    }
    layers.push_back({{"name", l.name}, {"kind", name_of(l.kind)}, {"ops", std::move(ops)}});
  }
  root["layers"] = std::move(layers);
  OrderedJson routing = OrderedJson::array();
  for (const auto& r : t.routing) {
    OrderedJson o = {{"layer", r.layer},       {"n_experts", r.n_experts}, {"top_k", r.top_k},
              {"n_tokens", r.n_tokens}, {"experts", r.experts}};
    if (!r.weights.empty()) o["weights"] = r.weights;
    routing.push_back(std::move(o));
  }
  root["routing"] = std::move(routing);
  if (t.placement)
    root["placement"] = {{"n_gpus", t.placement->n_gpus},
                         {"gpus_per_node", t.placement->gpus_per_node},
                         {"expert_gpu", t.placement->expert_gpu}};
  OrderedJson traffic = OrderedJson::array();
  for (const auto& e : t.traffic)
    traffic.push_back({{"layer", e.layer},
                       {"n_gpus", e.n_gpus},
                       {"n_nodes", e.n_nodes},
                       {"dispatch_gpu", matrix_to_json(e.dispatch_gpu, e.n_gpus)},
                       {"combine_gpu", matrix_to_json(e.combine_gpu, e.n_gpus)},
                       {"dispatch_node", matrix_to_json(e.dispatch_node, e.n_nodes)},
                       {"combine_node", matrix_to_json(e.combine_node, e.n_nodes)}});
  root["traffic"] = std::move(traffic);
  return root.dump(indent);
}

bool write_trace(const Trace& trace, const std::string& path, std::string& error) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) {
      error = path + ": cannot open '" + tmp + "' for writing";
      return false;
    }
    f << trace_to_json(trace, 1) << '\n';
    if (!f.flush()) {
      error = path + ": write failed";
      std::remove(tmp.c_str());
      return false;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    error = path + ": cannot rename '" + tmp + "' into place";
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}

bool parse_trace(std::string_view text, std::string_view name, Trace& out, std::string& error) {
  out = Trace{};
  OrderedJson root;
  try {
    root = OrderedJson::parse(text.begin(), text.end());
  } catch (const OrderedJson::parse_error& e) {
    error = std::string(name) + ": not valid JSON: " + e.what() + "\n";
    return false;
  }
  Checker c(name);
  if (!c.object(root, "", {"format", "version", "meta", "layers", "routing", "traffic"},
                {"placement"})) {
    error = c.str();
    return false;
  }
  if (root["format"] != kTraceFormatName)
    c.error("/format", "expected \"codesim-trace\", got " + root["format"].dump());
  int version = 0;
  if (c.integer(root["version"], "/version", version, 1) && version != kTraceFormatVersion)
    c.error("/version", "unsupported version " + std::to_string(version) +
                            "; this build reads version " + std::to_string(kTraceFormatVersion));
  if (!c.ok()) {
    error = c.str();
    return false;
  }

  const OrderedJson& m = root["meta"];
  if (c.object(m, "/meta", {"model", "producer", "workload", "batch", "seq_len"}, {"notes"})) {
    c.string(m["model"], "/meta/model", out.meta.model);
    c.string(m["producer"], "/meta/producer", out.meta.producer);
    c.enumeration(m["workload"], "/meta/workload", out.meta.workload);
    c.integer(m["batch"], "/meta/batch", out.meta.batch);
    c.integer(m["seq_len"], "/meta/seq_len", out.meta.seq_len);
    if (m.contains("notes")) c.string(m["notes"], "/meta/notes", out.meta.notes);
  }

  std::set<std::string> layer_names;
  if (c.array(root["layers"], "/layers")) {
    for (size_t li = 0; li < root["layers"].size(); ++li) {
      const std::string lp = "/layers/" + std::to_string(li);
      const OrderedJson& lj = root["layers"][li];
      if (!c.object(lj, lp, {"name", "kind", "ops"})) continue;
      TraceLayer layer;
      c.string(lj["name"], lp + "/name", layer.name);
      if (!layer_names.insert(layer.name).second)
        c.error(lp + "/name", "duplicate layer name '" + layer.name + "'");
      c.enumeration(lj["kind"], lp + "/kind", layer.kind);
      if (c.array(lj["ops"], lp + "/ops")) {
        bool any_measured = false, all_measured = true;
        for (size_t oi = 0; oi < lj["ops"].size(); ++oi) {
          const std::string op_path = lp + "/ops/" + std::to_string(oi);
          const OrderedJson& oj = lj["ops"][oi];
          if (!c.object(oj, op_path,
                        {"name", "kind", "pass", "precision", "shape", "flops", "bytes_read",
                         "bytes_written"},
                        {"measured_us", "input_fp8", "grad_fp8", "input_e5m6"}))
            continue;
          Op op;
          c.string(oj["name"], op_path + "/name", op.name);
          const bool kind_ok = c.enumeration(oj["kind"], op_path + "/kind", op.kind);
          c.enumeration(oj["pass"], op_path + "/pass", op.pass);
          c.enumeration(oj["precision"], op_path + "/precision", op.precision);
          if (kind_ok) read_shape(c, oj["shape"], op_path + "/shape", op.kind, op.shape);
          double flops = 0;
          if (c.number(oj["flops"], op_path + "/flops", flops)) op.flops = Flops::from_count(flops);
          int64_t br = 0, bw = 0;
          if (c.integer(oj["bytes_read"], op_path + "/bytes_read", br))
            op.bytes_read = B(static_cast<uint64_t>(br));
          if (c.integer(oj["bytes_written"], op_path + "/bytes_written", bw))
            op.bytes_written = B(static_cast<uint64_t>(bw));
          for (auto [key, flag] : {std::pair{"input_fp8", &op.input_fp8}, std::pair{"grad_fp8", &op.grad_fp8},
                                   std::pair{"input_e5m6", &op.input_e5m6}}) {
            if (!oj.contains(key)) continue;
            if (!oj[key].is_boolean())
              c.error(op_path + "/" + key, "expected true or false");
            else
              *flag = oj[key].get<bool>();
          }
          if (oj.contains("measured_us")) {
            double us = 0;
            if (c.number(oj["measured_us"], op_path + "/measured_us", us))
              layer.measured.push_back(Duration::from_seconds(us * 1e-6));
            any_measured = true;
          } else {
            all_measured = false;
          }
          layer.ops.push_back(std::move(op));
        }
        if (any_measured && !all_measured)
          c.error(lp + "/ops", "measured_us must be given for every op of a layer or for none");
      }
      out.layers.push_back(std::move(layer));
    }
  }

  if (c.array(root["routing"], "/routing")) {
    for (size_t ri = 0; ri < root["routing"].size(); ++ri) {
      const std::string rp = "/routing/" + std::to_string(ri);
      const OrderedJson& rj = root["routing"][ri];
      if (!c.object(rj, rp, {"layer", "n_experts", "top_k", "n_tokens", "experts"}, {"weights"}))
        continue;
      LayerRouting r;
      c.string(rj["layer"], rp + "/layer", r.layer);
      if (!layer_names.empty() && !layer_names.count(r.layer))
        c.error(rp + "/layer", "expected the name of a layer in /layers, got '" + r.layer + "'");
      const bool dims = c.integer(rj["n_experts"], rp + "/n_experts", r.n_experts, 1) &
                        c.integer(rj["top_k"], rp + "/top_k", r.top_k, 1) &
                        c.integer(rj["n_tokens"], rp + "/n_tokens", r.n_tokens, 0);
      if (dims && r.top_k > r.n_experts)
        c.error(rp + "/top_k", "expected top_k <= n_experts (" + std::to_string(r.n_experts) + ")");
      if (c.array(rj["experts"], rp + "/experts") && dims) {
        const size_t want = static_cast<size_t>(r.n_tokens) * static_cast<size_t>(r.top_k);
        if (rj["experts"].size() != want) {
          c.error(rp + "/experts", "expected n_tokens x top_k = " + std::to_string(want) +
                                       " expert ids, got " + std::to_string(rj["experts"].size()));
        } else {
          r.experts.reserve(want);
          for (size_t i = 0; i < want; ++i) {
            const OrderedJson& e = rj["experts"][i];
            if (!(e.is_number_integer() || e.is_number_unsigned()) || e.get<int64_t>() < 0 ||
                e.get<int64_t>() >= r.n_experts) {
              c.error(rp + "/experts/" + std::to_string(i),
                      "expected an expert id in [0, " + std::to_string(r.n_experts) + "), got " +
                          e.dump());
              break;
            }
            r.experts.push_back(e.get<int32_t>());
          }
        }
      }
      if (rj.contains("weights") && c.array(rj["weights"], rp + "/weights")) {
        if (rj["weights"].size() != r.experts.size()) {
          c.error(rp + "/weights", "expected as many weights as expert ids (" +
                                       std::to_string(r.experts.size()) + "), got " +
                                       std::to_string(rj["weights"].size()));
        } else {
          for (size_t i = 0; i < rj["weights"].size(); ++i) {
            double w = 0;
            if (!c.number(rj["weights"][i], rp + "/weights/" + std::to_string(i), w)) break;
            r.weights.push_back(static_cast<float>(w));
          }
        }
      }
      out.routing.push_back(std::move(r));
    }
  }

  if (root.contains("placement")) {
    const OrderedJson& pj = root["placement"];
    if (c.object(pj, "/placement", {"n_gpus", "gpus_per_node", "expert_gpu"})) {
      ExpertPlacement p;
      c.integer(pj["n_gpus"], "/placement/n_gpus", p.n_gpus, 1);
      c.integer(pj["gpus_per_node"], "/placement/gpus_per_node", p.gpus_per_node, 1);
      if (c.array(pj["expert_gpu"], "/placement/expert_gpu")) {
        for (size_t i = 0; i < pj["expert_gpu"].size(); ++i) {
          int g = 0;
          const std::string gp = "/placement/expert_gpu/" + std::to_string(i);
          if (!c.integer(pj["expert_gpu"][i], gp, g)) break;
          if (g >= p.n_gpus) {
            c.error(gp, "expected a GPU index in [0, " + std::to_string(p.n_gpus) + "), got " +
                            std::to_string(g));
            break;
          }
          p.expert_gpu.push_back(g);
        }
      }
      for (size_t ri = 0; ri < out.routing.size(); ++ri)
        if (static_cast<int>(p.expert_gpu.size()) != out.routing[ri].n_experts)
          c.error("/placement/expert_gpu",
                  "expected one GPU per routed expert (" +
                      std::to_string(out.routing[ri].n_experts) + ", /routing/" +
                      std::to_string(ri) + "), got " + std::to_string(p.expert_gpu.size()));
      out.placement = std::move(p);
    }
  }

  if (c.array(root["traffic"], "/traffic")) {
    if (!root["traffic"].empty() && !out.placement)
      c.error("/traffic", "byte matrices need a /placement");
    for (size_t ti = 0; ti < root["traffic"].size(); ++ti) {
      const std::string tp = "/traffic/" + std::to_string(ti);
      const OrderedJson& tj = root["traffic"][ti];
      if (!c.object(tj, tp, {"layer", "n_gpus", "n_nodes", "dispatch_gpu", "combine_gpu",
                             "dispatch_node", "combine_node"}))
        continue;
      EpTraffic e;
      c.string(tj["layer"], tp + "/layer", e.layer);
      if (!layer_names.empty() && !layer_names.count(e.layer))
        c.error(tp + "/layer", "expected the name of a layer in /layers, got '" + e.layer + "'");
      if (!(c.integer(tj["n_gpus"], tp + "/n_gpus", e.n_gpus, 1) &
            c.integer(tj["n_nodes"], tp + "/n_nodes", e.n_nodes, 1)))
        continue;
      if (out.placement && (e.n_gpus != out.placement->n_gpus ||
                            e.n_nodes != out.placement->n_nodes()))
        c.error(tp, "expected n_gpus " + std::to_string(out.placement->n_gpus) + " and n_nodes " +
                        std::to_string(out.placement->n_nodes()) + " as in /placement");
      read_matrix(c, tj["dispatch_gpu"], tp + "/dispatch_gpu", e.n_gpus, e.dispatch_gpu);
      read_matrix(c, tj["combine_gpu"], tp + "/combine_gpu", e.n_gpus, e.combine_gpu);
      read_matrix(c, tj["dispatch_node"], tp + "/dispatch_node", e.n_nodes, e.dispatch_node);
      read_matrix(c, tj["combine_node"], tp + "/combine_node", e.n_nodes, e.combine_node);
      out.traffic.push_back(std::move(e));
    }
  }

  if (!c.ok()) {
    error = c.str();
    return false;
  }
  return true;
}

bool read_trace(const std::string& path, Trace& out, std::string& error) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    error = path + ": cannot open for reading\n";
    return false;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_trace(ss.str(), path, out, error);
}

// --------------------------------------------------------------- building --

Trace trace_from_op_list(const ModelSpec& spec, const OpListOptions& o) {
  Trace t;
  t.meta = {spec.name, "op_list", o.workload, o.batch, o.seq_len,
            "analytic op list (models/op_list.hpp), balanced routing"};
  for (auto& l : build_op_list(spec, o)) t.layers.push_back({l.name, l.kind, std::move(l.ops), {}});
  return t;
}

Trace trace_from_reference(const ModelSpec& spec, const OpLog& log, int64_t batch,
                           int64_t seq_len) {
  Trace t;
  t.meta = {spec.name, "reference", Workload::kPrefill, batch, seq_len,
            "Eigen reference implementation (models/transformer.hpp), forward ops"};
  auto layer_name = [&spec](int layer) {
    if (layer == kEmbeddingLayer) return std::string("embed");
    if (layer == kHeadLayer) return std::string("head");
    if (layer >= spec.n_layers) return "mtp." + std::to_string(layer - spec.n_layers);
    return "layer." + std::to_string(layer);
  };
  auto layer_kind = [&spec](int layer) {
    if (layer == kEmbeddingLayer) return LayerKind::kEmbedding;
    if (layer == kHeadLayer) return LayerKind::kHead;
    if (layer >= spec.n_layers) return LayerKind::kMtp;
    return spec.moe && layer >= spec.moe->n_dense_layers ? LayerKind::kMoe : LayerKind::kDense;
  };
  std::map<std::string, size_t> index;
  for (const OpRecord& r : log.ops) {
    const std::string name = layer_name(r.layer);
    auto it = index.find(name);
    if (it == index.end()) {
      it = index.emplace(name, t.layers.size()).first;
      t.layers.push_back({name, layer_kind(r.layer), {}, {}});
    }
    t.layers[it->second].ops.push_back(op_from_record(r));
  }
  for (const RoutingRecord& r : log.routing)
    t.routing.push_back(
        {layer_name(r.layer), r.n_experts, r.top_k, r.n_tokens, r.experts, r.weights});
  return t;
}

int token_gpu(int t, int n_tokens, int n_gpus) {
  if (n_tokens <= 0) return 0;
  return static_cast<int>(static_cast<int64_t>(t) * n_gpus / n_tokens);
}

EpTraffic compute_ep_traffic(const LayerRouting& r, const ExpertPlacement& p,
                             Bytes dispatch_per_copy, Bytes combine_per_copy) {
  EpTraffic e;
  e.layer = r.layer;
  e.n_gpus = p.n_gpus;
  e.n_nodes = p.n_nodes();
  const size_t g2 = static_cast<size_t>(e.n_gpus) * static_cast<size_t>(e.n_gpus);
  const size_t n2 = static_cast<size_t>(e.n_nodes) * static_cast<size_t>(e.n_nodes);
  e.dispatch_gpu.assign(g2, 0);
  e.combine_gpu.assign(g2, 0);
  e.dispatch_node.assign(n2, 0);
  e.combine_node.assign(n2, 0);
  std::vector<char> gpu_seen(static_cast<size_t>(e.n_gpus)), node_seen(static_cast<size_t>(e.n_nodes));
  for (int t = 0; t < r.n_tokens; ++t) {
    const int src = token_gpu(t, r.n_tokens, p.n_gpus), src_node = src / p.gpus_per_node;
    std::fill(gpu_seen.begin(), gpu_seen.end(), 0);
    std::fill(node_seen.begin(), node_seen.end(), 0);
    for (int j = 0; j < r.top_k; ++j) {
      const int ex = r.experts[static_cast<size_t>(t * r.top_k + j)];
      const int g = p.expert_gpu[static_cast<size_t>(ex)], n = g / p.gpus_per_node;
      if (!gpu_seen[static_cast<size_t>(g)]) {
        gpu_seen[static_cast<size_t>(g)] = 1;
        e.dispatch_gpu[static_cast<size_t>(src * e.n_gpus + g)] += dispatch_per_copy.count();
        e.combine_gpu[static_cast<size_t>(g * e.n_gpus + src)] += combine_per_copy.count();
      }
      if (!node_seen[static_cast<size_t>(n)]) {
        node_seen[static_cast<size_t>(n)] = 1;
        e.dispatch_node[static_cast<size_t>(src_node * e.n_nodes + n)] += dispatch_per_copy.count();
        e.combine_node[static_cast<size_t>(n * e.n_nodes + src_node)] += combine_per_copy.count();
      }
    }
  }
  return e;
}

void attach_placement(Trace& trace, const ModelSpec& spec, const ExpertPlacement& placement) {
  const EpBytes eb = ep_bytes_per_token(spec);
  trace.placement = placement;
  trace.traffic.clear();
  for (const auto& r : trace.routing)
    trace.traffic.push_back(
        compute_ep_traffic(r, placement, eb.dispatch_per_copy, eb.combine_per_copy));
}

RoutingStats routing_stats(const LayerRouting& r, const ExpertPlacement& p) {
  RoutingStats s;
  std::vector<double> load(static_cast<size_t>(r.n_experts), 0.0);
  for (int32_t e : r.experts) load[static_cast<size_t>(e)] += 1.0;
  const double total = static_cast<double>(r.experts.size());
  s.load_fraction.resize(load.size());
  for (size_t e = 0; e < load.size(); ++e) s.load_fraction[e] = total > 0 ? load[e] / total : 0;
  const double mean = total / static_cast<double>(r.n_experts);
  double var = 0, mx = 0;
  for (double l : load) {
    var += (l - mean) * (l - mean);
    mx = std::max(mx, l);
  }
  var /= static_cast<double>(r.n_experts);
  s.load_cv = mean > 0 ? std::sqrt(var) / mean : 0;
  s.max_over_mean_load = mean > 0 ? mx / mean : 0;
  const int n_nodes = p.n_nodes();
  s.nodes_per_token.assign(static_cast<size_t>(n_nodes) + 1, 0.0);
  std::vector<char> seen(static_cast<size_t>(n_nodes));
  double sum = 0;
  for (int t = 0; t < r.n_tokens; ++t) {
    std::fill(seen.begin(), seen.end(), 0);
    int count = 0;
    for (int j = 0; j < r.top_k; ++j) {
      const int n = p.node_of(r.experts[static_cast<size_t>(t * r.top_k + j)]);
      if (!seen[static_cast<size_t>(n)]) {
        seen[static_cast<size_t>(n)] = 1;
        ++count;
      }
    }
    s.nodes_per_token[static_cast<size_t>(count)] += 1.0;
    sum += count;
  }
  if (r.n_tokens > 0) {
    for (double& f : s.nodes_per_token) f /= r.n_tokens;
    s.mean_nodes_per_token = sum / r.n_tokens;
  }
  return s;
}

namespace {

// Draws an index with probability proportional to w (w >= 0, not all zero).
size_t draw(const std::vector<double>& w, std::mt19937_64& rng) {
  const double total = std::accumulate(w.begin(), w.end(), 0.0);
  double x = std::uniform_real_distribution<double>(0.0, total)(rng);
  for (size_t i = 0; i < w.size(); ++i) {
    if (x < w[i]) return i;
    x -= w[i];
  }
  for (size_t i = w.size(); i-- > 0;)
    if (w[i] > 0) return i;
  return 0;
}

}  // namespace

Trace scale_trace(const Trace& small, const ModelSpec& full, const ScaleOptions& o) {
  OpListOptions lo;
  lo.workload = o.workload;
  lo.batch = o.batch;
  lo.seq_len = o.seq_len;
  Trace t = trace_from_op_list(full, lo);
  t.meta.producer = "scaled";
  t.meta.notes = "ops: op_list at full shapes; routing: resampled from '" + small.meta.model +
                 "' (" + std::to_string(small.routing.size()) +
                 " MoE layers) keeping load per expert and nodes per token; seed " +
                 std::to_string(o.seed);
  if (small.routing.empty() || !full.moe) return t;

  const ExpertPlacement& fp = o.placement;
  const int n_nodes = fp.n_nodes();
  const int e_full = full.moe->n_routed_experts, k = full.moe->n_activated_experts;
  // Full MoE layer names in order.
  std::vector<std::string> moe_layers;
  for (const auto& l : t.layers)
    if (l.kind == LayerKind::kMoe) moe_layers.push_back(l.name);
  const int n_tokens = static_cast<int>(o.batch * (o.workload == Workload::kDecode ? 1 : o.seq_len));
  std::mt19937_64 rng(o.seed);

  // Capacity and weights per node for the full placement.
  std::vector<std::vector<int>> node_experts(static_cast<size_t>(n_nodes));
  for (int e = 0; e < e_full; ++e) node_experts[static_cast<size_t>(fp.node_of(e))].push_back(e);

  for (size_t li = 0; li < moe_layers.size(); ++li) {
    const LayerRouting& sr =
        small.routing[li * small.routing.size() / moe_layers.size()];
    // Small experts contiguous over the same number of nodes.
    ExpertPlacement sp;
    sp.n_gpus = n_nodes;
    sp.gpus_per_node = 1;
    for (int e = 0; e < sr.n_experts; ++e)
      sp.expert_gpu.push_back(static_cast<int>(static_cast<int64_t>(e) * n_nodes / sr.n_experts));
    const RoutingStats st = routing_stats(sr, sp);

    // Target load share of each full expert.
    std::vector<double> target(static_cast<size_t>(e_full));
    for (int e = 0; e < e_full; ++e) {
      const int se = static_cast<int>(static_cast<int64_t>(e) * sr.n_experts / e_full);
      const int64_t share = (static_cast<int64_t>(se + 1) * e_full + sr.n_experts - 1) / sr.n_experts -
                            (static_cast<int64_t>(se) * e_full + sr.n_experts - 1) / sr.n_experts;
      target[static_cast<size_t>(e)] =
          st.load_fraction[static_cast<size_t>(se)] / static_cast<double>(std::max<int64_t>(1, share)) +
          1e-9;
    }
    int max_m = std::min(k, n_nodes);
    if (o.max_nodes > 0) max_m = std::min(max_m, o.max_nodes);

    // One sampling pass with expert weights w (see header, step 4).
    auto sample = [&](const std::vector<double>& w) {
      std::vector<double> node_w(static_cast<size_t>(n_nodes), 0.0);
      for (int e = 0; e < e_full; ++e)
        node_w[static_cast<size_t>(fp.node_of(e))] += w[static_cast<size_t>(e)];
      LayerRouting r;
      r.layer = moe_layers[li];
      r.n_experts = e_full;
      r.top_k = k;
      r.n_tokens = n_tokens;
      r.experts.reserve(static_cast<size_t>(n_tokens) * static_cast<size_t>(k));
      std::vector<double> nw, sw, ew;
      std::vector<int> nodes, slots;
      for (int tok = 0; tok < n_tokens; ++tok) {
        int m = static_cast<int>(draw(st.nodes_per_token, rng));
        m = std::clamp(m, 1, max_m);
        nw = node_w;
        nodes.clear();
        for (int i = 0; i < m; ++i) {
          const size_t n = draw(nw, rng);
          nodes.push_back(static_cast<int>(n));
          nw[n] = 0;
        }
        slots.assign(nodes.size(), 1);
        for (int extra = k - m; extra > 0; --extra) {
          sw.assign(nodes.size(), 0.0);
          for (size_t i = 0; i < nodes.size(); ++i)
            if (slots[i] < static_cast<int>(node_experts[static_cast<size_t>(nodes[i])].size()))
              sw[i] = node_w[static_cast<size_t>(nodes[i])];
          if (std::all_of(sw.begin(), sw.end(), [](double x) { return x <= 0; })) break;
          ++slots[draw(sw, rng)];
        }
        for (size_t i = 0; i < nodes.size(); ++i) {
          const auto& ex = node_experts[static_cast<size_t>(nodes[i])];
          ew.resize(ex.size());
          for (size_t j = 0; j < ex.size(); ++j) ew[j] = w[static_cast<size_t>(ex[j])];
          for (int sl = 0; sl < slots[i]; ++sl) {
            const size_t j = draw(ew, rng);
            r.experts.push_back(ex[j]);
            ew[j] = 0;
          }
        }
      }
      return r;
    };
    // The node step favours heavy nodes more than proportionally, so the
    // weights are fitted: two calibration passes rescale w_e by
    // target_e / realised_e (iterative proportional fitting), then the
    // final pass is kept.
    std::vector<double> w = target;
    LayerRouting r;
    for (int pass = 0; pass < 3; ++pass) {
      r = sample(w);
      if (pass == 2) break;
      std::vector<double> got(static_cast<size_t>(e_full), 0.0);
      for (int32_t e : r.experts) got[static_cast<size_t>(e)] += 1.0;
      const double total = static_cast<double>(r.experts.size());
      for (int e = 0; e < e_full; ++e) {
        const double realised = got[static_cast<size_t>(e)] / total;
        w[static_cast<size_t>(e)] *= target[static_cast<size_t>(e)] / std::max(realised, 1e-6);
      }
    }
    t.routing.push_back(std::move(r));
  }
  attach_placement(t, full, fp);
  return t;
}

std::vector<LayerRouting> synthetic_routing(const ModelSpec& spec, int n_tokens, double skew,
                                            uint64_t seed, const ExpertPlacement* placement,
                                            int max_nodes) {
  std::vector<LayerRouting> out;
  if (!spec.moe) return out;
  const GateConfig cfg = GateConfig::from(*spec.moe);
  const int ne = cfg.n_experts;
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  NodeLimit limit;
  if (placement && max_nodes > 0) limit = {placement, max_nodes};
  for (int layer = spec.moe->n_dense_layers; layer < spec.n_layers; ++layer) {
    std::vector<double> popularity(static_cast<size_t>(ne));
    for (double& p : popularity) p = skew * normal(rng);
    std::vector<float> scores(static_cast<size_t>(n_tokens) * static_cast<size_t>(ne));
    for (int t = 0; t < n_tokens; ++t)
      for (int e = 0; e < ne; ++e) {
        const double logit = normal(rng) + popularity[static_cast<size_t>(e)];
        scores[static_cast<size_t>(t * ne + e)] = static_cast<float>(logit);
      }
    apply_score_func(scores, ne, cfg.score_func);
    const Routing r = route(scores, n_tokens, {}, cfg, limit);
    out.push_back({"layer." + std::to_string(layer), ne, r.top_k, r.n_tokens, r.experts, r.weights});
  }
  return out;
}

}  // namespace codesim::models
