// File: sim/simgrid_backend.hpp
//
// The same task graph, links and routes replayed on SimGrid 3.32, as an
// independent cross-check of sim/flow_network.hpp.
//
// How (see /work/shared/notes/simgrid-3.32.md for why each choice):
//  * one SimGrid host per endpoint (GPU), one SimGrid link per directed
//    codesim link with the same bandwidth and latency;
//  * a small NetZoneImpl subclass whose get_local_route() returns the path
//    codesim's PathSelector chose for that transfer (the stock zones have no
//    multipath or per-flow routing);
//  * network/model:CM02, network/crosstraffic:0, network/TCP-gamma:0 (no
//    window cap): with these SimGrid solves the same max-min problem, and a
//    lone flow takes latency + size / bandwidth, as in codesim;
//  * each transfer is a mailbox put_async/get_async pair between two
//    short-lived actors on its source and destination hosts (not sendto,
//    whose global list is O(n) per completion in 3.32); compute tasks are
//    actors that sleep; contexts/guard-size:0 for many actors;
//  * SimGrid keeps process-wide state that cannot be re-initialised, so each
//    replay runs in a fork()ed child that sends the results back by pipe.
//
// Limits: a route with several weighted paths (spraying) becomes one comm
// per path with bytes in proportion to the weight (independent sub-flows,
// not one coupled flow); faults and message overhead are not replayed;
// ECMP/adaptive routes may pair differently with equal-(src,dst) transfers
// that start at the same instant. Use it for small and mid-sized checks
// (SimGrid is 10-100x slower; tests keep it to seconds), codesim's engine
// for everything else.
#pragma once

#include <string>

#include "sim/flow_network.hpp"
#include "sim/task_graph.hpp"

namespace codesim::sim {

// True when codesim was built with SimGrid (CODESIM_WITH_SIMGRID).
bool simgrid_available();

// Replays `graph` on SimGrid. Fills tasks[].start/end/started/finished and
// makespan; network statistics are left zero. On failure (no SimGrid, or
// the child failed) returns false and sets `error`.
bool replay_simgrid(const TaskGraph& graph, const LinkTable& links, PathSelector& selector,
                    ReplayResult& out, std::string& error);

}  // namespace codesim::sim
