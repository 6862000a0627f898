// File: topology/detail/mms.hpp
//
// Arithmetic for the McKay-Miller-Siran (MMS) graphs behind Slim Fly
// (Besta & Hoefler, "Slim Fly: A Cost Effective Low-Diameter Network
// Topology", SC'14, Sec. 3.1; Hafner, "Geometric realisation of the graphs
// of McKay-Miller-Siran", JCTB 2004).
#pragma once

#include <string>
#include <vector>

namespace codesim::topology::detail {

// Addition/multiplication tables over q elements coded 0..q-1 (0 is zero).
struct FiniteArith {
  int q = 0;
  std::vector<int> add_, mul_, neg_;
  int add(int a, int b) const { return add_[a * q + b]; }
  int mul(int a, int b) const { return mul_[a * q + b]; }
  int neg(int a) const { return neg_[a]; }
};

// q = p^m with p prime and m >= 1?
bool is_prime_power(int q, int& p, int& m);

// GF(q) for a prime power q, with a primitive element `xi` (the class of x
// modulo the first monic degree-m polynomial for which x has order q-1).
FiniteArith galois_field(int q, int& xi);
// Z/qZ.
FiniteArith integer_ring(int q);

// The generator sets X (for routers (0,x,y)) and X' (for (1,m,c)).
// GF(q), q = 4w + delta, primitive element xi (SC'14, Sec. 3.1.1):
//   delta = +1: X = {1, xi^2, ..., xi^(q-3)},        X' = {xi, xi^3, ..., xi^(q-2)}
//   delta =  0: X = {1, xi^2, ..., xi^(q-2)},        X' = {xi, xi^3, ..., xi^(q-1)}
//   delta = -1: X = {1, xi^2, ..., xi^(2w-2)} U {xi^(2w-1), xi^(2w+1), ..., xi^(4w-3)},
//               X' = {xi, xi^3, ..., xi^(2w-1)} U {xi^(2w), xi^(2w+2), ..., xi^(4w-2)}
// Z/qZ (no primitive element in general): X takes the pairs {v, -v} with v
// odd first, X' with v even first, each filled up to (q - delta)/2 elements;
// both are symmetric, so the graph is undirected and (3q - delta)/2-regular.
void mms_sets(const FiniteArith& f, bool field, int xi, int delta, std::vector<int>& x,
              std::vector<int>& x_prime);

}  // namespace codesim::topology::detail
