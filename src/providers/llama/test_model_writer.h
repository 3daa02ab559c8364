// Writes small random-weight GGUF models with real tokenizers, for tests, benchmarks and the
// demo catalog: a BERT embedder, a BERT reranker (rank pooling with a classifier head) and a
// llama decoder. Weights are meaningless but deterministic: the same spec gives the same bytes.
//
//   MODELRT_RETURN_IF_ERROR(WriteTestModel({.kind = TestModelKind::kBertEmbed,
//                                           .path = "/tmp/embed.gguf"}));
//
// The tokenizers are copied from the vocab-only GGUF files embedded in the library (llama.cpp's
// models/ggml-vocab-bert-bge.gguf and ggml-vocab-llama-spm.gguf).
//
// Thread-safety: WriteTestModel is thread-safe (no shared state; files are written to a unique
// temporary name and renamed into place).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "modelrt/status.h"

namespace modelrt::llama {

enum class TestModelKind { kBertEmbed, kBertRerank, kLlama };
std::string_view ToString(TestModelKind kind);  // "embed", "rerank", "llama"

struct TestModelSpec {
  TestModelKind kind = TestModelKind::kBertEmbed;
  std::string path;   // output file; replaced atomically
  uint32_t seed = 42; // weights ~ N(0, 0.02) from this seed (a reranker head: N(0, 1/E))
  int embd = 64;      // embedding size E (a multiple of heads)
  int layers = 2;     // transformer blocks
  int heads = 4;      // attention heads
  int ff = 128;       // feed-forward size
  int ctx = 512;      // training context (BERT: rows of the position table)
  // Pooling stored in the model: -1 = the kind's default (CLS for embed, RANK for rerank, none
  // for llama), or a llama_pooling_type value (1 mean, 2 cls, 3 last, 4 rank).
  int pooling = -1;
  // tokenizer.chat_template of a llama model ("" = none): a real Jinja template (llama.cpp's
  // models/templates/) makes chats go through it, tools included.
  std::string chat_template;
};

// Writes the model. InvalidArgument for a bad spec (sizes, embd not a multiple of heads, rank
// pooling without the rerank kind), Internal when the file cannot be written.
Status WriteTestModel(const TestModelSpec& spec);

}  // namespace modelrt::llama
