#include "topology/detail/mms.hpp"

#include <cassert>

namespace codesim::topology::detail {

bool is_prime_power(int q, int& p, int& m) {
  if (q < 2) return false;
  int n = q;
  p = 0;
  for (int d = 2; d * d <= n; ++d)
    if (n % d == 0) {
      p = d;
      break;
    }
  if (p == 0) p = n;
  m = 0;
  while (n % p == 0) {
    n /= p;
    ++m;
  }
  return n == 1;
}

namespace {

// Elements of GF(p^m) are polynomials of degree < m over Z/p, coded in base p.
std::vector<int> digits(int v, int p, int m) {
  std::vector<int> d(m);
  for (int i = 0; i < m; ++i, v /= p) d[i] = v % p;
  return d;
}
int code(const std::vector<int>& d, int p) {
  int v = 0;
  for (int i = static_cast<int>(d.size()) - 1; i >= 0; --i) v = v * p + d[i];
  return v;
}
// x * a modulo the monic polynomial x^m + f[m-1] x^(m-1) + ... + f[0].
int times_x(int a, const std::vector<int>& f, int p, int m) {
  std::vector<int> d = digits(a, p, m);
  int top = d[m - 1];
  for (int i = m - 1; i > 0; --i) d[i] = d[i - 1];
  d[0] = 0;
  for (int i = 0; i < m; ++i) d[i] = ((d[i] - top * f[i]) % p + p) % p;
  return code(d, p);
}

}  // namespace

FiniteArith galois_field(int q, int& xi) {
  int p = 0, m = 0;
  [[maybe_unused]] bool ok = is_prime_power(q, p, m);
  assert(ok);
  FiniteArith f;
  f.q = q;
  std::vector<int> exp(q - 1), log(q, -1);
  const int one = 1;                  // the constant polynomial 1
  const int x = m == 1 ? -1 : p;      // the polynomial x (for m = 1, found below)
  for (int poly = 0; poly < q; ++poly) {  // f[0..m-1] = digits(poly)
    std::vector<int> fc = digits(poly, p, m);
    if (fc[0] == 0) continue;  // x would divide f
    // For m = 1, "x" is the constant -f[0]; in general the code p.
    int gen = m == 1 ? (p - fc[0]) % p : x;
    if (gen == 0) continue;
    int cur = one;
    bool primitive = true;
    std::vector<int> seen(q, 0);
    for (int i = 0; i < q - 1; ++i) {
      if (seen[cur]) {
        primitive = false;
        break;
      }
      seen[cur] = 1;
      exp[i] = cur;
      cur = m == 1 ? (cur * gen) % p : times_x(cur, fc, p, m);
    }
    if (!primitive || cur != one) continue;
    xi = gen;
    break;
  }
  for (int i = 0; i < q - 1; ++i) log[exp[i]] = i;
  f.add_.resize(q * q);
  f.mul_.resize(q * q);
  f.neg_.resize(q);
  for (int a = 0; a < q; ++a) {
    std::vector<int> da = digits(a, p, m), dn(m);
    for (int i = 0; i < m; ++i) dn[i] = (p - da[i]) % p;
    f.neg_[a] = code(dn, p);
    for (int b = 0; b < q; ++b) {
      std::vector<int> db = digits(b, p, m), ds(m);
      for (int i = 0; i < m; ++i) ds[i] = (da[i] + db[i]) % p;
      f.add_[a * q + b] = code(ds, p);
      f.mul_[a * q + b] = (a == 0 || b == 0) ? 0 : exp[(log[a] + log[b]) % (q - 1)];
    }
  }
  return f;
}

FiniteArith integer_ring(int q) {
  FiniteArith f;
  f.q = q;
  f.add_.resize(q * q);
  f.mul_.resize(q * q);
  f.neg_.resize(q);
  for (int a = 0; a < q; ++a) {
    f.neg_[a] = (q - a) % q;
    for (int b = 0; b < q; ++b) {
      f.add_[a * q + b] = (a + b) % q;
      f.mul_[a * q + b] = (a * b) % q;
    }
  }
  return f;
}

void mms_sets(const FiniteArith& f, bool field, int xi, int delta, std::vector<int>& x,
              std::vector<int>& x_prime) {
  const int q = f.q;
  x.clear();
  x_prime.clear();
  if (field) {
    std::vector<int> pw(q);  // xi^i
    pw[0] = 1;
    for (int i = 1; i < q; ++i) pw[i] = f.mul(pw[i - 1], xi);
    auto add_range = [&](std::vector<int>& s, int from, int to) {
      for (int i = from; i <= to; i += 2) s.push_back(pw[i % (q - 1)]);
    };
    if (delta == 1) {
      add_range(x, 0, q - 3);
      add_range(x_prime, 1, q - 2);
    } else if (delta == 0) {
      add_range(x, 0, q - 2);
      add_range(x_prime, 1, q - 1);
    } else {
      const int w = (q + 1) / 4;
      add_range(x, 0, 2 * w - 2);
      add_range(x, 2 * w - 1, 4 * w - 3);
      add_range(x_prime, 1, 2 * w - 1);
      add_range(x_prime, 2 * w, 4 * w - 2);
    }
    return;
  }
  const size_t want = static_cast<size_t>((q - delta) / 2);
  auto fill = [&](std::vector<int>& s, int first_parity) {
    for (int pass = 0; pass < 2 && s.size() < want; ++pass) {
      int parity = pass == 0 ? first_parity : 1 - first_parity;
      for (int v = 1; 2 * v < q && s.size() + 2 <= want; ++v)
        if (v % 2 == parity) {
          s.push_back(v);
          s.push_back(q - v);
        }
    }
    if (s.size() < want && q % 2 == 0) s.push_back(q / 2);  // the self-inverse element
  };
  fill(x, 1);
  fill(x_prime, 0);
}

}  // namespace codesim::topology::detail
