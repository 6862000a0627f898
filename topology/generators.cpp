#include "topology/generators.hpp"

#include <algorithm>

#include "topology/detail/builder.hpp"
#include "topology/detail/mms.hpp"

namespace codesim::topology {
namespace {

using detail::Builder;

std::vector<std::vector<VertexId>> chunks(const std::vector<VertexId>& eps, int size) {
  std::vector<std::vector<VertexId>> out;
  for (size_t i = 0; i < eps.size(); i += size)
    out.emplace_back(eps.begin() + i, eps.begin() + std::min(eps.size(), i + size));
  return out;
}

void build_ft2(Fabric& f, Builder& b, const ClusterSpec& c, const std::vector<VertexId>& eps) {
  int down = 0, up = 0;
  detail::leaf_ports(b.radix(), c.fabric.oversubscription, down, up);
  f.bisection = b.two_layer(chunks(eps, down), down, up, -1);
}

// MPFT (ISCA'25 Sec. 5.1): `planes` independent two-layer fat trees; NIC port
// with in-node index i sits in plane i % planes.
void build_mpft(Fabric& f, Builder& b, const ClusterSpec& c, const std::vector<VertexId>& eps) {
  int down = 0, up = 0;
  detail::leaf_ports(b.radix(), c.fabric.oversubscription, down, up);
  const int planes = c.fabric.planes;
  std::vector<std::vector<VertexId>> per_plane(planes);
  for (VertexId nic : eps) {
    const int plane = f.graph[nic].local % planes;
    f.graph[nic].plane = plane;
    per_plane[plane].push_back(nic);
  }
  f.bisection = Bandwidth{};
  for (int p = 0; p < planes; ++p) f.bisection = f.bisection + b.two_layer(chunks(per_plane[p], down), down, up, p);
}

// MRFT: one two-layer fat tree whose leaves are rail-aligned: NIC port i of
// every node goes to the leaves of rail i; all leaves share the spines.
void build_mrft(Fabric& f, Builder& b, const ClusterSpec& c, const std::vector<VertexId>& eps) {
  int down = 0, up = 0;
  detail::leaf_ports(b.radix(), c.fabric.oversubscription, down, up);
  const int rails = b.ports_per_gpu() * c.node_spec.gpus;
  std::vector<std::vector<VertexId>> per_rail(rails);
  for (VertexId nic : eps) {
    f.graph[nic].plane = f.graph[nic].local;
    per_rail[f.graph[nic].local].push_back(nic);
  }
  std::vector<std::vector<VertexId>> leaves;
  for (const auto& r : per_rail)
    for (auto& l : chunks(r, down)) leaves.push_back(std::move(l));
  f.bisection = b.two_layer(leaves, down, up, -1);
}

// Rail-only (Wang et al., "Rail-only", HotI'24): one switch per rail, no
// spine; cross-rail traffic goes over NVLink inside the node.
void build_rail_only(Fabric& f, Builder& b, const ClusterSpec& c, const std::vector<VertexId>& eps) {
  const int rails = b.ports_per_gpu() * c.node_spec.gpus;
  std::vector<VertexId> sw(rails);
  for (int r = 0; r < rails; ++r) sw[r] = b.add_switch(0, r, -1, r);
  for (VertexId nic : eps) {
    f.graph[nic].plane = f.graph[nic].local;
    b.attach(nic, sw[f.graph[nic].local]);
  }
  // Each rail switch holds both halves of the nodes and is non-blocking.
  f.bisection = b.port_bandwidth() * static_cast<double>(eps.size() / 2);
}

// Three-layer k-ary fat tree (Al-Fares et al., SIGCOMM'08): pods of k/2 edge
// and k/2 aggregation switches; aggregation switch j of every pod connects
// to core group j. With fewer than k pods the core groups shrink to
// ceil(pods * k/2 / k) switches and the uplinks spread round-robin.
void build_ft3(Fabric& f, Builder& b, const ClusterSpec&, const std::vector<VertexId>& eps) {
  const int k = b.radix(), h = k / 2;
  const int64_t per_pod = static_cast<int64_t>(h) * h;
  const int pods = static_cast<int>((static_cast<int64_t>(eps.size()) + per_pod - 1) / per_pod);
  std::vector<VertexId> agg(static_cast<size_t>(pods) * h);
  for (int p = 0; p < pods; ++p) {
    std::vector<VertexId> edge(h);
    for (int i = 0; i < h; ++i) edge[i] = b.add_switch(0, p * h + i, p, -1);
    for (int j = 0; j < h; ++j) agg[p * h + j] = b.add_switch(1, p * h + j, p, -1);
    for (int i = 0; i < h; ++i) {
      for (int64_t e = (p * per_pod) + static_cast<int64_t>(i) * h;
           e < std::min<int64_t>(static_cast<int64_t>(eps.size()), p * per_pod + (i + 1) * static_cast<int64_t>(h)); ++e)
        b.attach(eps[e], edge[i]);
      for (int j = 0; j < h; ++j) b.switch_link(edge[i], agg[p * h + j], LinkKind::kOptical);
    }
  }
  if (pods > 1) {
    const int per_group = (pods * h + k - 1) / k;
    std::vector<VertexId> core(static_cast<size_t>(h) * per_group);
    for (int j = 0; j < h; ++j)
      for (int c = 0; c < per_group; ++c) core[j * per_group + c] = b.add_switch(2, j * per_group + c, -1, -1);
    for (int p = 0; p < pods; ++p)
      for (int j = 0; j < h; ++j)
        for (int i = 0; i < h; ++i) b.switch_link(agg[p * h + j], core[j * per_group + i % per_group], LinkKind::kOptical);
  }
  f.bisection = b.port_bandwidth() * static_cast<double>(eps.size() / 2);
}

// Canonical dragonfly (Kim et al., ISCA'08). Router r of group g is switch
// g*a + r with ports: p endpoints, a-1 local (copper, all-to-all in the
// group), h global (optical). Global links: every pair of groups gets
// floor(a*h / (g-1)) links; the a*h mod (g-1) ports left in each group form
// circulant links g -> g+1, g+2, ... (and g -> g + G/2 when that count is
// odd). A group's global ports are used in the order its links are listed,
// port t on router t / h.
void build_dragonfly(Fabric& f, Builder& b, const ClusterSpec& c, const std::vector<VertexId>& eps) {
  const DragonflyParams& d = *c.fabric.dragonfly;
  const int groups = d.num_groups(), a = d.a, h = d.h, p = d.p;
  std::vector<VertexId> router(static_cast<size_t>(groups) * a);
  for (int g = 0; g < groups; ++g)
    for (int r = 0; r < a; ++r) router[g * a + r] = b.add_switch(0, r, g, -1);
  for (size_t e = 0; e < eps.size(); ++e) b.attach(eps[e], router[e / p]);
  for (int g = 0; g < groups; ++g)
    for (int r = 0; r < a; ++r)
      for (int s = r + 1; s < a; ++s) b.switch_link(router[g * a + r], router[g * a + s], LinkKind::kCopper);
  std::vector<int> next_port(groups, 0);
  const int half = groups / 2;  // groups [0, half) vs [half, groups)
  int64_t crossing = 0;
  auto global = [&](int g1, int g2) {
    const int t1 = next_port[g1]++, t2 = next_port[g2]++;
    b.switch_link(router[g1 * a + t1 / h], router[g2 * a + t2 / h], LinkKind::kOptical);
    if ((g1 < half) != (g2 < half)) ++crossing;
  };
  const int ports = a * h;
  const int base = groups > 1 ? ports / (groups - 1) : 0;
  const int extra = groups > 1 ? ports - base * (groups - 1) : 0;
  for (int g1 = 0; g1 < groups; ++g1)
    for (int g2 = g1 + 1; g2 < groups; ++g2)
      for (int m = 0; m < base; ++m) global(g1, g2);
  for (int off = 1; off <= extra / 2; ++off)
    for (int g1 = 0; g1 < groups; ++g1) global(g1, (g1 + off) % groups);
  if (extra % 2 == 1)
    for (int g1 = 0; g1 < groups / 2; ++g1) global(g1, g1 + groups / 2);
  // The cut between the two halves of the groups; exact for an even number
  // of groups (then it separates the endpoint halves), an estimate otherwise.
  f.bisection = b.port_bandwidth() * static_cast<double>(std::min<int64_t>(crossing, static_cast<int64_t>(eps.size() / 2)));
}

// Slim Fly (Besta & Hoefler, SC'14) on the MMS graph: routers (0,x,y) and
// (1,m,c) for x,y,m,c in the q-element arithmetic, switch ids s*q^2 + a*q + b:
//   (0,x,y) ~ (0,x,y')  iff y - y' in X
//   (1,m,c) ~ (1,m,c')  iff c - c' in X'
//   (0,x,y) ~ (1,m,c)   iff y = m*x + c
// Rack a holds (0,a,*) and (1,a,*): links inside a rack are copper.
void build_slimfly(Fabric& f, Builder& b, const ClusterSpec& c, const std::vector<VertexId>& eps) {
  const SlimflyParams& sp = *c.fabric.slimfly;
  const int q = sp.q, p = sp.endpoints_per_router();
  const bool field = sp.arithmetic == MmsArithmetic::kGaloisField;
  int xi = 0;
  const detail::FiniteArith ar = field ? detail::galois_field(q, xi) : detail::integer_ring(q);
  std::vector<int> xs, xs_prime;
  detail::mms_sets(ar, field, xi, sp.delta(), xs, xs_prime);
  const int q2 = q * q;
  std::vector<VertexId> router(2 * static_cast<size_t>(q2));
  for (int s = 0; s < 2; ++s)
    for (int x = 0; x < q; ++x)
      for (int y = 0; y < q; ++y) router[s * q2 + x * q + y] = b.add_switch(0, s * q2 + x * q + y, x, -1);
  const int64_t used = std::min<int64_t>(static_cast<int64_t>(eps.size()), static_cast<int64_t>(p) * 2 * q2);
  for (int64_t e = 0; e < used; ++e) b.attach(eps[e], router[e / p]);
  auto id = [&](int s, int x, int y) { return router[s * q2 + x * q + y]; };
  for (int s = 0; s < 2; ++s) {
    const std::vector<int>& gen = s == 0 ? xs : xs_prime;
    for (int x = 0; x < q; ++x)
      for (int y = 0; y < q; ++y)
        for (int v : gen) {
          const int y2 = ar.add(y, v);
          if (y < y2) b.switch_link(id(s, x, y), id(s, x, y2), LinkKind::kCopper);
        }
  }
  for (int x = 0; x < q; ++x)
    for (int y = 0; y < q; ++y)
      for (int m = 0; m < q; ++m) {
        const int cc = ar.add(y, ar.neg(ar.mul(m, x)));  // c = y - m*x
        b.switch_link(id(0, x, y), id(1, m, cc), m == x ? LinkKind::kCopper : LinkKind::kOptical);
      }
  f.bisection = Bandwidth{};  // no closed form: stats computes it by max-flow
}

}  // namespace

std::string check_fabric(const ClusterSpec& c) {
  const FabricSpec& fs = c.fabric;
  const NodeSpec& n = c.node_spec;
  const int k = fs.effective_radix();
  const int64_t eps = c.num_endpoints();
  const int rails = n.gpus * n.nics_per_gpu * n.nic_spec.ports;
  const std::string need = std::to_string(c.nodes) + " nodes x " + std::to_string(rails) +
                           " NIC ports = " + std::to_string(eps) + " endpoints";
  int down = 0, up = 0;
  detail::leaf_ports(k, fs.oversubscription, down, up);
  auto too_many = [&](int64_t cap, const std::string& hint) {
    return need + " exceed the " + std::string(config::enum_to_string(fs.kind)) + " capacity of " +
           std::to_string(cap) + " at radix " + std::to_string(k) + hint;
  };
  switch (fs.kind) {
    case FabricKind::kFt2:
    case FabricKind::kNvl72: {
      const int64_t cap = static_cast<int64_t>(k) * down;
      if (eps > cap) return too_many(cap, "; use ft3 or mpft");
      if (fs.kind == FabricKind::kNvl72 && (static_cast<int64_t>(c.nodes) * n.gpus) % n.scale_up_gpus != 0)
        return "nvl72 needs whole NVLink domains: " + std::to_string(c.nodes) + " nodes x " +
               std::to_string(n.gpus) + " GPUs is not a multiple of " + std::to_string(n.scale_up_gpus);
      return "";
    }
    case FabricKind::kMpft: {
      if (rails % fs.planes != 0)
        return "mpft puts NIC port i of a node in plane i % planes: the " + std::to_string(rails) +
               " NIC ports of a node must divide evenly into " + std::to_string(fs.planes) + " planes";
      const int64_t cap = static_cast<int64_t>(k) * down * fs.planes;
      if (eps > cap) return too_many(cap, "");
      return "";
    }
    case FabricKind::kMrft: {
      const int64_t leaves = static_cast<int64_t>(rails) * ((c.nodes + down - 1) / down);
      if (leaves > k)
        return need + " need " + std::to_string(leaves) + " rail-aligned leaves, more than the " +
               std::to_string(k) + " a two-layer mrft at radix " + std::to_string(k) + " can join";
      return "";
    }
    case FabricKind::kRailOnly:
      if (c.nodes > k)
        return std::to_string(c.nodes) + " nodes exceed the " + std::to_string(k) +
               " ports of the single switch per rail of rail_only; use mpft";
      return "";
    case FabricKind::kFt3: {
      const int64_t cap = static_cast<int64_t>(k) * k * k / 4;
      if (eps > cap) return too_many(cap, "");
      return "";
    }
    case FabricKind::kDragonfly: {
      const DragonflyParams& d = *fs.dragonfly;
      const int ports = d.p + d.a - 1 + d.h;
      if (ports > k)
        return "dragonfly routers need p + a - 1 + h = " + std::to_string(ports) + " ports, more than radix " +
               std::to_string(k);
      const int64_t cap = static_cast<int64_t>(d.p) * d.a * d.num_groups();
      if (eps > cap) return too_many(cap, " (p * a * groups)");
      return "";
    }
    case FabricKind::kSlimfly: {
      const SlimflyParams& s = *fs.slimfly;
      const int ports = s.endpoints_per_router() + s.network_radix();
      if (ports > k)
        return "slim fly routers need p + (3q - delta)/2 = " + std::to_string(ports) + " ports, more than radix " +
               std::to_string(k);
      const int64_t cap = static_cast<int64_t>(s.endpoints_per_router()) * 2 * s.q * s.q;
      if (eps > cap) return too_many(cap, " (p * 2q^2)");
      return "";
    }
  }
  return "";
}

Fabric build_fabric(const ClusterSpec& c, std::string name) {
  Fabric f;
  f.name = std::move(name);
  f.kind = std::string(config::enum_to_string(c.fabric.kind));
  f.nodes = c.nodes;
  f.gpus_per_node = c.node_spec.gpus;
  f.planes = c.fabric.kind == FabricKind::kMpft ? c.fabric.planes : 1;
  f.gpu_model = c.node_spec.gpu;
  f.nic_model = c.node_spec.nic;
  f.switch_model = c.fabric.switch_model;
  f.radix = c.fabric.effective_radix();
  f.switch_port_bandwidth = c.fabric.switch_spec.port_bandwidth;
  f.ports_per_nic = c.node_spec.nic_spec.ports;
  f.scale_up_gpus = c.node_spec.scale_up_gpus;
  Builder b(f, c);
  const std::vector<VertexId> eps = b.build_nodes();
  switch (c.fabric.kind) {
    case FabricKind::kFt2:
    case FabricKind::kNvl72: build_ft2(f, b, c, eps); break;
    case FabricKind::kMpft: build_mpft(f, b, c, eps); break;
    case FabricKind::kMrft: build_mrft(f, b, c, eps); break;
    case FabricKind::kRailOnly: build_rail_only(f, b, c, eps); break;
    case FabricKind::kFt3: build_ft3(f, b, c, eps); break;
    case FabricKind::kDragonfly: build_dragonfly(f, b, c, eps); break;
    case FabricKind::kSlimfly: build_slimfly(f, b, c, eps); break;
  }
  return f;
}

}  // namespace codesim::topology
