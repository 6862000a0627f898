// The built-in presets. Every figure names its source; tags as in
// ../shared/reference/deepseek-v3-published.md: [P] primary document,
// [D] derived from primary numbers (arithmetic shown), [S] secondary source,
// [U] uncertain. "ref §4" is section 4 (hardware table) of that file.
#include "topology/catalog.hpp"

#include <array>

namespace codesim::topology {
namespace {

const std::vector<GpuSpec>& gpus() {
  static const std::vector<GpuSpec> list = {
      // H800 SXM5: BF16 989 TFLOPS dense (ISCA Tab. 4: 385 TFLOPS / 38.94% MFU = 988.7 [D];
      // FlashMLA deep-dive "990 TFlops" [P]); FP8 = 2 x BF16 [D][S]; 80 GB HBM3 at 3.35 TB/s
      // (FlashMLA deep-dive [P]; CUDA reports 84,943,110,144 B in profile-data train.json);
      // 132 SMs (train.json deviceProperties [P]); NVLink "400 GB/s" bidirectional (ISCA 4.1
      // [P]) = 200 GB/s per direction (ISCA 4.3 [P]), ~160 GB/s achievable (TR 3.2.2 [P]).
      {"h800_sxm", TFlops(989), TFlops(1979), GB(80), TBps(3.35), 132, GBps(200), GBps(160)},
      // H100 SXM5: same compute and memory as H800 (ref §4 [S]); NVLink4 900 GB/s bidirectional
      // = 450 per direction (ISCA 4.1 "reduced from 900 GB/s" [P]). Achievable: the H800
      // ratio 160/200 = 0.8 applied [D][U].
      {"h100_sxm", TFlops(989), TFlops(1979), GB(80), TBps(3.35), 132, GBps(450), GBps(360)},
      // H200 SXM: 141 GB HBM3e at 4.8 TB/s, compute as H100 (ref §4 [S]); achievable 0.8 x [D][U].
      {"h200_sxm", TFlops(989), TFlops(1979), GB(141), TBps(4.8), 132, GBps(450), GBps(360)},
      // B200 (HGX, ~1000 W): ~2.25 PFLOPS BF16 / ~4.5 PFLOPS FP8 dense, ~180 GB HBM3e at
      // ~8 TB/s, NVLink5 1.8 TB/s bidirectional (ref §4 [S][U]); 148 SMs [S][U].
      {"b200", PFlops(2.25), PFlops(4.5), GB(180), TBps(8), 148, GBps(900), GBps(720)},
      // GB200 (per GPU in NVL72, ~1200 W): ~2.5 / ~5 PFLOPS dense, ~186 GB (13.4 TB / 72),
      // ~8 TB/s (ref §4 [S][U]); NVLink 900 GB/s unidirectional (ISCA 2.3.2 [P]); 148 SMs [S][U].
      {"gb200", PFlops(2.5), PFlops(5), GB(186), TBps(8), 148, GBps(900), GBps(720)},
  };
  return list;
}

const std::vector<NicSpec>& nics() {
  static const std::vector<NicSpec> list = {
      // ConnectX-7, 400 Gb/s NDR InfiniBand, one port = 50 GB/s per direction; DeepSeek uses
      // 40 GB/s as effective EP bandwidth (ISCA 4.3 [P]).
      {"cx7_ib_400g", Gbps(400), 1, GBps(40)},
      // ConnectX-7 as 400 GbE RoCE: the storage-plane NIC of the H800 node (ISCA 5.1 [P]).
      // Effective rate assumed as for IB [U].
      {"cx7_roce_400g", Gbps(400), 1, GBps(40)},
      // ConnectX-8: 800 Gb/s class, "natively supports four plane" (ISCA 5.1 [P]); modelled as
      // 4 ports of 200 Gb/s, one per plane [S][U]; effective 0.8 x [D][U].
      {"cx8_800g", Gbps(200), 4, GBps(20)},
  };
  return list;
}

const std::vector<SwitchSpec>& switches() {
  static const std::vector<SwitchSpec> list = {
      // NVIDIA Quantum-2 QM9700: 32 OSFP cages, each 2 logical 400 Gb/s ports = 64 x 400G
      // (docs.nvidia.com QM97X0PUB/Interfaces [P]; ISCA "64-port 400G IB switches" [P]).
      // Latency: IB 2.8 us same leaf, 3.7 us cross leaf (ISCA Tab. 5 [P], T21).
      {"quantum2", 64, Gbps(400), "infiniband", Nanoseconds(2800), Nanoseconds(3700)},
      // NVIDIA Spectrum-4 SN5600: 128 x 400GbE (docs.nvidia.com sn5000/data+interfaces [P];
      // ISCA "128 ports commonly found in RoCE switches" [P]). Latency: RoCE 3.6 / 5.6 us
      // (ISCA Tab. 5 [P], T21).
      {"sn5600", 128, Gbps(400), "ethernet", Nanoseconds(3600), Nanoseconds(5600)},
  };
  return list;
}

// PCIe Gen5 x16: 32 GT/s x 16 lanes x 128/130 / 8 = 63.0 GB/s; ISCA 6 treats a lane as
// ~4 GB/s per direction (160 lanes > 640 GB/s [P]), so x16 = 64 GB/s [D].
constexpr Bandwidth kPcieGen5x16 = GBps(64);

NodeSpec make_node(std::string name, std::string gpu, int n_gpus, std::string nic, int per_pcie,
                   int scale_up) {
  NodeSpec n;
  n.name = std::move(name);
  n.gpu = std::move(gpu);
  n.gpu_spec = *find_gpu(n.gpu);
  n.gpus = n_gpus;
  n.nic = std::move(nic);
  n.nic_spec = *find_nic(n.nic);
  n.nics_per_gpu = 1;
  n.pcie_per_direction = kPcieGen5x16;
  n.gpus_per_pcie_switch = per_pcie;
  n.storage_nic = "cx7_roce_400g";
  n.storage_nics = 1;
  n.scale_up_gpus = scale_up;
  // NVLink 64 B end-to-end, CPU side: 3.33 us (ISCA Tab. 5 [P], T21). Measured on H800; reused
  // for the other nodes for lack of a published figure [U].
  n.nvlink_latency = Nanoseconds(3330);
  return n;
}

const std::vector<NodeSpec>& nodes() {
  // H800 node: 8 GPUs, 8 x 400G CX7 IB NICs (one per GPU), a 400G RoCE storage NIC (ISCA 4.1,
  // 5.1 [P]); PCIe Gen5 (ISCA 6 [P]). Two GPUs and their two NICs share one PCIe switch as in
  // the HGX H100 board (ISCA Fig. 2 content unavailable, so [S][U]).
  static const std::vector<NodeSpec> list = {
      make_node("h800", "h800_sxm", 8, "cx7_ib_400g", 2, 8),
      make_node("h100", "h100_sxm", 8, "cx7_ib_400g", 2, 8),  // HGX H100 [S]
      make_node("h200", "h200_sxm", 8, "cx7_ib_400g", 2, 8),  // HGX H200 [S]
      make_node("b200", "b200", 8, "cx7_ib_400g", 2, 8),      // HGX/DGX B200, 8 x CX7 [S][U]
      // GB200 NVL72: 18 compute trays of 4 GPUs in one 72-GPU NVLink domain (ref §4 [S]); one
      // 400G CX7 per GPU behind the Grace host, no separate PCIe switch modelled [S][U].
      make_node("gb200_nvl72", "gb200", 4, "cx7_ib_400g", 0, 72),
  };
  return list;
}

template <class T>
const T* find_in(const std::vector<T>& list, std::string_view name) {
  for (const auto& x : list)
    if (x.name == name) return &x;
  return nullptr;
}
template <class T>
std::string names_of(const std::vector<T>& list) {
  std::string s;
  for (const auto& x : list) s += (s.empty() ? "" : ", ") + x.name;
  return s;
}

}  // namespace

const GpuSpec* find_gpu(std::string_view name) { return find_in(gpus(), name); }
const NicSpec* find_nic(std::string_view name) { return find_in(nics(), name); }
const SwitchSpec* find_switch(std::string_view name) { return find_in(switches(), name); }
const NodeSpec* find_node(std::string_view name) { return find_in(nodes(), name); }
std::string gpu_names() { return names_of(gpus()); }
std::string nic_names() { return names_of(nics()); }
std::string switch_names() { return names_of(switches()); }
std::string node_names() { return names_of(nodes()); }

void seed_gpu_preset(NodeSpec& node) {
  if (const GpuSpec* p = find_gpu(node.gpu); p && node.gpu_spec.name != node.gpu) node.gpu_spec = *p;
}
void seed_nic_preset(NodeSpec& node) {
  if (const NicSpec* p = find_nic(node.nic); p && node.nic_spec.name != node.nic) node.nic_spec = *p;
}

void NodeSpec::validate(config::Reader& r) {
  r.check(find_gpu(gpu) != nullptr, "gpu", "unknown GPU preset '" + gpu + "'; valid: " + gpu_names());
  r.check(find_nic(nic) != nullptr, "nic", "unknown NIC preset '" + nic + "'; valid: " + nic_names());
  r.check(storage_nic.empty() || find_nic(storage_nic) != nullptr, "storage_nic",
          "unknown NIC preset '" + storage_nic + "'; valid: " + nic_names());
  r.check(gpus > 0, "gpus", "expected at least 1 GPU per node, got " + std::to_string(gpus));
  if (gpus <= 0) return;
  r.check(nics_per_gpu >= 1, "nics_per_gpu", "expected at least 1 NIC per GPU");
  r.check(nic_spec.ports >= 1, "nic_spec", "expected a NIC with at least 1 port");
  r.check(gpus_per_pcie_switch >= 0 && (gpus_per_pcie_switch == 0 || gpus % gpus_per_pcie_switch == 0),
          "gpus_per_pcie_switch",
          "expected 0 or a divisor of gpus (" + std::to_string(gpus) + "), got " +
              std::to_string(gpus_per_pcie_switch));
  r.check(scale_up_gpus >= gpus && scale_up_gpus % gpus == 0,
          "scale_up_gpus",
          "expected a multiple of gpus per node (" + std::to_string(gpus) + "), got " +
              std::to_string(scale_up_gpus));
  r.check(pcie_per_direction > Bandwidth{}, "pcie_per_direction", "expected a positive bandwidth");
  r.check(gpus <= 1 || gpu_spec.nvlink_per_direction > Bandwidth{}, "gpu_spec.nvlink_per_direction",
          "a node of " + std::to_string(gpus) + " GPUs needs NVLink between them: expected a positive bandwidth");
}

}  // namespace codesim::topology
