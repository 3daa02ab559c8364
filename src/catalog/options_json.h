// The parsed object behind an Options value, for the code that reads it (providers, the server's
// profile parameters) and builds it (parsers, tests).
//
//   const Json& o = OptionsJson(spec.options);           // always an object
//   spec.options = MakeOptions({{"threads", 2}});
//
// Thread-safety: free functions over immutable values; safe from any thread.
#pragma once

#include "core/json.h"
#include "modelrt/options.h"

namespace modelrt {

// The options as a JSON object (never null: an empty Options is {}).
const Json& OptionsJson(const Options& options);

// Options holding `object`; null becomes {}. The caller has checked that it is an object.
Options MakeOptions(Json object);

// `options` with `key` set to `value` (a copy; Options never change in place).
Options WithOption(const Options& options, const std::string& key, Json value);

}  // namespace modelrt
