// File: topology/detail/max_flow.hpp
// Max-flow on a small capacitated graph (Boost.Graph's Boykov-Kolmogorov).
#pragma once

#include <vector>

namespace codesim::topology::detail {

struct FlowArc {
  int from = 0, to = 0;
  double capacity = 0;          // from -> to
  double reverse_capacity = 0;  // to -> from (an undirected cable: the same)
};
double max_flow(int vertices, const std::vector<FlowArc>& arcs, int source, int sink);

}  // namespace codesim::topology::detail
