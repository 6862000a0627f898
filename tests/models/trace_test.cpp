// The codesim trace format (models/TRACE_FORMAT.md): round trip, strict
// validation with JSON-pointer errors, EP byte matrices on hand-checked
// cases, routing statistics, and the full-size scaler.
#include "models/trace.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "models/counts.hpp"
#include "models/model_io.hpp"
#include "models/op_list.hpp"
#include "models/transformer.hpp"
#include "tests/models/test_support.hpp"

namespace codesim::models {
namespace {

using test_support::load;

// 4 tokens, 4 experts on 4 GPUs in 2 nodes (2 GPUs each), top-2.
LayerRouting small_routing() {
  LayerRouting r;
  r.layer = "layer.1";
  r.n_experts = 4;
  r.top_k = 2;
  r.n_tokens = 4;
  r.experts = {0, 1,   // token 0 (GPU 0): GPUs 0,1 -> node 0 only
               0, 2,   // token 1 (GPU 1): GPUs 0,2 -> nodes 0,1
               2, 3,   // token 2 (GPU 2): GPUs 2,3 -> node 1
               1, 1};  // token 3 (GPU 3): expert 1 twice counts one copy
  return r;
}

ExpertPlacement four_gpus() {
  ExpertPlacement p;
  p.n_gpus = 4;
  p.gpus_per_node = 2;
  p.expert_gpu = {0, 1, 2, 3};
  return p;
}

TEST(EpTraffic, HandCheckedMatrices) {
  const EpTraffic e = compute_ep_traffic(small_routing(), four_gpus(), B(10), B(20));
  ASSERT_EQ(e.n_gpus, 4);
  ASSERT_EQ(e.n_nodes, 2);
  // dispatch_gpu[src][dst]: t0 0->0, 0->1; t1 1->0, 1->2; t2 2->2, 2->3; t3 3->1.
  const std::vector<uint64_t> want_gpu = {10, 10, 0, 0,  //
                                          10, 0, 10, 0,  //
                                          0, 0, 10, 10,  //
                                          0, 10, 0, 0};
  EXPECT_EQ(e.dispatch_gpu, want_gpu);
  // combine is the transpose at 20 B per copy.
  for (int s = 0; s < 4; ++s)
    for (int d = 0; d < 4; ++d)
      EXPECT_EQ(e.at(e.combine_gpu, 4, d, s), 2 * e.at(e.dispatch_gpu, 4, s, d));
  // Nodes: t0 0->0; t1 0->0, 0->1; t2 1->1; t3 1->0.
  EXPECT_EQ(e.dispatch_node, (std::vector<uint64_t>{20, 10, 10, 10}));
}

TEST(RoutingStats, LoadAndNodesPerToken) {
  const RoutingStats s = routing_stats(small_routing(), four_gpus());
  // Loads: e0 2, e1 3, e2 2, e3 1 over 8 assignments.
  EXPECT_DOUBLE_EQ(s.load_fraction[1], 3.0 / 8.0);
  EXPECT_DOUBLE_EQ(s.max_over_mean_load, 3.0 / 2.0);
  // Nodes per token: 1, 2, 1, 1.
  EXPECT_DOUBLE_EQ(s.nodes_per_token[1], 0.75);
  EXPECT_DOUBLE_EQ(s.nodes_per_token[2], 0.25);
  EXPECT_DOUBLE_EQ(s.mean_nodes_per_token, 1.25);
}

Trace sample_trace() {
  OpListOptions o;
  o.seq_len = 64;
  Trace t = trace_from_op_list(load("tiny-deepseek.yaml"), o);
  LayerRouting r = small_routing();
  r.weights = {0.5f, 0.5f, 1.f, 1.f, 1.f, 1.f, 2.f, 0.f};
  t.routing.push_back(r);
  t.placement = four_gpus();
  t.traffic.push_back(compute_ep_traffic(r, *t.placement, B(10), B(20)));
  t.layers[2].measured.assign(t.layers[2].ops.size(), Microseconds(3));
  return t;
}

TEST(TraceFormat, RoundTripsThroughAFile) {
  const Trace t = sample_trace();
  const auto path = std::filesystem::temp_directory_path() / "codesim_trace_test.json";
  std::string error;
  ASSERT_TRUE(write_trace(t, path.string(), error)) << error;
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));
  Trace back;
  ASSERT_TRUE(read_trace(path.string(), back, error)) << error;
  std::filesystem::remove(path);
  EXPECT_EQ(trace_to_json(back), trace_to_json(t));
  ASSERT_EQ(back.layers.size(), t.layers.size());
  for (size_t i = 0; i < t.layers.size(); ++i) {
    ASSERT_EQ(back.layers[i].ops.size(), t.layers[i].ops.size());
    for (size_t j = 0; j < t.layers[i].ops.size(); ++j) {
      EXPECT_EQ(back.layers[i].ops[j].shape, t.layers[i].ops[j].shape);
      EXPECT_EQ(back.layers[i].ops[j].flops.count(), t.layers[i].ops[j].flops.count());
      EXPECT_EQ(back.layers[i].ops[j].bytes_read, t.layers[i].ops[j].bytes_read);
    }
  }
  EXPECT_EQ(back.routing[0].experts, t.routing[0].experts);
  EXPECT_EQ(back.traffic[0].dispatch_node, t.traffic[0].dispatch_node);
  EXPECT_EQ(back.layers[2].measured, t.layers[2].measured);
  int flagged = 0;
  for (size_t i = 0; i < t.layers.size(); ++i)
    for (size_t j = 0; j < t.layers[i].ops.size(); ++j) {
      EXPECT_EQ(back.layers[i].ops[j].input_fp8, t.layers[i].ops[j].input_fp8);
      EXPECT_EQ(back.layers[i].ops[j].grad_fp8, t.layers[i].ops[j].grad_fp8);
      EXPECT_EQ(back.layers[i].ops[j].input_e5m6, t.layers[i].ops[j].input_e5m6);
      flagged += t.layers[i].ops[j].input_fp8 + t.layers[i].ops[j].grad_fp8 + t.layers[i].ops[j].input_e5m6;
    }
  EXPECT_GT(flagged, 0);
}

