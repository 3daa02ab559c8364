// CompletionFormatter: OpenAI's response objects for one generation, as a whole
// (chat.completion / text_completion) or as SSE events (chat.completion.chunk / text_completion
// chunks), exactly in the order OpenAI sends them:
//
//   role chunk (chat) -> content chunks -> finish chunk -> usage chunk (include_usage) -> [DONE]
//
//   CompletionFormatter f(CompletionKind::kChat, "chat", /*include_usage=*/true);
//   stream.Write(f.RoleChunk());
//   stream.Write(f.ContentChunk("Once"));
//   stream.Write(f.FinishChunk(FinishReason::kStop));
//   stream.Write(f.UsageChunk(result));
//   stream.Write(CompletionFormatter::Done());
//
// Thread-safety: const methods are safe from many threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/json.h"
#include "modelrt/model.h"
#include "server/error_mapper.h"
#include "server/http_message.h"

namespace modelrt::server {

enum class CompletionKind { kChat, kText };

class CompletionFormatter {
 public:
  CompletionFormatter(CompletionKind kind, std::string model, bool include_usage);

  // The non-streaming response.
  Json Response(const GenerateResult& result) const;

  // SSE events ("data: {...}\n\n").
  std::string RoleChunk() const;  // chat only; "" for text completions
  std::string ContentChunk(std::string_view text) const;
  std::string FinishChunk(FinishReason reason) const;
  std::string UsageChunk(const GenerateResult& result) const;  // "" unless include_usage
  static std::string ErrorEvent(const ApiError& error);
  static std::string Done() { return "data: [DONE]\n\n"; }

  const std::string& id() const { return id_; }

 private:
  Json ChunkBase() const;
  static std::string Event(const Json& json);

  CompletionKind kind_;
  std::string model_;
  bool include_usage_;
  std::string id_;
  int64_t created_;
};

// "stop" or "length"; a cancelled generation reports "stop" (nobody reads it).
std::string_view OpenAiFinishReason(FinishReason reason);

// Length of the longest prefix of `text` that does not end inside a UTF-8 sequence, so a token
// that ends mid-character is held back until the next one completes it.
size_t CompleteUtf8Prefix(std::string_view text);

}  // namespace modelrt::server
