// File: sim/strings.hpp
//
// printf into a std::string, for report lines and result notes. Any length
// (the output is sized first); the format is checked by the compiler.
#pragma once

#include <string>

namespace codesim::sim {

std::string strprintf(const char* format, ...) __attribute__((format(printf, 1, 2)));

}  // namespace codesim::sim
