// File: models/mtp.hpp
//
// Multi-token prediction module k (DeepSeek-V3 TR sec. 2.2), sharing the
// main model's embedding and output head:
//   h'_i = M_k [RMSNorm(h^{k-1}_i) ; RMSNorm(Emb(t_{i+k}))]     M_k: [2*dim x dim]
//   h^k  = TRM_k(h')                                          (one transformer block)
//   p^k_{i+k+1} = OutHead(RMSNorm_k(h^k_i))                    (shared head weight)
// so depth 1 predicts token t+2 from the hidden state at t and the embedding
// of t+1. Positions i run over 0..S-1-k of each sequence; attention inside
// the module is causal over those positions. Internal to models/ (Eigen).
#pragma once

#include "models/block.hpp"

namespace codesim::models {

class MtpModule {
 public:
  MtpModule(const ModelSpec& spec, const Rope& rope, WeightRng& rng);
  // h_prev: [B*L x dim] hidden states h^{k-1} at positions 0..L-1 of each of
  // the B sequences; emb_next: [B*L x dim] embeddings of t_{i+k}. Returns
  // h^k [B*L x dim] (before the final norm).
  Mat forward(const Mat& h_prev, const Mat& emb_next, int batch, MlaPath path,
              const NodeLimit& limit, const OpSink& sink);
  // RMSNorm_k before the shared head.
  const RmsNorm& out_norm() const { return norm_; }
  int64_t param_count() const;  // excluding the shared embedding and head

 private:
  RmsNorm hnorm_, enorm_;
  Mat eh_proj_;
  Block block_;
  RmsNorm norm_;
};

}  // namespace codesim::models
