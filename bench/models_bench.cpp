// Reference-model speed: forward pass of a tiny DeepSeek-style model
// (4 layers, dim 256, MLA, 16 routed experts + 1 shared, top-4 of 4 groups)
// on 1,024 tokens, float32 on the CPU through Eigen, and with the linear
// layers in emulated FP8.
//
// Run: build/bench/models_bench
// The label reports Eigen's SIMD instruction set for this build
// (Eigen::SimdInstructionSetsInUse(); "None" would mean no vectorisation).
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <vector>

#include "models/transformer.hpp"

namespace {

using codesim::models::MlaPath;
using codesim::models::OpLog;
using codesim::models::ReferenceOptions;
using codesim::models::Transformer;

std::vector<int32_t> tokens(int n, int vocab) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) t[static_cast<size_t>(i)] = (i * 131 + 7) % vocab;
  return t;
}

void forward(benchmark::State& state, MlaPath path) {
  const auto spec = codesim::models::tiny_deepseek_spec();
  ReferenceOptions opt;
  opt.mla_path = path;
  Transformer m(spec, opt);
  const int n = static_cast<int>(state.range(0));
  const auto t = tokens(n, spec.vocab_size);
  OpLog log;
  m.forward(t, 1, &log);  // FLOPs of one pass, from the op records
  double flops = 0;
  for (const auto& op : log.ops) flops += op.flops.count();
  for (auto _ : state) {
    auto logits = m.forward(t, 1);
    benchmark::DoNotOptimize(logits.data.data());
  }
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string("Eigen SIMD: ") + Eigen::SimdInstructionSetsInUse());
}

void BM_TinyDeepSeekForwardAbsorbed(benchmark::State& s) { forward(s, MlaPath::kAbsorbed); }
void BM_TinyDeepSeekForwardNaive(benchmark::State& s) { forward(s, MlaPath::kNaive); }
BENCHMARK(BM_TinyDeepSeekForwardAbsorbed)->Arg(1024)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TinyDeepSeekForwardNaive)->Arg(1024)->Unit(benchmark::kMillisecond);

// The same forward with the linear layers in emulated FP8 (E4M3 with 1x128 /
// 128x128 scales, Hopper accumulator model, promotion every 128; models/fp8.hpp)
// against float32. The emulation is scalar code (per group of 32 products:
// alignment, truncation, renormalisation), so it measures the cost of the
// numerics study, not of FP8 hardware.
void forward_precision(benchmark::State& state, codesim::models::GemmPrecision p) {
  const auto spec = codesim::models::tiny_deepseek_spec();
  ReferenceOptions opt;
  opt.gemm.precision = p;
  Transformer m(spec, opt);
  const int n = static_cast<int>(state.range(0));
  const auto t = tokens(n, spec.vocab_size);
  for (auto _ : state) {
    auto logits = m.forward(t, 1);
    benchmark::DoNotOptimize(logits.data.data());
  }
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
}
void BM_TinyDeepSeekForwardFp32(benchmark::State& s) { forward_precision(s, codesim::models::GemmPrecision::kFp32); }
void BM_TinyDeepSeekForwardFp8(benchmark::State& s) { forward_precision(s, codesim::models::GemmPrecision::kFp8E4M3); }
BENCHMARK(BM_TinyDeepSeekForwardFp32)->Arg(1024)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TinyDeepSeekForwardFp8)->Arg(1024)->Unit(benchmark::kMillisecond)->Iterations(2);

// Decoding one token per step against a 1,023-token cache.
void BM_TinyDeepSeekDecodeStep(benchmark::State& state) {
  const auto spec = codesim::models::tiny_deepseek_spec();
  Transformer m(spec);
  const auto t = tokens(1023, spec.vocab_size);
  for (auto _ : state) {
    state.PauseTiming();
    auto cache = m.make_cache(1);
    m.forward(t, cache);
    state.ResumeTiming();
    auto logits = m.forward(std::vector<int32_t>{5}, cache);
    benchmark::DoNotOptimize(logits.data.data());
  }
}
BENCHMARK(BM_TinyDeepSeekDecodeStep)->Unit(benchmark::kMillisecond)->Iterations(5);

}  // namespace

BENCHMARK_MAIN();
