// codesim init [FILE]: writes a commented example scenario to start from.
// The example uses only sections that scenarios/scenario.hpp reads, and
// tests/cli/init_check.sh checks that `codesim check` accepts it.
#include <filesystem>
#include <iostream>
#include <string_view>

#include "cli/commands.hpp"
#include "reports/output.hpp"

namespace codesim::cli {

namespace {

constexpr std::string_view kExample = R"(# A codesim scenario. Check it with `codesim check FILE`, print it fully
# resolved (defaults filled in) with `codesim show FILE`, and change any key
# from the command line with --set, e.g. --set cluster.nodes=128.
#
# Rules: unknown keys are errors; every dimensioned value carries its unit
# ("400Gbps", "50GB/s", "1.5us", "80GiB"; KB/MB/GB are powers of 1000,
# KiB/MiB/GiB powers of 1024). A mapping may pull in other files with
# `include: other.yaml` (paths relative to this file); the keys written here
# then override the included ones.

name: my-cluster                      # short name, used in tables and file names
description: "256 H800 nodes on a two-layer fat tree, and the decode speed limit over their NICs"

# The cluster: which node, how many, and the scale-out fabric that joins them
# (codesim topology). See scenarios/paper/table3-*.yaml for the five fabrics of
# ISCA'25 Table 3.
cluster:
  node: h800                          # catalog preset: 8 x H800, one 400G CX7 NIC per GPU
  # node_spec:                        # override single fields of the preset, e.g.
  #   pcie_per_direction: 64GB/s
  nodes: 256                          # 256 x 8 = 2,048 GPUs (the DeepSeek-V3 cluster)
  fabric:
    kind: ft2                         # ft2 ft3 mpft mrft dragonfly slimfly rail_only nvl72
    switch: quantum2                  # 64-port 400G InfiniBand switch (catalog preset)
    # planes: 8                       # mpft only: independent fat-tree planes
    # oversubscription: 1.0           # leaf down:up port ratio (1 = non-blocking)
  # prices: prices.yaml               # optional price list; default: built-in
                                      # (= scenarios/prices/default.yaml)

# The decode speed limit of ISCA'25 Sec. 2.3.2: how fast one token can go
# through all layers when the EP all-to-all is the only cost (codesim serve).
decode_limit:
  tokens_per_device: 32               # tokens each device processes per micro-batch
  experts_per_token: 9                # 8 routed + 1 shared, each on another device
  hidden: 7000                        # hidden size in the estimate (the paper's "7K")
  dispatch_bytes_per_value: 1B        # FP8 dispatch
  combine_bytes_per_value: 2B         # BF16 combine
  bandwidth: 50GB/s                   # per device, one direction (400 Gb/s CX7)
  micro_batches: 2                    # dual micro-batch overlap
  layers: 61

# How a training job is split over the GPUs (codesim train): the DeepSeek-V3
# plan of its technical report. PP x DP = GPUs (16 x 128 = 2,048); EP groups
# are carved out of the DP ranks. codesim train also needs a `training:`
# section naming the model file (see scenarios/paper/v3-train-2048-h800-mpft.yaml).
plan:
  pipeline:
    degree: 16                        # pipeline ranks (dualpipev: 2 stages each)
    schedule: dualpipe                # 1f1b, zb1p, 1f1b-interleaved, dualpipe or dualpipev
  expert:
    degree: 64                        # 64-way expert parallelism over 8 nodes
    nodes_per_group: 8
    max_nodes_per_token: 4            # node-limited routing
  data:
    degree: 128
    zero_stage: 1
  batch:
    micro_batch: 1                    # sequences per micro-batch
    global_batch: 15360               # sequences per step
    sequence_length: 4096
  precision:
    gemm: fp8                         # bf16 or fp8 linear layers
  comm_sms: 20                        # SMs reserved for communication kernels

# How communication is routed when codesim replays it on the fabric (the
# training step's all-to-alls, PP and DP rings; codesim net).
network:
  routing: adaptive                   # ecmp, adaptive, spray or dmodk

# More sections (a serving deployment with its model, traffic and SLOs; a
# network experiment) are shown in scenarios/paper/v3-serve-day6.yaml and
# the other files of scenarios/paper/.
)";

}  // namespace

void register_init_commands(CLI::App& app, GlobalOptions& global) {
  auto* init = app.add_subcommand("init", "Write a commented example scenario to start from")
                   ->footer(
                       "Examples:\n"
                       "  codesim init                  # writes scenario.yaml\n"
                       "  codesim init my-cluster.yaml\n"
                       "  codesim init - | less         # print it instead\n"
                       "  codesim init my-cluster.yaml --force   # replace an existing file");
  static std::string file = "scenario.yaml";
  static bool force = false;
  init->add_option("file", file, "Where to write it ('-' for stdout; default scenario.yaml)");
  init->add_flag("-f,--force", force, "Replace FILE if it exists");
  init->callback([&global] {
    if (file == "-") {
      std::cout << kExample;
      global.exit_code = 0;
      return;
    }
    std::error_code ec;
    if (!force && std::filesystem::exists(file, ec)) {
      std::cerr << "codesim init: " << file << " already exists; use --force to replace it\n";
      global.exit_code = 1;
      return;
    }
    std::string error;
    if (!reports::write_file_atomic(file, kExample, error)) {
      std::cerr << "codesim init: " << error << "\n";
      global.exit_code = 1;
      return;
    }
    if (!global.quiet) std::cerr << "wrote " << file << "; check it with: codesim check " << file << "\n";
    global.exit_code = 0;
  });
}

}  // namespace codesim::cli
