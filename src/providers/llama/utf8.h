// UTF-8 boundary helper for streamed text: token pieces can end in the middle of a multi-byte
// character (byte-fallback tokens), and a piece handed to a client must not.
//
//   pending += piece;
//   size_t n = CompleteUtf8Prefix(pending);   // emit pending[0, n), keep the rest
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string_view>

namespace modelrt::llama {

// The length of the longest prefix of `text` that does not end inside a multi-byte character:
// an incomplete lead sequence at the very end (at most 3 bytes) is left out. Invalid bytes are
// not judged here; they pass through.
size_t CompleteUtf8Prefix(std::string_view text);

}  // namespace modelrt::llama
