// File: workloads/inference_memory.hpp
//
// How many requests of a given context fit in one GPU's KV cache: HBM minus
// the resident weights (FP8 linear layers, BF16 embedding and head, split as
// the plan splits them) minus the activation reserve, divided by the KV
// bytes one request costs that GPU (models::kv_cache_bytes_per_token; MLA's
// latent is replicated over attention-TP ranks, GQA heads are split).
#pragma once

#include <string>

#include "models/model_spec.hpp"
#include "sim/units.hpp"
#include "workloads/serving.hpp"

namespace codesim::workloads {

struct KvConcurrency {
  std::string model;
  std::string layout;          // e.g. "EP144 DP attention" or "TP8"
  Bytes kv_per_token;          // model-wide, at the plan's precision
  Bytes kv_per_token_per_gpu;  // what one GPU stores per request-token
  Bytes weights_per_gpu;
  Bytes kv_free_per_gpu;
  double context = 0;
  double requests_per_gpu = 0;
};

// The served model under `plan` (usually the decode pool).
KvConcurrency kv_concurrency(const ServingSpec& spec, const PoolPlan& plan, double context);
// Another model (spec.kv_comparison) on the same hardware and calibration.
KvConcurrency kv_concurrency(const ServingSpec& spec, const KvComparison& other);

}  // namespace codesim::workloads
