// How deep JSON text nests, checked before it is parsed. nlohmann parses any depth without
// recursing, but copying, comparing and dumping a value recurse once per level: a 120 KB body of
// 60,000 nested arrays overflows a thread's 8 MiB stack well inside any body limit. Every parser
// of untrusted JSON (request bodies, upstream answers, batch lines) refuses text deeper than its
// limit first.
//
//   if (JsonNestsDeeperThan(body, 128)) return InvalidArgumentError("nested too deep");
//
// Thread-safety: a pure function.
#pragma once

#include <string_view>

namespace modelrt {

// Whether `text` opens more than `limit` arrays and objects inside each other (brackets inside
// strings do not count). Malformed text is left to the parser.
bool JsonNestsDeeperThan(std::string_view text, int limit);

}  // namespace modelrt
