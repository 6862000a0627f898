// The 2,048-GPU DeepSeek-V3 training step (scenarios/paper/v3-train-2048-h800-mpft.yaml):
// time to simulate one step, setup included (model and calibration loading,
// plan checks, fabric generation and pricing) and excluded. The inputs are
// built as `codesim train` builds them (the scenario's network section
// included: adaptive routing), so simulated_step_s is the CLI's step time.
// Target: < 60 s and < 4 GiB (peak RSS: run under /usr/bin/time -v).
#include <benchmark/benchmark.h>

#include <cstdio>

#include "scenarios/scenario.hpp"
#include "workloads/training_setup.hpp"

namespace {

using namespace codesim;

const std::string kScenario = std::string(CODESIM_SOURCE_ROOT) + "/scenarios/paper/v3-train-2048-h800-mpft.yaml";

bool setup(workloads::TrainingInputs& in) {
  scenarios::Scenario sc;
  config::Diagnostics d;
  if (!scenarios::load_scenario(kScenario, {}, sc, d) || !sc.cluster || !sc.plan || !sc.training ||
      !workloads::make_training_inputs(*sc.cluster, *sc.plan, *sc.training, nullptr, in, d,
                                       scenarios::training_network(sc))) {
    std::fprintf(stderr, "%s", d.str().c_str());
    return false;
  }
  return true;
}

void BM_TrainStep2048(benchmark::State& state) {
  workloads::TrainingInputs in;
  if (!setup(in)) {
    state.SkipWithError("scenario did not load");
    return;
  }
  double step = 0;
  for (auto _ : state) {
    std::string err;
    const auto r = workloads::simulate_training(in, err);
    step = r.step.seconds();
    benchmark::DoNotOptimize(step);
  }
  state.counters["simulated_step_s"] = step;
}
BENCHMARK(BM_TrainStep2048)->Unit(benchmark::kMillisecond);

void BM_TrainSetupAndStep2048(benchmark::State& state) {
  for (auto _ : state) {
    workloads::TrainingInputs in;
    if (!setup(in)) {
      state.SkipWithError("scenario did not load");
      return;
    }
    std::string err;
    const auto r = workloads::simulate_training(in, err);
    benchmark::DoNotOptimize(r.step);
  }
}
BENCHMARK(BM_TrainSetupAndStep2048)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
