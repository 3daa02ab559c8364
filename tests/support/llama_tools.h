// Test support: runs llama.cpp's own tools (built by scripts/setup into LLAMA_BIN_DIR) to compare
// our engines against them.
//
//   #include "support/llama_tools.h"
//   if (!HaveLlamaTool("llama-embedding")) GTEST_SKIP();
//   std::string json = RunLlamaEmbedding("-m model.gguf -p 'hello' --embd-output-format json");
//
// Thread-safety: thread-safe.
#pragma once

#include <string>

namespace modelrt::testing {

// Whether LLAMA_BIN_DIR/<name> exists.
bool HaveLlamaTool(const std::string& name);

// Runs llama-embedding with `args` (plus "-t 1") and returns its stdout, which must be JSON
// output (--embd-output-format json). llama.cpp's logger thread may lose the tail of the output
// at exit (it leaks its singleton on purpose, llama.cpp issue 22142), so a run whose JSON is cut
// short is retried a few times. Empty when no run completed.
std::string RunLlamaEmbedding(const std::string& args);

}  // namespace modelrt::testing
