// OpenAI's Responses API on modelrt's generators. A request (input as text or items: messages,
// function_call, function_call_output; instructions; function tools; tool_choice; text.format;
// max_output_tokens) is rewritten as the chat-completions body it means and parsed by
// ParseChatRequest, so both doors take the same parameters, profiles and limits. The answer is
// a `response` object whose output holds a message item (output_text), function_call items and
// a reasoning item (when the template splits thinking out), or the event sequence OpenAI streams:
//
//   response.created -> response.in_progress -> [output_item.added (message) ->
//   content_part.added -> output_text.delta* -> output_text.done -> content_part.done ->
//   output_item.done] -> [output_item.added (function_call) -> function_call_arguments.delta ->
//   function_call_arguments.done -> output_item.done]* -> response.completed | .incomplete
//
// Responses are not stored: previous_response_id is a 400 (send the conversation as input).
// Errors are OpenAI's {"error": {...}}.
//
// Thread-safety: free functions and a formatter whose event methods run one at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/json.h"
#include "modelrt/catalog.h"
#include "modelrt/model.h"
#include "modelrt/model_names.h"
#include "server/generation_request.h"
#include "server/http_message.h"

namespace modelrt::server {

// The chat-completions body a POST /v1/responses body asks for. InvalidArgument naming the
// Responses field.
Result<Json> ResponsesToChatBody(const Json& body);

// POST /v1/responses: ResponsesToChatBody, then ParseChatRequest.
Result<GenerationCall> ParseResponsesRequest(const Json& body, const ModelNames& resolver,
                                             const ServerConfig& limits);

class ResponsesFormatter {
 public:
  // `request` is the Responses body (the response object echoes some of its fields).
  ResponsesFormatter(std::string model, const Json& request);

  Json Response(const GenerateResult& result) const;

  // SSE events, numbered in order.
  std::string Created();      // response.created + response.in_progress
  std::string TextStart();    // the message item and its output_text part
  std::string TextDelta(std::string_view text);
  // Ends the message (starting it when no text came and there are no calls), writes the
  // function calls and the final response.completed / response.incomplete.
  std::string Finish(const GenerateResult& result, bool text_started);
  std::string Error(const HttpResponse& openai_shaped);  // an `error` event

 private:
  Json Envelope(std::string_view status) const;  // the response object without output
  Json MessageItem(const std::string& text, std::string_view status) const;
  std::string Event(std::string_view type, Json data);

  std::string model_;
  std::string id_;
  std::string message_id_;
  int64_t created_at_;
  Json echo_;  // request fields the response repeats
  int64_t sequence_ = 0;
};

}  // namespace modelrt::server
