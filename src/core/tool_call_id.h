// Ids for tool calls whose producer gave none (a local model's reply, Ollama's and Gemini's
// answers): "call_<24 hex>", as OpenAI's look, unique enough that a conversation never repeats
// one.
//
// Thread-safety: thread-safe (a generator per thread).
#pragma once

#include <string>

namespace modelrt {

std::string NewToolCallId();

}  // namespace modelrt
