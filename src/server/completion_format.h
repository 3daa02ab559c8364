// CompletionFormatter: OpenAI's response objects for one generation, as a whole
// (chat.completion / text_completion) or as SSE events (chat.completion.chunk / text_completion
// chunks), exactly in the order OpenAI sends them:
//
//   role chunk (chat) -> content chunks -> reasoning + tool-call chunk (chat, when any) ->
//   finish chunk (with the logprobs, when asked) -> usage chunk (include_usage) -> [DONE]
//
// Tool calls come whole in one delta once the reply is parsed ({index, id, type, function:
// {name, arguments}}): the shape OpenAI streams, in one piece rather than argument fragments.
//
//   CompletionFormatter f(CompletionKind::kChat, "chat", /*include_usage=*/true);
//   stream.Write(f.RoleChunk());
//   stream.Write(f.ContentChunk("Once"));
//   stream.Write(f.FinishChunk(result));
//   stream.Write(f.UsageChunk(result));
//   stream.Write(CompletionFormatter::Done());
//
// Thread-safety: const methods are safe from many threads.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "modelrt/model.h"
#include "server/error_mapper.h"
#include "server/http_message.h"

namespace modelrt::server {

enum class CompletionKind { kChat, kText };

class CompletionFormatter {
 public:
  // `logprobs`: the request asked for them (choices carry them; otherwise null).
  CompletionFormatter(CompletionKind kind, std::string model, bool include_usage,
                      bool logprobs = false);

  // The non-streaming response: one choice per result (n), usage as CombinedUsage's.
  Json Response(const GenerateResult& result) const { return Response({&result, 1}); }
  Json Response(std::span<const GenerateResult> results) const;

  // SSE events ("data: {...}\n\n"), for choice `index`.
  std::string RoleChunk(int index = 0) const;  // chat only; "" for text completions
  std::string ContentChunk(std::string_view text, int index = 0) const;
  // Reasoning and tool calls of a parsed reply; "" when it has none (or for text completions).
  std::string ReplyPartsChunk(const GenerateResult& result, int index = 0) const;
  std::string FinishChunk(const GenerateResult& result, int index = 0) const;
  std::string UsageChunk(const GenerateResult& result) const;  // "" unless include_usage
  static std::string ErrorEvent(const ApiError& error);
  static std::string Done() { return "data: [DONE]\n\n"; }

  const std::string& id() const { return id_; }

 private:
  Json Choice(const GenerateResult& result, int index) const;
  Json ChunkBase() const;
  Json LogprobsJson(const std::vector<TokenLogprob>& logprobs) const;
  static std::string Event(const Json& json);

  CompletionKind kind_;
  std::string model_;
  bool include_usage_;
  bool logprobs_;
  std::string id_;
  int64_t created_;
};

// The usage of n choices as OpenAI counts it: the prompt once (the choices share it), the
// completions together.
GenerateResult CombinedUsage(std::span<const GenerateResult> results);

// "stop" or "length"; a cancelled generation reports "stop" (nobody reads it).
std::string_view OpenAiFinishReason(FinishReason reason);

// Length of the longest prefix of `text` that does not end inside a UTF-8 sequence, so a token
// that ends mid-character is held back until the next one completes it.
size_t CompleteUtf8Prefix(std::string_view text);

}  // namespace modelrt::server
