// Standard base64 (RFC 4648, `+/` alphabet, `=` padding) read back into bytes: tokenizer.json
// carries binary blobs this way (the Precompiled normalizer's charsmap).
//
//   MODELRT_ASSIGN_OR_RETURN(std::string bytes, DecodeBase64(json_string));
//
// Strict, as Rust's base64 STANDARD engine that `tokenizers` reads with: padding required, no
// whitespace, nothing after the padding.
// Thread-safety: a pure function.
#pragma once

#include <string>
#include <string_view>

#include "modelrt/status.h"

namespace modelrt::tokenizer {

// InvalidArgument naming the first offending character and its offset, or a bad length.
Result<std::string> DecodeBase64(std::string_view text);

}  // namespace modelrt::tokenizer
