// File: topology/catalog.hpp
//
// The built-in hardware catalog: GPUs, NICs, nodes (servers) and fabric
// switches, each with the source of every figure in catalog.cpp. A scenario
// picks presets by name (`node: h800`, `switch: quantum2`) and may override
// any field of the preset (see topology/cluster.hpp), so the catalog holds
// defaults, never hard limits.
//
// Conventions (deepseek-v3-published.md, section 4):
//  * FLOP rates are dense Tensor-Core rates (datasheet sparse figure / 2).
//  * NVLink and NIC bandwidths are per direction. NVIDIA quotes NVLink as a
//    bidirectional aggregate: H800 "400 GB/s" = 200 GB/s per direction.
//  * Switch latencies are the published CPU-side end-to-end 64 B figures of
//    ISCA'25 Table 5 (T21); per-hop and host parts are derived from them by
//    per_hop_latency() / host_latency() below.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "sim/config.hpp"
#include "sim/units.hpp"

namespace codesim::topology {

struct GpuSpec {
  std::string name;
  FlopRate bf16_dense;             // dense BF16 Tensor-Core peak
  FlopRate fp8_dense;              // dense FP8 Tensor-Core peak
  Bytes hbm;                       // HBM capacity
  Bandwidth hbm_bandwidth;         // HBM bandwidth
  int sms = 0;                     // streaming multiprocessors
  Bandwidth nvlink_per_direction;  // scale-up bandwidth per GPU, one direction
  Bandwidth nvlink_achievable;     // what collectives reach in practice, one direction

  template <class V>
  void fields(V& v) {
    v.opt("name", name, "preset name");
    v.opt("bf16_dense", bf16_dense, "dense BF16 peak, e.g. 989TFLOPS");
    v.opt("fp8_dense", fp8_dense, "dense FP8 peak");
    v.opt("hbm", hbm, "HBM capacity, e.g. 80GB");
    v.opt("hbm_bandwidth", hbm_bandwidth, "HBM bandwidth, e.g. 3.35TB/s");
    v.opt("sms", sms, "streaming multiprocessors");
    v.opt("nvlink_per_direction", nvlink_per_direction, "NVLink per GPU, one direction");
    v.opt("nvlink_achievable", nvlink_achievable, "achievable NVLink per GPU, one direction");
  }
  // Every rate and size is a divisor somewhere: zero would be an infinitely
  // fast GPU, not a missing one.
  void validate(config::Reader& r) {
    r.check(bf16_dense > FlopRate{}, "bf16_dense", "expected a positive FLOP rate");
    r.check(fp8_dense > FlopRate{}, "fp8_dense", "expected a positive FLOP rate (a GPU without FP8: give its BF16 rate)");
    r.check(hbm > Bytes{}, "hbm", "expected a positive capacity");
    r.check(hbm_bandwidth > Bandwidth{}, "hbm_bandwidth", "expected a positive bandwidth");
    r.check(sms >= 1, "sms", "expected at least 1 SM, got " + std::to_string(sms));
    // NVLink may be absent (0: a one-GPU node; NodeSpec checks); achievable
    // 0 means the per-direction rate.
    r.check(nvlink_per_direction >= Bandwidth{}, "nvlink_per_direction", "expected a bandwidth >= 0");
    r.check(nvlink_achievable >= Bandwidth{} && nvlink_achievable <= nvlink_per_direction, "nvlink_achievable",
            "expected a bandwidth >= 0 (0: nvlink_per_direction), at most nvlink_per_direction");
  }
};

struct NicSpec {
  std::string name;
  Bandwidth port_bandwidth;  // per port, one direction (400 Gb/s = 50 GB/s)
  int ports = 1;
  Bandwidth effective_bandwidth;  // what EP all-to-all reaches per port (ISCA: 40 GB/s)

  template <class V>
  void fields(V& v) {
    v.opt("name", name, "preset name");
    v.opt("port_bandwidth", port_bandwidth, "per port, one direction, e.g. 400Gbps");
    v.opt("ports", ports, "ports per NIC");
    v.opt("effective_bandwidth", effective_bandwidth, "achievable per port, one direction");
  }
  void validate(config::Reader& r) {
    r.check(port_bandwidth > Bandwidth{}, "port_bandwidth", "expected a positive bandwidth");
    r.check(ports >= 1, "ports", "expected at least 1 port, got " + std::to_string(ports));
    r.check(effective_bandwidth > Bandwidth{} && effective_bandwidth <= port_bandwidth, "effective_bandwidth",
            "expected a positive bandwidth, at most port_bandwidth (what the all-to-all reaches of the line rate); "
            "got " + to_string(effective_bandwidth) + " against a port_bandwidth of " + to_string(port_bandwidth));
  }
};

struct SwitchSpec {
  std::string name;
  int radix = 0;             // ports at port_bandwidth
  Bandwidth port_bandwidth;  // one direction
  std::string link_layer;    // "infiniband" or "ethernet" (informational)
  Duration same_leaf_latency;   // end-to-end, CPU side, 64 B, both hosts on one leaf
  Duration cross_leaf_latency;  // same, through leaf-spine-leaf

