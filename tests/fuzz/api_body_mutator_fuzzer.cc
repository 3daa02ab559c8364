// Structure-aware: valid API bodies, changed field by field as the input says, through every
// request parser (api_parsers.h). Bytes as JSON (api_body_fuzzer) mostly stop at the JSON
// parser; here every input is a well-formed body close to a real one, so the parsers' deeper
// branches (tool calls answering tool messages, profiles under request fields, schemas inside
// response_format) are where the mutations land.
//
// The input is a program: byte 0 picks a seed body (kSeeds), then each step is
//   [op] [node] [value bytes...]
// op % 8: replace the node / delete it / add a known field to it (an object) or append to it (an
// array) / wrap it in an array / wrap it in an object under a known key / copy another node over
// it / set an edge number / set a known string. `node` picks among the body's nodes (pre-order).
// Strings made here are valid UTF-8, as every string nlohmann's parser returns is.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "api_parsers.h"
#include "core/json.h"
#include "fuzz_util.h"

namespace {

using modelrt::Json;

constexpr const char* kSeeds[] = {
    R"({"model": "chat", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}], "max_tokens": 16, "temperature": 0.7, "stop": ["\n"], "seed": 42})",
    R"({"model": "brief", "messages": [{"role": "user", "content": [{"type": "text", "text": "What is the weather?"}]}, {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]}, {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}], "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}], "tool_choice": "auto", "parallel_tool_calls": true, "stream": true, "stream_options": {"include_usage": true}})",
    R"({"model": "chat", "messages": [{"role": "developer", "content": "JSON only"}, {"role": "user", "content": "a cat"}], "response_format": {"type": "json_schema", "json_schema": {"name": "pet", "schema": {"type": "object", "properties": {"name": {"type": "string"}, "legs": {"type": "integer"}}}}}, "logprobs": true, "top_logprobs": 3, "n": 2, "logit_bias": {"15": -100, "42": 5}, "max_completion_tokens": 64, "top_k": 40, "min_p": 0.05, "repeat_penalty": 1.1, "presence_penalty": 0.5, "frequency_penalty": -0.5})",
    R"({"model": "chat", "prompt": "Once upon a time", "max_tokens": 32, "logprobs": 2, "echo": false, "suffix": "", "best_of": 1, "grammar": "root ::= [a-z]+", "ignore_eos": true})",
    R"({"model": "chat", "instructions": "Be kind.", "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Weather?"}]}, {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"}, {"type": "function_call_output", "call_id": "c1", "output": "rain"}, {"type": "reasoning", "summary": []}], "tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}], "tool_choice": {"type": "function", "name": "get_weather"}, "text": {"format": {"type": "json_schema", "name": "w", "schema": {"type": "object"}}}, "max_output_tokens": 100, "metadata": {"k": "v"}})",
    R"({"model": "chat", "max_tokens": 256, "system": [{"type": "text", "text": "You are terse."}], "messages": [{"role": "user", "content": "Weather in Paris?"}, {"role": "assistant", "content": [{"type": "text", "text": "Checking."}, {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}]}, {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "sunny"}]}]}], "tools": [{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}], "tool_choice": {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": true}, "stop_sequences": ["END"], "temperature": 0.5, "top_p": 0.9, "top_k": 20, "stream": false, "thinking": {"type": "disabled"}})",
    R"({"model": "chat", "messages": [{"role": "user", "content": "Weather?"}, {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}]}, {"role": "tool", "content": "snow", "tool_name": "get_weather"}], "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}], "format": "json", "options": {"temperature": 0.1, "num_predict": 64, "num_ctx": 4096, "stop": ["\n"], "seed": 3, "top_k": 10}, "stream": false, "keep_alive": "5m"})",
    R"({"model": "brief", "prompt": "Why is the sky blue?", "system": "Short answers.", "raw": false, "format": {"type": "object", "properties": {"a": {"type": "string"}}}, "options": {"num_predict": -1}})",
    R"({"model": "embed", "input": ["hello world", "second text"], "encoding_format": "base64", "dimensions": 8, "input_type": "query", "truncate": true})",
    R"({"model": "embed", "input": [[101, 7592, 102], [101, 102]]})",
    R"({"model": "rerank", "query": "what is a panda?", "documents": ["The giant panda is a bear.", {"text": "Paris is in France."}], "top_n": 1, "return_documents": true, "max_tokens_per_doc": 512})",
    R"({"query": "what is deep learning?", "texts": ["Deep learning is ...", "cheese"], "raw_scores": false, "return_text": true, "truncate": true})",
};

constexpr const char* kKeys[] = {
    "model", "messages", "role", "content", "type", "text", "tools", "function", "name",
    "parameters", "tool_choice", "input", "instructions", "prompt", "stream", "stream_options",
    "include_usage", "n", "max_tokens", "max_completion_tokens", "stop", "temperature", "top_p",
    "top_k", "min_p", "seed", "logit_bias", "logprobs", "top_logprobs", "response_format",
    "json_schema", "schema", "grammar", "tool_calls", "id", "arguments", "tool_call_id", "system",
    "max_output_tokens", "input_schema", "tool_use_id", "stop_sequences", "options", "num_predict",
    "format", "images", "raw", "documents", "query", "top_n", "return_documents", "texts",
    "raw_scores", "encoding_format", "dimensions", "input_type", "truncate", "thinking",
    "parallel_tool_calls", "previous_response_id", "call_id", "output", "reasoning_content",
    "description", "properties", "required", "items", "anyOf", "$ref", "pattern", "enum",
    "repeat_penalty", "repeat_last_n", "presence_penalty", "frequency_penalty", "ignore_eos",
    "best_of", "echo", "suffix", "functions", "function_call", "background", "conversation",
    "metadata", "strict", "disable_parallel_tool_use", "tool_name", "return_text", "num_ctx",
    "max_tokens_per_doc", "summary", "user", "keep_alive"};