// The op list marks the operands that arrive in FP8 through a dispatch
// (DeepSeek-V3 TR 3.3.3): the routed up-projection's rows (forward, and X of
// its weight gradient) and the gradient of the routed down-projection's
// output (its input gradient, and dY of its weight gradient).
TEST(OpList, MarksOperandsThatArriveThroughAnFp8Dispatch) {
  OpListOptions o;
  o.seq_len = 64;
  const std::vector<LayerOps> layers = build_op_list(load("tiny-deepseek.yaml"), o);
  const LayerOps* moe = nullptr;
  for (const auto& l : layers)
    if (l.kind == LayerKind::kMoe) {
      moe = &l;
      break;
    }
  ASSERT_NE(moe, nullptr);
  std::set<std::string> input, grad;
  for (const auto& op : moe->ops) {
    if (op.input_fp8) input.insert(op.name);
    if (op.grad_fp8) grad.insert(op.name);
  }
  EXPECT_EQ(input, (std::set<std::string>{"moe.up", "moe.up.wgrad", "moe.down.dgrad"}));
  EXPECT_EQ(grad, (std::set<std::string>{"moe.down.wgrad"}));
}

// TR 3.3.3: in FP8 training the input of the Linear after the attention
// operator is also cached in E5M6, so that forward GEMM (and only it) is
// marked; inference and BF16 training mark nothing.
TEST(OpList, MarksTheLinearAfterAttentionForTheE5m6Cache) {
  auto marked = [](const OpListOptions& o) {
    std::set<std::string> out;
    for (const auto& l : build_op_list(load("tiny-deepseek.yaml"), o))
      for (const auto& op : l.ops)
        if (op.input_e5m6) out.insert(op.name + (op.pass == Pass::kForward ? "/forward" : "/backward"));
    return out;
  };
  OpListOptions o;
  o.seq_len = 64;
  EXPECT_EQ(marked(o), (std::set<std::string>{"attn.wo/forward"}));
  OpListOptions bf16 = o;
  bf16.linear_precision = Precision::kBf16;
  EXPECT_TRUE(marked(bf16).empty());
  OpListOptions inference = o;
  inference.workload = Workload::kPrefill;
  EXPECT_TRUE(marked(inference).empty());
}

