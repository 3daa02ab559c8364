// Test support: the same random-weight BERT written twice, as GGUF by the project's test-model
// writer and as a Hugging Face ONNX directory (model.onnx, tokenizer.json, configs) by
// tools/onnx_test_model.py (Debian's python3-onnx and numpy), so the llama.cpp and ONNX Runtime
// engines can check each other on the same weights. Written once per test process.
//
//   OnnxTestFiles files = OnnxTestModel({.kind = llama::TestModelKind::kBertEmbed});
//   spec.model = files.dir;   // the onnx provider's model; files.gguf for the llama provider
//
// Thread-safety: thread-safe (generation happens under a lock).
#pragma once

#include <string>

#include "providers/llama/test_model_writer.h"

namespace modelrt::testing {

struct OnnxTestFiles {
  std::string gguf;
  std::string dir;
};

// `spec.path` is ignored (a name in TestTempDir() is chosen). `token_types` false writes an
// embedder graph without a token_type_ids input (cross-encoders never have one: see the
// script). Aborts the test process when either writer fails.
OnnxTestFiles OnnxTestModel(llama::TestModelSpec spec, bool token_types = true);

}  // namespace modelrt::testing
