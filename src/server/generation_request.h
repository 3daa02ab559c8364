// Parses OpenAI chat-completion and completion requests into a GenerateRequest, applying the
// profile (system prompt prepended, default parameters under the request's own) and the server
// limits (max_tokens_limit).
//
//   MODELRT_ASSIGN_OR_RETURN(GenerationCall call,
//                            ParseChatRequest(body, resolver, limits));
//   handle.Generate(call.request, on_piece, ctx);
//
// Accepted parameters: model, messages | prompt, stream, stream_options.include_usage, stop,
// max_tokens, max_completion_tokens, temperature, top_p, seed, presence_penalty,
// frequency_penalty, logit_bias, logprobs (+ top_logprobs), response_format, tools,
// tool_choice, parallel_tool_calls, and llama.cpp's top_k, min_p, repeat_penalty,
// repeat_last_n, ignore_eos and grammar, and n (up to server.max_choices). Options that would
// change the answer's meaning and are not supported (best_of, echo, suffix, the deprecated
// functions) are InvalidArgument rather than silently ignored.
//
// Thread-safety: free functions.
#pragma once

#include "core/json.h"
#include "modelrt/catalog.h"
#include "modelrt/model.h"
#include "modelrt/model_names.h"
#include "server/http_message.h"

namespace modelrt::server {

struct GenerationCall {
  ResolvedModel model;
  GenerateRequest request;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  int n = 1;  // choices: n generations of the same request (seed + i for choice i, when seeded)
};

Result<GenerationCall> ParseChatRequest(const Json& body, const ModelNames& resolver,
                                        const ServerConfig& limits);
Result<GenerationCall> ParseCompletionRequest(const Json& body, const ModelNames& resolver,
                                              const ServerConfig& limits);

// The profile's default parameters (sampling, max_tokens, stop) on `request`, for the doors
// that read their own fields afterwards (Anthropic's, Ollama's). Nothing without a profile.
Status ApplyProfileDefaults(const ResolvedModel& model, const ServerConfig& limits,
                            GenerateRequest* request);

// Parses `messages` (content as a string, an array of text parts, or null for assistants).
Result<std::vector<ChatMessage>> ParseMessages(const Json& body);

}  // namespace modelrt::server
