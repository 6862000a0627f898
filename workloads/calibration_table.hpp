// File: workloads/calibration_table.hpp
//
// The compute model side by side with the H800 measurements it was
// calibrated on (workloads/calibration.yaml): DeepGEMM's FP8 GEMM tables
// (132 SMs) and the per-layer kernel means of profile-data train.json (GEMMs
// on 112 SMs). The measured values are calibration inputs, listed with their
// source in calibration_table.cpp; nothing else in codesim reads them.
// `codesim calibrate` prints the table; tests/workloads/compute_model_test.cpp
// checks it.
#pragma once

#include <string>
#include <vector>

#include "workloads/compute_model.hpp"

namespace codesim::workloads {

struct CalibrationRow {
  std::string kernel;
  std::string source;  // "DeepGEMM", "train.json"
  bool fitted = false;  // the row was used to fit a constant (vs only checked)
  double measured_ms = 0;
  double modelled_ms = 0;
  double error() const { return measured_ms > 0 ? modelled_ms / measured_ms - 1 : 0; }
};

// H800 SXM5 as the calibration data saw it (topology catalog preset h800_sxm).
GpuCompute h800_compute();

std::vector<CalibrationRow> calibration_table(const ComputeCalibration& cal);

}  // namespace codesim::workloads
