// Anthropic's Messages API on modelrt's generators: the request (system, messages of content
// blocks: text, tool_use, tool_result; tools with input_schema; tool_choice auto | any | tool |
// none; max_tokens, stop_sequences, temperature, top_p, top_k) as a GenerateRequest, and the
// answer as a `message` object or as the event sequence Anthropic streams:
//
//   message_start -> content_block_start (text) -> ping -> content_block_delta (text_delta)* ->
//   content_block_stop -> [content_block_start (tool_use) -> content_block_delta
//   (input_json_delta) -> content_block_stop]* -> message_delta (stop_reason, usage) ->
//   message_stop
//
// Errors use Anthropic's shape: {"type": "error", "error": {"type": "invalid_request_error",
// "message": ...}}.
//
// Thread-safety: free functions and a formatter with const methods.
#pragma once

#include <string>

#include "core/json.h"
#include "modelrt/catalog.h"
#include "modelrt/model.h"
#include "modelrt/model_names.h"
#include "server/generation_request.h"
#include "server/http_message.h"

namespace modelrt::server {

// POST /v1/messages and /v1/messages/count_tokens bodies. InvalidArgument naming the field.
Result<GenerationCall> ParseAnthropicRequest(const Json& body, const ModelNames& resolver,
                                             const ServerConfig& limits, bool need_max_tokens);

// An error response (OpenAI-shaped, as the shared helpers make them) in Anthropic's shape.
HttpResponse AnthropicErrorResponse(HttpResponse openai_shaped);

class AnthropicFormatter {
 public:
  explicit AnthropicFormatter(std::string model);

  Json Message(const GenerateResult& result) const;

  // SSE events.
  std::string MessageStart(int64_t input_tokens) const;
  std::string TextStart() const;  // content block 0, then a ping
  std::string TextDelta(std::string_view text) const;
  // Ends the text block (when one was started), writes the tool_use blocks, the message delta
  // and message_stop.
  std::string Finish(const GenerateResult& result, bool text_started) const;
  static std::string ErrorEvent(const HttpResponse& openai_shaped);

 private:
  static std::string Event(std::string_view name, const Json& data);

  std::string model_;
  std::string id_;
};

// "end_turn", "max_tokens", "tool_use" or "stop_sequence" (a stop string ended it), and the
// stop_sequence field that goes with it (null unless a stop string did).
std::string_view AnthropicStopReason(const GenerateResult& result);
Json AnthropicStopSequence(const GenerateResult& result);

}  // namespace modelrt::server