  // A path through n switches has n + 1 switch-attached links: T(n) =
  // host + (n + 1) * per_hop. Same leaf is n = 1, cross leaf n = 3, so
  // per_hop = (cross - same) / 2 and host (both ends) = same - 2 * per_hop.
  // With IB 2.8/3.7 us: 0.45 us per hop, 1.9 us for the hosts.
  Duration per_hop_latency() const { return (cross_leaf_latency - same_leaf_latency) * 0.5; }
  Duration host_latency() const { return same_leaf_latency - per_hop_latency() * int64_t{2}; }

  template <class V>
  void fields(V& v) {
    v.opt("name", name, "preset name");
    v.opt("radix", radix, "ports");
    v.opt("port_bandwidth", port_bandwidth, "per port, one direction");
    v.opt("link_layer", link_layer, "infiniband or ethernet");
    v.opt("same_leaf_latency", same_leaf_latency, "end-to-end latency, hosts on one leaf");
    v.opt("cross_leaf_latency", cross_leaf_latency, "end-to-end latency across a spine");
  }
  void validate(config::Reader& r) {
    r.check(radix >= 2, "radix", "expected at least 2 ports, got " + std::to_string(radix));
    r.check(port_bandwidth > Bandwidth{}, "port_bandwidth", "expected a positive bandwidth");
    r.check(same_leaf_latency >= Duration::zero(), "same_leaf_latency", "expected a latency >= 0");
    r.check(cross_leaf_latency >= same_leaf_latency, "cross_leaf_latency",
            "expected a latency >= same_leaf_latency (a spine adds hops)");
  }
};

// A server (or, for GB200, a compute tray) as it is repeated in the cluster.
struct NodeSpec {
  std::string name;
  std::string gpu;  // GpuSpec preset
  GpuSpec gpu_spec;  // resolved GPU (the preset, with overrides)
  int gpus = 0;
  std::string nic;  // compute NIC preset, one per GPU
  NicSpec nic_spec;
  int nics_per_gpu = 1;
  Bandwidth pcie_per_direction;  // GPU <-> NIC path (PCIe Gen5 x16)
  int gpus_per_pcie_switch = 0;  // GPUs (and their NICs) behind one PCIe switch; 0: NIC hangs off the GPU
  std::string storage_nic;       // storage-plane NIC preset (not part of the compute fabric)
  int storage_nics = 0;
  int scale_up_gpus = 0;         // GPUs in one NVLink domain (8 for HGX, 72 for NVL72)
  Duration nvlink_latency;       // GPU -> NVSwitch -> GPU end-to-end (ISCA Tab. 5)

  // NIC ports per GPU: each its own endpoint on the fabric.
  int ports_per_gpu() const { return std::max(1, nics_per_gpu) * std::max(1, nic_spec.ports); }

  // Reading: naming a preset in `gpu` / `nic` first copies that preset into
  // gpu_spec / nic_spec, so the *_spec keys override single fields.
  template <class V>
  void fields(V& v);
  void validate(config::Reader& r);
};

// Presets. find_* returns nullptr for an unknown name; *_names() lists the
// valid ones for error messages.
const GpuSpec* find_gpu(std::string_view name);
const NicSpec* find_nic(std::string_view name);
const SwitchSpec* find_switch(std::string_view name);
const NodeSpec* find_node(std::string_view name);
std::string gpu_names();
std::string nic_names();
std::string switch_names();
std::string node_names();

// While reading: copy the preset named by node.gpu / node.nic into
// gpu_spec / nic_spec (out of line: keeps GCC's -Wmaybe-uninitialized quiet).
void seed_gpu_preset(NodeSpec& node);
void seed_nic_preset(NodeSpec& node);

template <class V>
void NodeSpec::fields(V& v) {
  constexpr bool kReading = std::is_same_v<V, config::Reader>;
  v.opt("name", name, "preset name");
  v.opt("gpu", gpu, "GPU preset: " + gpu_names());
  if constexpr (kReading) seed_gpu_preset(*this);
  v.opt("gpu_spec", gpu_spec, "overrides of the GPU preset's fields");
  v.opt("gpus", gpus, "GPUs per node");
  v.opt("nic", nic, "compute NIC preset: " + nic_names());
  if constexpr (kReading) seed_nic_preset(*this);
  v.opt("nic_spec", nic_spec, "overrides of the NIC preset's fields");
  v.opt("nics_per_gpu", nics_per_gpu, "compute NICs per GPU");
  v.opt("pcie_per_direction", pcie_per_direction, "GPU <-> NIC PCIe bandwidth, one direction");
  v.opt("gpus_per_pcie_switch", gpus_per_pcie_switch,
        "GPUs (with their NICs) per PCIe switch; 0 = NIC attached to the GPU directly");
  v.opt("storage_nic", storage_nic, "storage-plane NIC preset (not in the compute fabric)");
  v.opt("storage_nics", storage_nics, "storage NICs per node");
  v.opt("scale_up_gpus", scale_up_gpus, "GPUs per NVLink domain");
  v.opt("nvlink_latency", nvlink_latency, "GPU -> NVSwitch -> GPU latency");
}

}  // namespace codesim::topology
