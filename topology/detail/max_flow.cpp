#include "topology/detail/max_flow.hpp"

// Boost 1.74's edge iterators trip GCC 12's -Wmaybe-uninitialized inside
// boykov_kolmogorov_max_flow (a false positive in library code).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/boykov_kolmogorov_max_flow.hpp>

namespace codesim::topology::detail {

double max_flow(int vertices, const std::vector<FlowArc>& arcs, int source, int sink) {
  using Traits = boost::adjacency_list_traits<boost::vecS, boost::vecS, boost::directedS>;
  using FlowGraph = boost::adjacency_list<
      boost::vecS, boost::vecS, boost::directedS,
      boost::property<boost::vertex_color_t, boost::default_color_type,
                      boost::property<boost::vertex_distance_t, long,
                                      boost::property<boost::vertex_predecessor_t, Traits::edge_descriptor>>>,
      boost::property<boost::edge_capacity_t, double,
                      boost::property<boost::edge_residual_capacity_t, double,
                                      boost::property<boost::edge_reverse_t, Traits::edge_descriptor>>>>;
  FlowGraph fg(vertices);
  auto cap = boost::get(boost::edge_capacity, fg);
  auto rev = boost::get(boost::edge_reverse, fg);
  for (const FlowArc& a : arcs) {
    auto e1 = boost::add_edge(a.from, a.to, fg).first;
    auto e2 = boost::add_edge(a.to, a.from, fg).first;
    cap[e1] = a.capacity;
    cap[e2] = a.reverse_capacity;
    rev[e1] = e2;
    rev[e2] = e1;
  }
  return boost::boykov_kolmogorov_max_flow(fg, source, sink);
}

}  // namespace codesim::topology::detail
