// File: topology/cluster.hpp
//
// The `cluster` section of a scenario: which node, how many, and the fabric
// that joins them. Example (scenarios/paper/table3-ft2.yaml):
//
//   cluster:
//     node: h800              # catalog preset (topology/catalog.hpp)
//     node_spec:              # optional: override single fields of the preset
//       pcie_per_direction: 50GB/s
//     nodes: 256
//     fabric:
//       kind: ft2             # ft2 ft3 mpft mrft dragonfly slimfly rail_only nvl72
//       switch: quantum2      # catalog preset; switch_spec overrides its fields
//       radix: 64             # optional; default: the switch's radix
//     prices: ../prices/default.yaml   # optional; default: built-in PriceList
//
// Validation is strict and per kind: keys that do not apply to the chosen
// kind (`planes` on a dragonfly, a `dragonfly:` block on a fat tree) are
// errors, and so is a node count the fabric cannot hold.
#pragma once

#include <optional>
#include <string>
#include <type_traits>

#include "sim/config.hpp"
#include "topology/catalog.hpp"
#include "topology/cost.hpp"
#include "topology/fabric.hpp"

namespace codesim::topology {

enum class FabricKind { kFt2, kFt3, kMpft, kMrft, kDragonfly, kSlimfly, kRailOnly, kNvl72 };
constexpr auto enum_names(FabricKind) {
  return std::array{std::pair{FabricKind::kFt2, std::string_view("ft2")},
                    std::pair{FabricKind::kFt3, std::string_view("ft3")},
                    std::pair{FabricKind::kMpft, std::string_view("mpft")},
                    std::pair{FabricKind::kMrft, std::string_view("mrft")},
                    std::pair{FabricKind::kDragonfly, std::string_view("dragonfly")},
                    std::pair{FabricKind::kSlimfly, std::string_view("slimfly")},
                    std::pair{FabricKind::kRailOnly, std::string_view("rail_only")},
                    std::pair{FabricKind::kNvl72, std::string_view("nvl72")}};
}

// Canonical dragonfly (Kim et al., ISCA'08): groups of `a` routers, all-to-all
// inside a group, `p` endpoints and `h` global links per router.
struct DragonflyParams {
  int p = 0;       // endpoints per router
  int a = 0;       // routers per group
  int h = 0;       // global links per router
  int groups = 0;  // 0: a*h + 1 (every pair of groups joined once)

  template <class V>
  void fields(V& v) {
    v.req("p", p, "endpoints per router");
    v.req("a", a, "routers per group");
    v.req("h", h, "global links per router");
    v.opt("groups", groups, "number of groups; 0 = a*h+1");
  }
  int num_groups() const { return groups > 0 ? groups : a * h + 1; }
  void validate(config::Reader& r);
};

// Slim Fly on the McKay-Miller-Siran graph (Besta & Hoefler, SC'14): 2 q^2
// routers of network radix (3q - delta)/2, q = 4w + delta.
enum class MmsArithmetic { kGaloisField, kIntegerRing };
constexpr auto enum_names(MmsArithmetic) {
  return std::array{std::pair{MmsArithmetic::kGaloisField, std::string_view("galois_field")},
                    std::pair{MmsArithmetic::kIntegerRing, std::string_view("integer_ring")}};
}
struct SlimflyParams {
  int q = 0;  // MMS parameter; a prime power for the real construction
  int p = 0;  // endpoints per router; 0: ceil(network radix / 2)
  // galois_field: the MMS graph over GF(q) (diameter 2); q must be a prime
  // power. integer_ring: the same equations over Z/qZ with symmetric
  // generator sets, for q that are not prime powers (Table 3's q = 28): same
  // router count and degree, diameter not guaranteed to be 2.
  MmsArithmetic arithmetic = MmsArithmetic::kGaloisField;

  template <class V>
  void fields(V& v) {
    v.req("q", q, "MMS parameter (prime power for galois_field)");
    v.opt("p", p, "endpoints per router; 0 = ceil(network radix / 2)");
    v.opt("arithmetic", arithmetic, "galois_field or integer_ring");
  }
  int delta() const;          // q mod 4 mapped to -1, 0, 1
  int network_radix() const;  // (3q - delta) / 2
  int endpoints_per_router() const;
  void validate(config::Reader& r);
};

struct FabricSpec;
struct ClusterSpec;
// While reading: copy the named preset into switch_spec / node_spec so that
// the *_spec keys override single fields (out of line, see catalog.hpp).
void seed_switch_preset(FabricSpec& fabric);
void seed_node_preset(ClusterSpec& cluster);

struct FabricSpec {
  FabricKind kind = FabricKind::kFt2;
  std::string switch_model = "quantum2";  // key "switch"
  SwitchSpec switch_spec;                  // resolved switch (preset + overrides)
  int radix = 0;                           // 0: switch_spec.radix
  int planes = 1;                          // mpft only
  double oversubscription = 1.0;           // leaf down:up ratio; ft2, mpft, mrft, nvl72
  std::optional<DragonflyParams> dragonfly;
  std::optional<SlimflyParams> slimfly;
  LinkKind endpoint_link = LinkKind::kCopper;  // NIC-to-switch cables

  template <class V>
  void fields(V& v) {
    v.req("kind", kind, "ft2, ft3, mpft, mrft, dragonfly, slimfly, rail_only or nvl72");
    v.opt("switch", switch_model, "switch preset: " + switch_names());
    if constexpr (std::is_same_v<V, config::Reader>) seed_switch_preset(*this);
    v.opt("switch_spec", switch_spec, "overrides of the switch preset's fields");
    v.opt("radix", radix, "ports per switch; 0 = the switch's radix");
    v.opt("planes", planes, "mpft: number of planes");
    v.opt("oversubscription", oversubscription, "leaf down:up port ratio (1 = non-blocking)");
    v.opt("dragonfly", dragonfly, "dragonfly parameters (kind dragonfly only)");
    v.opt("slimfly", slimfly, "slim fly parameters (kind slimfly only)");
    v.opt("endpoint_link", endpoint_link, "NIC-to-switch cable: copper or optical");
  }
  int effective_radix() const { return radix > 0 ? radix : switch_spec.radix; }
  void validate(config::Reader& r);
};

struct ClusterSpec {
  // Out of line: GCC 12 reports a false -Wmaybe-uninitialized on the nested
  // preset strings when std::optional<ClusterSpec> is read with an inline one.
  ClusterSpec();

  std::string node = "h800";  // catalog preset
  NodeSpec node_spec;         // resolved node (preset + overrides)
  int nodes = 0;
  FabricSpec fabric;
  std::string prices;  // price list file, relative to the file that names it

  // Filled by validate(): the price list (built-in defaults when `prices` is
  // empty) and the resolved path of its file.
  PriceList price_list;
  std::string prices_path;

  template <class V>
  void fields(V& v) {
    v.opt("node", node, "node preset: " + node_names());
    if constexpr (std::is_same_v<V, config::Reader>) seed_node_preset(*this);
    v.opt("node_spec", node_spec, "overrides of the node preset's fields");
    v.req("nodes", nodes, "number of nodes");
    v.req("fabric", fabric, "the scale-out fabric");
    v.opt("prices", prices, "price list YAML (default: built-in, = scenarios/prices/default.yaml)");
  }
  int num_gpus() const { return nodes * node_spec.gpus; }
  int64_t num_endpoints() const {
    return static_cast<int64_t>(nodes) * node_spec.gpus * node_spec.nics_per_gpu * node_spec.nic_spec.ports;
  }
  void validate(config::Reader& r);
};

}  // namespace codesim::topology
