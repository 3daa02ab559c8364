// Typing of plain (unquoted) YAML scalars by the YAML 1.2 core schema.
//
//   ResolvePlainScalar("42")    -> 42          ResolvePlainScalar("0x1f") -> 31
//   ResolvePlainScalar("-1.5")  -> -1.5        ResolvePlainScalar(".inf") -> infinity
//   ResolvePlainScalar("true")  -> true        ResolvePlainScalar("~")    -> null
//   ResolvePlainScalar("1.2.3") -> "1.2.3"     ResolvePlainScalar("yes")  -> "yes" (1.2, not 1.1)
//
// Thread-safety: a pure function; safe from any thread.
#pragma once

#include <string_view>

#include "core/json.h"
#include "modelrt/catalog.h"

namespace modelrt::catalog {

// The Json value a plain scalar denotes. Integers too large for int64 become uint64 when
// positive, else doubles. Never fails: what matches no other type is a string.
Json ResolvePlainScalar(std::string_view text);

}  // namespace modelrt::catalog