// The gate's selections: group-limited routing selects groups, then
// experts (two top-k ops); they have no backward kernel.
TEST(OpList, GroupLimitedRoutingSelectsTwice) {
  OpListOptions o;
  o.seq_len = 64;
  const ModelSpec spec = load("tiny-deepseek.yaml");
  ASSERT_TRUE(spec.moe);
  for (const auto& l : build_op_list(spec, o)) {
    if (l.kind != LayerKind::kMoe) continue;
    std::vector<std::string> topk;
    for (const auto& op : l.ops)
      if (op.kind == OpType::kTopK) topk.push_back(op.name + (op.pass == Pass::kForward ? "/forward" : "/backward"));
    if (spec.moe->n_expert_groups > 1)
      EXPECT_EQ(topk, (std::vector<std::string>{"moe.topk_groups/forward", "moe.topk/forward"}));
    else
      EXPECT_EQ(topk, (std::vector<std::string>{"moe.topk/forward"}));
  }
}

// Edits one value of a valid trace and expects `expect` in the error.
void expect_error(const std::string& find, const std::string& replace, const std::string& expect) {
  std::string text = trace_to_json(sample_trace());
  const auto at = text.find(find);
  ASSERT_NE(at, std::string::npos) << find;
  text.replace(at, find.size(), replace);
  Trace out;
  std::string error;
  EXPECT_FALSE(parse_trace(text, "t.json", out, error)) << find;
  EXPECT_NE(error.find(expect), std::string::npos) << "got: " << error;
}

TEST(TraceFormat, StrictErrorsNameThePathAndWhatWasExpected) {
  expect_error("\"version\":1", "\"version\":2",
               "t.json: /version: unsupported version 2; this build reads version 1");
  expect_error("\"format\":\"codesim-trace\"", "\"format\":\"x\"", "t.json: /format: expected");
  expect_error("\"kind\":\"gemm\"", "\"kind\":\"gemmm\"",
               "t.json: /layers/1/ops/1/kind: expected one of: embedding, gemm,");
  expect_error("{\"m\":64", "{\"m\":\"64\"",
               "t.json: /layers/1/ops/1/shape/m: expected an integer >= 0, got a string");
  expect_error("\"bytes_read\"", "\"bytes_reed\"", "/layers/0/ops/0/bytes_reed: unknown key");
  expect_error("\"input_fp8\":true", "\"input_fp8\":1", "/input_fp8: expected true or false");
  expect_error("\"n_tokens\":4", "\"n_tokens\":5",
               "t.json: /routing/0/experts: expected n_tokens x top_k = 10 expert ids, got 8");
  expect_error("\"experts\":[0,1,", "\"experts\":[0,9,",
               "t.json: /routing/0/experts/1: expected an expert id in [0, 4), got 9");
  expect_error("\"layer\":\"layer.1\"", "\"layer\":\"layer.99\"",
               "t.json: /routing/0/layer: expected the name of a layer in /layers");
  expect_error("\"dispatch_node\":[[20,10],", "\"dispatch_node\":[[20],",
               "t.json: /traffic/0/dispatch_node/0: expected 2 columns, got 1");
  expect_error("\"expert_gpu\":[0,1,2,3]", "\"expert_gpu\":[0,1,2,7]",
               "t.json: /placement/expert_gpu/3: expected a GPU index in [0, 4), got 7");
  Trace out;
  std::string error;
  EXPECT_FALSE(parse_trace("{", "t.json", out, error));
  EXPECT_NE(error.find("t.json: not valid JSON"), std::string::npos);
  EXPECT_FALSE(read_trace("/nonexistent/x.json", out, error));
  EXPECT_NE(error.find("/nonexistent/x.json: cannot open"), std::string::npos);
}

