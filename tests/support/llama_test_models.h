// Test support: generated GGUF test models (random weights, real tokenizers), written once per
// test process into a private temporary directory and shared by every test in it.
//
//   #include "support/llama_test_models.h"
//   std::string path = modelrt::testing::TestModel(modelrt::llama::TestModelKind::kBertEmbed);
//   std::string mean = modelrt::testing::TestModel(TestModelKind::kBertEmbed, /*pooling=*/1);
//
// Thread-safety: thread-safe (generation happens under a lock).
#pragma once

#include <cstdint>
#include <string>

#include "providers/llama/test_model_writer.h"

namespace modelrt::testing {

// A temporary directory of this process, removed at exit.
const std::string& TestTempDir();

// The path of a tiny model (E 64, 2 layers, 4 heads, ff 128, ctx 512) of `kind`, generated on
// first use. `pooling` and `seed` as in llama::TestModelSpec. Aborts the test process when the
// writer fails (nothing can be tested without it).
std::string TestModel(llama::TestModelKind kind, int pooling = -1, uint32_t seed = 42);

// A random llama (as TestModel(kLlama)) whose GGUF carries the pinned llama.cpp's
// models/templates/<name>.jinja as its chat template, generated on first use.
std::string TestChatModel(const std::string& template_name);

}  // namespace modelrt::testing
