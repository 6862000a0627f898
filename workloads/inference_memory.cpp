#include "workloads/inference_memory.hpp"

#include "models/counts.hpp"
#include "workloads/serving_step.hpp"

namespace codesim::workloads {

KvConcurrency kv_concurrency(const ServingSpec& spec, const PoolPlan& plan, double context) {
  StepModel model(spec, plan, false);
  KvConcurrency k;
  k.model = spec.model.name;
  k.layout = (spec.model.moe ? "EP" + std::to_string(plan.ep) + " " : std::string()) +
             (plan.attention_tp > 1 ? "TP" + std::to_string(plan.attention_tp) : "DP") + " attention";
  k.kv_per_token = models::kv_cache_bytes_per_token(spec.model, plan.kv_precision);
  k.kv_per_token_per_gpu = model.memory().kv_per_token;
  k.weights_per_gpu = model.memory().weights;
  k.kv_free_per_gpu = model.memory().kv_free;
  k.context = context;
  k.requests_per_gpu = model.kv_capacity_requests(context);
  return k;
}

KvConcurrency kv_concurrency(const ServingSpec& spec, const KvComparison& other) {
  ServingSpec s = spec;
  s.model = other.model;
  PoolPlan plan = spec.decode;
  plan.nodes = other.nodes;
  plan.ep = other.nodes * spec.hardware.gpus_per_node;
  plan.attention_tp = other.attention_tp;
  plan.redundant_experts = 0;
  KvConcurrency k = kv_concurrency(s, plan, other.context);
  // For a dense model the (TP) "per GPU" batch is the unit's batch / TP:
  // StepModel amortises KV per GPU, so requests_per_gpu is already per GPU.
  return k;
}

}  // namespace codesim::workloads
