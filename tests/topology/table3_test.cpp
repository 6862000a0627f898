// ISCA'25 (arXiv:2505.09343) Table 3, reproduced from the bundled scenario
// files scenarios/paper/table3-*.yaml:
//  * T10: endpoints / switches / links (switch-to-switch) exactly;
//  * T11: cost [M$] and cost per endpoint [k$] within 3%. The paper prints
//    no unit prices; scenarios/prices/default.yaml fits switch, copper and
//    optical prices to these columns (see its comments), so 3% is the
//    tolerance the task sets for a fitted three-price model over ten
//    printed, rounded figures ("9" M$ alone carries +-5% rounding).
#include <gtest/gtest.h>

#include <cmath>

#include "topology/cluster.hpp"
#include "topology/cost.hpp"
#include "topology/generators.hpp"
#include "topology/stats.hpp"

namespace codesim::topology {
namespace {

// The top-level keys of a Table 3 scenario file (a subset of
// scenarios::Scenario, which lives in a later layer).
struct Table3File {
  std::string name;
  std::string description;
  ClusterSpec cluster;
  template <class V>
  void fields(V& v) {
    v.req("name", name);
    v.opt("description", description);
    v.req("cluster", cluster);
  }
};

struct Published {
  const char* file;
  int64_t endpoints, switches, links;
  double cost_musd, cost_per_endpoint_kusd;
};

class Table3 : public ::testing::TestWithParam<Published> {};

TEST_P(Table3, CountsExactCostWithinThreePercent) {
  const Published p = GetParam();
  Table3File t;
  config::Diagnostics d;
  ASSERT_TRUE(config::load(std::string(CODESIM_SOURCE_DIR) + "/scenarios/paper/" + p.file, {}, t, d)) << d.str();
  const Fabric f = build_fabric(t.cluster, t.name);
  const FabricStats s = compute_stats(f);
  EXPECT_EQ(s.endpoints, p.endpoints);
  EXPECT_EQ(s.switches, p.switches);
  EXPECT_EQ(s.switch_links, p.links);
  std::string error;
  const auto cost = price_fabric(f, t.cluster.price_list, error);
  ASSERT_TRUE(cost) << error;
  const double musd = cost->fabric_usd() / 1e6;
  const double kusd_per_ep = cost->fabric_usd() / static_cast<double>(s.endpoints) / 1e3;
  EXPECT_NEAR(musd / p.cost_musd, 1.0, 0.03) << musd << " M$";
  EXPECT_NEAR(kusd_per_ep / p.cost_per_endpoint_kusd, 1.0, 0.03) << kusd_per_ep << " k$";
  RecordProperty("cost_musd", std::to_string(musd));
  RecordProperty("cost_per_endpoint_kusd", std::to_string(kusd_per_ep));
  RecordProperty("diameter", s.diameter);
}

// T10 / T11, ISCA'25 Table 3 (see ../shared/reference/deepseek-v3-published.md).
INSTANTIATE_TEST_SUITE_P(
    Isca25, Table3,
    ::testing::Values(Published{"table3-ft2.yaml", 2048, 96, 2048, 9, 4.39},
                      Published{"table3-mpft.yaml", 16384, 768, 16384, 72, 4.39},
                      Published{"table3-ft3.yaml", 65536, 5120, 131072, 491, 7.5},
                      Published{"table3-slimfly.yaml", 32928, 1568, 32928, 146, 4.4},
                      Published{"table3-dragonfly.yaml", 261632, 16352, 384272, 1522, 5.8}),
    [](const auto& test_param) {
      std::string n = test_param.param.file;
      n = n.substr(7, n.size() - 12);  // table3-XXX.yaml -> XXX
      return n;
    });

TEST(Prices, DefaultFileEqualsBuiltInDefaults) {
  PriceList file, built_in;
  config::Diagnostics d;
  ASSERT_TRUE(load_prices(std::string(CODESIM_SOURCE_DIR) + "/scenarios/prices/default.yaml", file, d)) << d.str();
  EXPECT_EQ(file.switch_usd, built_in.switch_usd);
  EXPECT_EQ(file.nic_usd, built_in.nic_usd);
  EXPECT_EQ(file.gpu_usd, built_in.gpu_usd);
  EXPECT_EQ(file.copper.usd(), built_in.copper.usd());
  EXPECT_EQ(file.optical.usd(), built_in.optical.usd());
  EXPECT_EQ(file.node_usd, built_in.node_usd);
}

TEST(Prices, CostIsAWalkOverTheGraph) {
  // k = 8 FT2 with 4 nodes: 12 switches, 32 optical switch links, 32 copper
  // NIC cables, 32 NICs, 32 GPUs, 4 servers.
  ClusterSpec c;
  config::Diagnostics d;
  ASSERT_TRUE(config::load_text("nodes: 4\nfabric: {kind: ft2, radix: 8}\n", "t.yaml", c, d)) << d.str();
  const Fabric f = build_fabric(c, "ft2");
  std::string error;
  PriceList p;
  const auto cost = price_fabric(f, p, error);
  ASSERT_TRUE(cost) << error;
  EXPECT_DOUBLE_EQ(cost->switches_usd, 12 * 82'600.0);
  EXPECT_DOUBLE_EQ(cost->switch_links_usd, 32 * (50 + 2 * 240.0));
  EXPECT_EQ(cost->optical_switch_links, 32);
  EXPECT_DOUBLE_EQ(cost->endpoint_links_usd, 32 * 400.0);
  EXPECT_DOUBLE_EQ(cost->nics_usd, 32 * 2'000.0);
  EXPECT_DOUBLE_EQ(cost->gpus_usd, 32 * 30'000.0);
  EXPECT_DOUBLE_EQ(cost->nodes_usd, 4 * 50'000.0);
  p.switch_usd.erase("quantum2");
  EXPECT_FALSE(price_fabric(f, p, error));
  EXPECT_NE(error.find("no switch price for 'quantum2'"), std::string::npos);
}

}  // namespace
}  // namespace codesim::topology