const std::string kStrings[] = {
    "chat", "embed", "rerank", "brief", "bad-profile", "missing", "", "system", "user",
    "assistant", "tool", "developer", "text", "function", "json_object", "json_schema",
    "tool_use", "tool_result", "message", "function_call", "function_call_output", "reasoning",
    "input_text", "output_text", "refusal", "thinking", "redacted_thinking", "enabled", "auto",
    "any", "none", "required", "custom", "float", "base64", "query", "document", "json",
    "get_weather", "call_1", "toolu_1", "object", "string", "integer", "array", "{}", "{\"a\":1}",
    "not json", "\n", " ", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", std::string(300, 'x')};

class Program {
 public:
  Program(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool done() const { return pos_ >= size_; }
  uint8_t Byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint64_t U64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | Byte();
    return v;
  }
  // Up to 64 bytes as valid UTF-8: ASCII as it is, other bytes as U+0080..U+00FF or emoji.
  std::string String() {
    std::string s;
    const size_t n = Byte() % 65;
    for (size_t i = 0; i < n && !done(); ++i) {
      const uint8_t b = Byte();
      if (b < 0x80) {
        s += static_cast<char>(b);
      } else if (b < 0xf0) {
        s += static_cast<char>(0xc0 | (b >> 6));
        s += static_cast<char>(0x80 | (b & 0x3f));
      } else {
        s += "\xf0\x9f\x98\x80";
      }
    }
    return s;
  }
  Json Value(int depth) {
    switch (Byte() % 10) {
      case 0: return nullptr;
      case 1: return Byte() % 2 == 0;
      case 2: return static_cast<int64_t>(U64());
      case 3: return U64();
      case 4: return static_cast<double>(static_cast<int64_t>(U64())) / 1000.0;
      case 5: return String();
      case 6: return kStrings[Byte() % std::size(kStrings)];
      case 7:
      case 8: {
        Json array = Json::array();
        const int n = depth > 3 ? 0 : Byte() % 4;
        for (int i = 0; i < n; ++i) array.push_back(Value(depth + 1));
        return array;
      }
      default: {
        Json object = Json::object();
        const int n = depth > 3 ? 0 : Byte() % 4;
        for (int i = 0; i < n; ++i) object[kKeys[Byte() % std::size(kKeys)]] = Value(depth + 1);
        return object;
      }
    }
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

void Collect(Json& node, std::vector<Json*>& out) {
  out.push_back(&node);
  if (node.is_object() || node.is_array()) {
    for (Json& child : node) Collect(child, out);
  }
}

Json EdgeNumber(uint8_t pick) {
  switch (pick % 14) {
    case 0: return 0;
    case 1: return -1;
    case 2: return 1;
    case 3: return std::numeric_limits<int64_t>::max();
    case 4: return std::numeric_limits<int64_t>::min();
    case 5: return std::numeric_limits<uint64_t>::max();
    case 6: return uint64_t{1} << 63;
    case 7: return 1e308;
    case 8: return -1e308;
    case 9: return 0.5;
    case 10: return 2147483648.0;
    case 11: return 4096;
    case 12: return 4097;
    default: return 9e15;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  modelrt::fuzz::QuietLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Program program(data, size);
  Json body = Json::parse(kSeeds[program.Byte() % std::size(kSeeds)]);
  for (int step = 0; step < 16 && !program.done(); ++step) {
    std::vector<Json*> nodes;
    Collect(body, nodes);
    if (nodes.size() > 4096) break;  // copies of copies: keep a body a real client could send
    const uint8_t op = program.Byte() % 8;
    const size_t index = program.Byte() % nodes.size();
    Json& node = *nodes[index];
    switch (op) {
      case 0: node = program.Value(0); break;
      case 1: {  // delete: find the parent that holds it
        for (Json* parent : nodes) {
          if (parent->is_object()) {
            for (auto it = parent->begin(); it != parent->end(); ++it) {
              if (&*it == &node) {
                parent->erase(it);
                goto deleted;
              }
            }
          } else if (parent->is_array()) {
            for (size_t i = 0; i < parent->size(); ++i) {
              if (&(*parent)[i] == &node) {
                parent->erase(i);
                goto deleted;
              }
            }
          }
        }
        if (index == 0) body = Json::object();
      deleted:
        break;
      }
      case 2:
        if (node.is_object()) {
          node[kKeys[program.Byte() % std::size(kKeys)]] = program.Value(0);
        } else if (node.is_array()) {
          node.push_back(program.Value(0));
        }
        break;
      case 3: node = Json::array({node}); break;
      case 4: node = Json{{kKeys[program.Byte() % std::size(kKeys)], node}}; break;
      case 5: {
        Json copy = *nodes[program.Byte() % nodes.size()];
        node = std::move(copy);
        break;
      }
      case 6: node = EdgeNumber(program.Byte()); break;
      default: node = kStrings[program.Byte() % std::size(kStrings)]; break;
    }
    if (!body.is_object()) body = Json{{"model", "chat"}, {"input", body}};
  }
  modelrt::fuzz::RunApiParsers(body.dump());
  return 0;
}
