// File: scenarios/evaluators.hpp
//
// The built-in sweep evaluators (one per `mode:` of a sweep file). Each
// reads a resolved scenario tree strictly and returns named metrics with
// units in their names; an invalid point comes back as skipped with the
// first error as its reason.
#pragma once

namespace codesim::scenarios {

// Registers: topology (fabric size, cost, bisection). Training and serving
// evaluators are registered here too once their layers provide them.
void register_builtin_evaluators();

}  // namespace codesim::scenarios