// Full-size scaling keeps the routing statistics of the small run: nodes per
// token (the histogram is resampled exactly; 4096 tokens give a sampling
// error of ~1/sqrt(4096) = 1.6% on each bin, so 0.05 on the mean) and the
// per-expert load profile: the load of the 16 full experts that inherit each
// small expert's weight, summed, against the small expert's load fraction
// (each ~1/16 of 32768 assignments: sampling noise ~0.0014 absolute; the node
// constraints bend the proportionality slightly, so 0.01 absolute).
// V3 is cut to 8 layers (5 MoE) to keep the test fast; statistics are per layer.
TEST(Scale, KeepsNodesPerTokenAndLoadSkew) {
  const ModelSpec tiny = load("tiny-deepseek.yaml");
  // Small run: synthetic skewed routing on the tiny model (16 experts, top-4).
  Trace small;
  small.meta.model = tiny.name;
  small.routing = synthetic_routing(tiny, 2048, 0.5, 7);
  ASSERT_EQ(small.routing.size(), 3u);  // layers 1..3 are MoE

  ModelSpec v3;
  config::Diagnostics d;
  ASSERT_TRUE(load_model_spec(std::string(CODESIM_SOURCE_DIR) + "/scenarios/models/deepseek-v3.yaml",
                              {"n_layers=8"}, v3, d))
      << d.str();
  ScaleOptions o;
  o.seq_len = 4096;
  o.placement = ExpertPlacement::contiguous(256, 64, 8);
  o.max_nodes = 4;
  o.seed = 11;
  const Trace full = scale_trace(small, v3, o);
  ASSERT_EQ(full.routing.size(), 5u);
  ASSERT_EQ(full.traffic.size(), 5u);
  EXPECT_EQ(full.routing[0].n_tokens, 4096);
  EXPECT_EQ(full.routing[0].top_k, 8);

  // Statistics of small MoE layer 0 measured as the scaler does (16 experts
  // contiguous over the full model's 8 nodes) against full layer 0.
  ExpertPlacement sp;
  sp.n_gpus = 8;
  sp.gpus_per_node = 1;
  for (int e = 0; e < 16; ++e) sp.expert_gpu.push_back(e / 2);
  const RoutingStats ss = routing_stats(small.routing[0], sp);
  const RoutingStats fs = routing_stats(full.routing[0], o.placement);
  EXPECT_NEAR(fs.mean_nodes_per_token, std::min(ss.mean_nodes_per_token, 4.0), 0.05)
      << ss.mean_nodes_per_token;
  for (size_t n = 5; n < fs.nodes_per_token.size(); ++n) EXPECT_EQ(fs.nodes_per_token[n], 0.0);
  for (int se = 0; se < 16; ++se) {
    double sum = 0;
    for (int e = se * 16; e < se * 16 + 16; ++e) sum += fs.load_fraction[static_cast<size_t>(e)];
    EXPECT_NEAR(sum, ss.load_fraction[static_cast<size_t>(se)], 0.01) << "small expert " << se;
  }
  EXPECT_GT(ss.max_over_mean_load, 1.3);  // the small run is skewed, so this is a real check
  // Every token has 8 distinct experts.
  for (int t = 0; t < 4096; ++t) {
    std::set<int> s(full.routing[0].experts.begin() + t * 8, full.routing[0].experts.begin() + t * 8 + 8);
    ASSERT_EQ(s.size(), 8u);
  }
  // Bytes: every token sends one FP8 copy per distinct node; the node matrix
  // total is 4096 x mean nodes per token x 7392 B.
  uint64_t node_total = 0;
  for (uint64_t b : full.traffic[0].dispatch_node) node_total += b;
  EXPECT_NEAR(static_cast<double>(node_total), 4096.0 * fs.mean_nodes_per_token * 7392.0, 1.0);
  // Ops are the full-size op list.
  OpListOptions lo;
  lo.seq_len = 4096;
  EXPECT_EQ(full.layers.size(), build_op_list(v3, lo).size());
}

TEST(Reference, TraceFromATinyForwardPass) {
  const ModelSpec tiny = tiny_deepseek_spec();
  Transformer m(tiny, ReferenceOptions{});
  std::vector<int32_t> tokens(2 * 16);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<int32_t>((i * 37) % 512);
  OpLog log;
  m.forward(tokens, 2, &log);
  Trace t = trace_from_reference(tiny, log, 2, 16);
  ASSERT_FALSE(t.layers.empty());
  EXPECT_EQ(t.layers.front().name, "embed");
  EXPECT_EQ(t.routing.size(), 3u);  // MoE layers 1..3
  EXPECT_EQ(t.routing[0].n_tokens, 32);
  attach_placement(t, tiny, ExpertPlacement::contiguous(16, 4, 2));
  ASSERT_EQ(t.traffic.size(), 3u);
  Trace back;
  std::string error;
  ASSERT_TRUE(parse_trace(trace_to_json(t), "ref", back, error)) << error;
  EXPECT_EQ(back.routing[2].experts, t.routing[2].experts);
}

}  // namespace
}  // namespace codesim::models
