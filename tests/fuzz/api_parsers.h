// Every request parser of the inference API over one body, as the handlers call them after
// ParseJsonObject: chat and text completions (+ /apply-template), Responses, Anthropic Messages
// (+ count_tokens), Ollama chat/generate/embed, embeddings, the three rerank shapes, and the
// tool fields. Shared by api_body_fuzzer (bytes as JSON) and api_body_mutator_fuzzer (valid
// bodies mutated field by field).
//
//   fuzz::RunApiParsers(body_text);
//
// What a parser accepts is checked against the limits it promises (n, max_tokens, stop strings,
// top_logprobs); a broken promise aborts (fuzz::Fail).
//
// Thread-safety: one input at a time (libFuzzer's).
#pragma once

#include <string>

namespace modelrt::fuzz {

void RunApiParsers(const std::string& body);

}  // namespace modelrt::fuzz
