#include "topology/cost.hpp"

#include "topology/catalog.hpp"

#include <algorithm>

namespace codesim::topology {

void LinkPrice::validate(config::Reader& r) {
  r.check(cable_usd >= 0, "cable_usd", "expected a non-negative price");
  r.check(transceivers >= 0, "transceivers", "expected a non-negative count");
  r.check(transceiver_usd >= 0, "transceiver_usd", "expected a non-negative price");
}

void PriceList::validate(config::Reader& r) {
  for (const auto* m : {&switch_usd, &nic_usd, &gpu_usd})
    for (const auto& [name, usd] : *m)
      r.check(usd >= 0, m == &switch_usd ? "switch_usd" : m == &nic_usd ? "nic_usd" : "gpu_usd",
              "expected non-negative prices; '" + name + "' is " + std::to_string(usd));
  r.check(node_usd >= 0, "node_usd", "expected a non-negative price");
}

bool load_prices(const std::string& path, PriceList& out, config::Diagnostics& diags) {
  return config::load(path, {}, out, diags);
}

std::optional<CostBreakdown> price_fabric(const Fabric& fabric, const PriceList& prices, std::string& error) {
  auto lookup = [&](const std::map<std::string, double>& m, const std::string& name, const char* what,
                    double& out) {
    auto it = m.find(name);
    if (it == m.end()) {
      error = std::string("the price list has no ") + what + " price for '" + name + "'";
      return false;
    }
    out = it->second;
    return true;
  };
  const Graph& g = fabric.graph;
  int64_t switches = 0, nics = 0, gpus = 0;
  for (auto v : boost::make_iterator_range(boost::vertices(g))) {
    switch (g[v].kind) {
      case DeviceKind::kSwitch: ++switches; break;
      case DeviceKind::kNic: ++nics; break;
      case DeviceKind::kGpu: ++gpus; break;
      default: break;  // NVSwitch and PCIe switches are part of the server
    }
  }
  double switch_usd = 0, nic_usd = 0, gpu_usd = 0;
  if (switches > 0 && !lookup(prices.switch_usd, fabric.switch_model, "switch", switch_usd)) return std::nullopt;
  if (nics > 0 && !lookup(prices.nic_usd, fabric.nic_model, "NIC", nic_usd)) return std::nullopt;
  if (gpus > 0 && !lookup(prices.gpu_usd, fabric.gpu_model, "GPU", gpu_usd)) return std::nullopt;

  CostBreakdown c;
  if (const SwitchSpec* preset = find_switch(fabric.switch_model);
      preset && preset->port_bandwidth.bytes_per_second() > 0 &&
      fabric.switch_port_bandwidth.bytes_per_second() > 0)
    c.switch_price_scale =
        fabric.switch_port_bandwidth.bytes_per_second() / preset->port_bandwidth.bytes_per_second();
  c.switches_usd = switch_usd * c.switch_price_scale * static_cast<double>(switches);
  // A multi-port NIC appears as one vertex per port; price whole NICs.
  c.nics_usd = nic_usd * static_cast<double>(nics) / std::max(1, fabric.ports_per_nic);
  c.gpus_usd = gpu_usd * static_cast<double>(gpus);
  c.nodes_usd = prices.node_usd * static_cast<double>(fabric.nodes);
  for (auto e : boost::make_iterator_range(boost::edges(g))) {
    const DeviceKind a = g[boost::source(e, g)].kind, b = g[boost::target(e, g)].kind;
    const bool a_sw = a == DeviceKind::kSwitch, b_sw = b == DeviceKind::kSwitch;
    if (!a_sw && !b_sw) continue;  // NVLink and PCIe: on the board, in the server price
    const LinkKind kind = g[e].kind;
    const double usd = kind == LinkKind::kOptical ? prices.optical.usd()
                       : kind == LinkKind::kCopper ? prices.copper.usd()
                                                   : 0.0;
    if (a_sw && b_sw) {
      c.switch_links_usd += usd;
      (kind == LinkKind::kOptical ? c.optical_switch_links : c.copper_switch_links) += 1;
    } else {
      c.endpoint_links_usd += usd;
    }
  }
  return c;
}

}  // namespace codesim::topology
