#include "server/completion_format.h"

#include <chrono>

#include "core/json.h"
#include "server/request_id.h"

namespace modelrt::server {
namespace {

Json UsageJson(const GenerateResult& result) {
  return {{"prompt_tokens", result.prompt_tokens},
          {"completion_tokens", result.completion_tokens},
          {"total_tokens", result.prompt_tokens + result.completion_tokens}};
}

}  // namespace

std::string_view OpenAiFinishReason(FinishReason reason) {
  return reason == FinishReason::kLength ? "length" : "stop";
}

size_t CompleteUtf8Prefix(std::string_view text) {
  // Look back over at most 3 trailing bytes for the start of an unfinished sequence.
  size_t n = text.size();
  for (size_t back = 1; back <= 4 && back <= n; ++back) {
    unsigned char c = static_cast<unsigned char>(text[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    size_t need = (c & 0x80) == 0 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
                : (c & 0xF8) == 0xF0 ? 4 : 1;  // invalid lead bytes pass through
    return back < need ? n - back : n;
  }
  return n;  // only continuation bytes: invalid, let the JSON writer replace them
}

CompletionFormatter::CompletionFormatter(CompletionKind kind, std::string model,
                                         bool include_usage)
    : kind_(kind),
      model_(std::move(model)),
      include_usage_(include_usage),
      id_(NewResponseId(kind == CompletionKind::kChat ? "chatcmpl-" : "cmpl-")),
      created_(std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count()) {}

Json CompletionFormatter::Response(const GenerateResult& result) const {
  Json choice = {{"index", 0}, {"logprobs", nullptr},
                 {"finish_reason", OpenAiFinishReason(result.finish_reason)}};
  if (kind_ == CompletionKind::kChat) {
    choice["message"] = {{"role", "assistant"}, {"content", result.text}, {"refusal", nullptr}};
  } else {
    choice["text"] = result.text;
  }
  return {{"id", id_},
          {"object", kind_ == CompletionKind::kChat ? "chat.completion" : "text_completion"},
          {"created", created_},
          {"model", model_},
          {"choices", Json::array({std::move(choice)})},
          {"usage", UsageJson(result)}};
}

Json CompletionFormatter::ChunkBase() const {
  Json chunk = {{"id", id_},
                {"object", kind_ == CompletionKind::kChat ? "chat.completion.chunk"
                                                          : "text_completion"},
                {"created", created_},
                {"model", model_}};
  return chunk;
}

std::string CompletionFormatter::Event(const Json& json) {
  return "data: " + json.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n\n";
}

std::string CompletionFormatter::RoleChunk() const {
  if (kind_ != CompletionKind::kChat) return "";
  Json chunk = ChunkBase();
  chunk["choices"] = Json::array({{{"index", 0},
                                   {"delta", {{"role", "assistant"}, {"content", ""}}},
                                   {"logprobs", nullptr},
                                   {"finish_reason", nullptr}}});
  if (include_usage_) chunk["usage"] = nullptr;
  return Event(chunk);
}

std::string CompletionFormatter::ContentChunk(std::string_view text) const {
  Json chunk = ChunkBase();
  Json choice = {{"index", 0}, {"logprobs", nullptr}, {"finish_reason", nullptr}};
  if (kind_ == CompletionKind::kChat) {
    choice["delta"] = {{"content", text}};
  } else {
    choice["text"] = text;
  }
  chunk["choices"] = Json::array({std::move(choice)});
  if (include_usage_) chunk["usage"] = nullptr;
  return Event(chunk);
}

std::string CompletionFormatter::FinishChunk(FinishReason reason) const {
  Json chunk = ChunkBase();
  Json choice = {{"index", 0}, {"logprobs", nullptr},
                 {"finish_reason", OpenAiFinishReason(reason)}};
  if (kind_ == CompletionKind::kChat) {
    choice["delta"] = Json::object();
  } else {
    choice["text"] = "";
  }
  chunk["choices"] = Json::array({std::move(choice)});
  if (include_usage_) chunk["usage"] = nullptr;
  return Event(chunk);
}

std::string CompletionFormatter::UsageChunk(const GenerateResult& result) const {
  if (!include_usage_) return "";
  Json chunk = ChunkBase();
  chunk["choices"] = Json::array();
  chunk["usage"] = UsageJson(result);
  return Event(chunk);
}

std::string CompletionFormatter::ErrorEvent(const ApiError& error) {
  return Event(ErrorBody(error));
}

}  // namespace modelrt::server
