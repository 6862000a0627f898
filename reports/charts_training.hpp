// File: reports/charts_training.hpp
//
// Pictures and traces of one simulated training step
// (workloads::TrainingResult), for `codesim train --report/--trace`:
//
//   training_timeline_chart   Gantt chart, one lane per pipeline rank, one bar
//                             per pipeline op (F, B, W, FB; label = micro-batch
//                             ids) from result.op_times, then the rank's DP
//                             reduce-scatter + AdamW + all-gather tail
//                             (result.dp_tail) as "DP+opt"
//   training_breakdown_chart  stacked bars of the ISCA'25 Table 4 components
//                             (1F, bubble, 1B, 1W, 1F1B, opt) per rank, s
//   training_cost_chart       $ per trillion tokens: rental, and owned split
//                             into hardware (GPUs, NICs, servers), fabric and
//                             power
//   training_trace            Chrome/Perfetto trace-event JSON: one process,
//                             one track per pipeline rank with its ops and the
//                             DP tail; times in microseconds
//
// Op names: F<m>, B<m>, W<m>, F<m>B<n>; with DualPipe, micro-batches of the
// reverse direction carry a prime (F3', F3'B1); with interleaved 1F1B, one
// prime per chunk past the first (F3'' is chunk 2). The same names label the
// Gantt bars and the trace slices (whose args carry the ids and directions).
//
// All functions are pure. When the result carries no timeline (op_times
// empty) the Gantt chart has lanes and no bars and the trace only metadata.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "reports/svg.hpp"
#include "workloads/training.hpp"

namespace codesim::reports {

// Legend name of an op kind: "F", "B" (full or input-gradient), "W", "FB".
std::string pipe_op_category(workloads::PipeOpKind k);
// "F3", "B3" (input-only: also "B3"), "W3", "F3'B1" (see above).
// `dualpipe`: mark directions or chunks (DualPipe, DualPipeV, interleaved).
std::string pipe_op_name(const workloads::PipeOp& op, bool dualpipe);

svg::GanttChart training_timeline_chart(const workloads::TrainingResult& r);
svg::BarChart training_breakdown_chart(const workloads::TrainingResult& r);
// `lifetime_years` is the amortisation period the result was computed with
// (TrainingOptions::lifetime_years): it splits the owned cost into hardware
// and fabric; power is the rest of usd_per_trillion_owned.
svg::BarChart training_cost_chart(const workloads::TrainingResult& r, double lifetime_years);
nlohmann::json training_trace(const workloads::TrainingResult& r, const std::string& name);

}  // namespace codesim::reports
