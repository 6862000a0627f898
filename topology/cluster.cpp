#include "topology/cluster.hpp"

#include <cmath>
#include <filesystem>

#include "topology/detail/mms.hpp"
#include "topology/generators.hpp"

namespace codesim::topology {

ClusterSpec::ClusterSpec() = default;

void seed_switch_preset(FabricSpec& f) {
  if (const SwitchSpec* s = find_switch(f.switch_model); s && f.switch_spec.name != f.switch_model)
    f.switch_spec = *s;
}
void seed_node_preset(ClusterSpec& c) {
  if (const NodeSpec* n = find_node(c.node); n && c.node_spec.name != c.node) c.node_spec = *n;
}

void DragonflyParams::validate(config::Reader& r) {
  r.check(p >= 1, "p", "expected at least 1 endpoint per router, got " + std::to_string(p));
  r.check(a >= 1, "a", "expected at least 1 router per group, got " + std::to_string(a));
  r.check(h >= 1, "h", "expected at least 1 global link per router, got " + std::to_string(h));
  if (p < 1 || a < 1 || h < 1) return;
  const int g = num_groups();
  r.check(g >= 2 && g <= a * h + 1, "groups",
          "expected 2 to a*h+1 = " + std::to_string(a * h + 1) +
              " groups (every pair of groups needs a global link), got " + std::to_string(g));
  r.check(static_cast<int64_t>(g) * a * h % 2 == 0, "groups",
          "groups * a * h must be even (each global link uses two ports), got " + std::to_string(g) +
              " * " + std::to_string(a * h));
}

int SlimflyParams::delta() const {
  const int m = q % 4;
  return m == 3 ? -1 : m;  // q = 4w + delta
}
int SlimflyParams::network_radix() const { return (3 * q - delta()) / 2; }
int SlimflyParams::endpoints_per_router() const { return p > 0 ? p : (network_radix() + 1) / 2; }

void SlimflyParams::validate(config::Reader& r) {
  if (q < 3 || q % 4 == 2) {
    r.check(false, "q", "expected q = 4w + delta with delta in {-1, 0, 1} and q >= 3, got " + std::to_string(q));
    return;
  }
  int base = 0, exp = 0;
  if (arithmetic == MmsArithmetic::kGaloisField) {
    r.check(detail::is_prime_power(q, base, exp) && q <= 256, "q",
            "the MMS graph over GF(q) needs a prime power q <= 256, got " + std::to_string(q) +
                "; set arithmetic: integer_ring for the Z/qZ variant (same size and degree)");
  }
  r.check(p >= 0, "p", "expected 0 (automatic) or a positive count, got " + std::to_string(p));
}

void FabricSpec::validate(config::Reader& r) {
  const std::string kname(config::enum_to_string(kind));
  r.check(find_switch(switch_model) != nullptr, "switch",
          "unknown switch preset '" + switch_model + "'; valid: " + switch_names());
  r.check(radix >= 0, "radix", "expected a positive radix (or 0 for the switch's), got " + std::to_string(radix));
  const int k = effective_radix();
  r.check((radix == 0 && !find_switch(switch_model)) || (k >= 2 && k % 2 == 0), radix > 0 ? "radix" : "switch_spec",
          "expected an even switch radix >= 2, got " + std::to_string(k));
  if (k < 2) return;
  r.check(planes >= 1, "planes", "expected at least 1 plane, got " + std::to_string(planes));
  r.check(kind == FabricKind::kMpft || planes == 1, "planes",
          "planes applies to kind mpft only (kind is " + kname + ")");
  r.check(oversubscription > 0, "oversubscription",
          "expected a positive down:up ratio, got " + std::to_string(oversubscription));
  const bool leaf_spine = kind == FabricKind::kFt2 || kind == FabricKind::kMpft ||
                          kind == FabricKind::kMrft || kind == FabricKind::kNvl72;
  r.check(leaf_spine || oversubscription == 1.0, "oversubscription",
          "oversubscription applies to ft2, mpft, mrft and nvl72 only (kind is " + kname + ")");
  if (leaf_spine && oversubscription > 0 && k >= 2) {
    const int down = static_cast<int>(std::lround(k * oversubscription / (1.0 + oversubscription)));
    r.check(down >= 1 && down < k, "oversubscription",
            "leaves of radix " + std::to_string(k) + " need at least one down and one up port at ratio " +
                std::to_string(oversubscription));
  }
  r.check(kind == FabricKind::kDragonfly || !dragonfly, "dragonfly",
          "a dragonfly block applies to kind dragonfly only (kind is " + kname + ")");
  r.check(kind == FabricKind::kSlimfly || !slimfly, "slimfly",
          "a slimfly block applies to kind slimfly only (kind is " + kname + ")");
  r.check(kind != FabricKind::kDragonfly || dragonfly.has_value(), "dragonfly",
          "kind dragonfly needs a dragonfly block with p, a, h");
  r.check(kind != FabricKind::kSlimfly || slimfly.has_value(), "slimfly",
          "kind slimfly needs a slimfly block with q");
}

void ClusterSpec::validate(config::Reader& r) {
  r.check(find_node(node) != nullptr, "node", "unknown node preset '" + node + "'; valid: " + node_names());
  r.check(nodes >= 1, "nodes", "expected at least 1 node, got " + std::to_string(nodes));
  constexpr int64_t kMaxEndpoints = 16'000'000;  // keeps every index in int
  r.check(num_endpoints() <= kMaxEndpoints, "nodes",
          "at most " + std::to_string(kMaxEndpoints) + " endpoints are supported, got " +
              std::to_string(num_endpoints()));
  if (nodes >= 1 && find_node(node) != nullptr && num_endpoints() <= kMaxEndpoints) {
    const std::string why = check_fabric(*this);
    // At the key the problem is about: the planes, a direct network's own
    // parameters, or else the node count against the fabric's capacity.
    const char* key = "nodes";
    if (why.rfind("mpft puts NIC port", 0) == 0) key = "fabric.planes";
    else if (why.rfind("dragonfly", 0) == 0 && fabric.dragonfly) key = "fabric.dragonfly";
    else if (why.rfind("slim fly", 0) == 0 && fabric.slimfly) key = "fabric.slimfly";
    r.check(why.empty(), key, why);
  }
  if (!prices.empty()) {
    const config::Node* at = r.node().find("prices");
    std::filesystem::path p(prices);
    if (p.is_relative() && at && !at->mark.file.empty() && at->mark.file.rfind("--set", 0) != 0)
      p = std::filesystem::path(at->mark.file).parent_path() / p;
    prices_path = p.lexically_normal().string();
    std::error_code ec;
    if (!std::filesystem::is_regular_file(p, ec)) {
      r.check(false, "prices", "cannot read price list file '" + prices_path + "'");
      return;
    }
    config::Diagnostics pd;
    if (!load_prices(prices_path, price_list, pd))
      for (const auto& d : pd.list()) r.diags().add(d.mark, d.key, d.message);
  }
}

}  // namespace codesim::topology
