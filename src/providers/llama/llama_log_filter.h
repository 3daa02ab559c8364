// What of llama.cpp's own log reaches ours. Its GGUF reader quotes what it read from the file
// when the file is bad (`invalid magic characters: 'root'`, `key 'x' has invalid GGUF type`):
// an admin pointing a model at /etc/passwd would copy the file's bytes into the server log.
// Those quotes are redacted; the rest of the line (which function, what was wrong) is kept.
//
//   std::string line = RedactLlamaLogLine("gguf_init_from_file_impl: invalid magic ...");
//
// Thread-safety: a pure function.
#pragma once

#include <string>
#include <string_view>

namespace modelrt::llama {

// `line` with every single-quoted part that holds file contents replaced by '<redacted>':
// lines of the GGUF reader (gguf_*) but its "failed to open GGUF file '<path>'" (the path is
// ours, not the file's), and any line about the file's magic. Other lines are returned as-is.
std::string RedactLlamaLogLine(std::string_view line);

}  // namespace modelrt::llama
