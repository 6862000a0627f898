// File: topology/cost.hpp
//
// The cost of a generated fabric, computed by walking its graph: every switch
// vertex and every edge is priced by what it is (switch model, link kind),
// never by a closed formula of the fabric's parameters.
//
// Two totals, because the paper's Table 3 (T11) prices only the fabric:
//  * fabric_usd(): switches + switch-to-switch cables. This is what Table 3's
//    "Cost" and "Cost/Endpoint" compare (its "Links" row also counts only
//    switch-to-switch links), following the Slim Fly cost methodology
//    (Blach et al., NSDI'24; Besta & Hoefler, SC'14): routers plus
//    inter-router cables, electrical where short and optical otherwise.
//  * total_usd(): the fabric plus the endpoint side (NICs, NIC-to-switch
//    cables, GPUs and servers), the same per endpoint in every fabric.
//
// Prices are plain US dollars (`*_usd` keys). Defaults live in PriceList's
// initializers and, identically, in scenarios/prices/default.yaml; a test
// checks that the two agree.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "sim/config.hpp"
#include "topology/fabric.hpp"

namespace codesim::topology {

struct LinkPrice {
  double cable_usd = 0;        // the cable itself
  int transceivers = 0;        // optical modules per cable (2: one at each end)
  double transceiver_usd = 0;  // per module
  double usd() const { return cable_usd + transceivers * transceiver_usd; }

  template <class V>
  void fields(V& v) {
    v.opt("cable_usd", cable_usd, "cable price, USD");
    v.opt("transceivers", transceivers, "optical modules per cable");
    v.opt("transceiver_usd", transceiver_usd, "price per optical module, USD");
  }
  void validate(config::Reader& r);
};

// The default prices. See scenarios/prices/default.yaml for the derivation:
// ISCA'25 Table 3 prints no unit prices, so the switch and cable prices are
// fitted to its five cost columns (T11); the other items are rough list
// prices, used only in total_usd().
struct PriceList {
  std::string description;
  // Per switch, by catalog preset name (topology/catalog.hpp).
  std::map<std::string, double> switch_usd = {{"quantum2", 82'600}, {"sn5600", 82'600}};
  LinkPrice copper{400, 0, 0};    // passive copper (DAC), short reach
  LinkPrice optical{50, 2, 240};  // fibre + a transceiver at each end
  std::map<std::string, double> nic_usd = {
      {"cx7_ib_400g", 2'000}, {"cx7_roce_400g", 2'000}, {"cx8_800g", 3'000}};
  std::map<std::string, double> gpu_usd = {{"h800_sxm", 30'000}, {"h100_sxm", 30'000},
                                           {"h200_sxm", 32'000}, {"b200", 40'000},
                                           {"gb200", 45'000}};
  double node_usd = 50'000;  // a server without its GPUs and NICs (CPUs, DRAM, NVSwitch board)

  template <class V>
  void fields(V& v) {
    v.opt("description", description, "where the prices come from");
    v.opt("switch_usd", switch_usd, "price per switch, by switch preset");
    v.opt("copper", copper, "copper cable");
    v.opt("optical", optical, "optical cable with its transceivers");
    v.opt("nic_usd", nic_usd, "price per NIC, by NIC preset");
    v.opt("gpu_usd", gpu_usd, "price per GPU, by GPU preset");
    v.opt("node_usd", node_usd, "server without GPUs and NICs");
  }
  void validate(config::Reader& r);
};

// Reads a price list file strictly (unknown keys, wrong types are errors).
bool load_prices(const std::string& path, PriceList& out, config::Diagnostics& diags);

struct CostBreakdown {
  double switches_usd = 0;
  double switch_links_usd = 0;    // switch-to-switch cables
  double endpoint_links_usd = 0;  // NIC-to-switch cables
  double nics_usd = 0;
  double gpus_usd = 0;
  double nodes_usd = 0;
  int64_t copper_switch_links = 0;
  int64_t optical_switch_links = 0;
  // Switch price scale when the fabric's switches run at another port speed
  // than their catalog preset (e.g. 800G ports on a 400G preset): the price
  // list's price per switch times speed / preset speed, i.e. the same
  // dollars per port-Gb/s as the preset. An assumption (no published 800G
  // switch prices); 1 when the speed is the preset's. A radix override
  // keeps the preset's price per switch.
  double switch_price_scale = 1.0;

  double fabric_usd() const { return switches_usd + switch_links_usd; }
  double total_usd() const {
    return fabric_usd() + endpoint_links_usd + nics_usd + gpus_usd + nodes_usd;
  }
};

// Prices `fabric` with `prices`. Returns nothing and sets `error` when a
// device in the graph has no price (e.g. a switch model missing from the list).
std::optional<CostBreakdown> price_fabric(const Fabric& fabric, const PriceList& prices,
                                          std::string& error);

}  // namespace codesim::topology
