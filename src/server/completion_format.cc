#include "server/completion_format.h"

#include <chrono>

#include "core/json.h"
#include "server/request_id.h"

namespace modelrt::server {
namespace {

Json UsageJson(const GenerateResult& result) {
  return {{"prompt_tokens", result.prompt_tokens},
          {"completion_tokens", result.completion_tokens},
          {"total_tokens", result.prompt_tokens + result.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", result.cached_tokens}}}};
}

Json TokenBytes(const std::string& token) {
  Json bytes = Json::array();
  for (unsigned char c : token) bytes.push_back(static_cast<int>(c));
  return bytes;
}

Json ToolCallsJson(const std::vector<ToolCall>& calls, bool with_index) {
  Json out = Json::array();
  for (size_t i = 0; i < calls.size(); ++i) {
    Json call = {{"id", calls[i].id},
                 {"type", "function"},
                 {"function", {{"name", calls[i].name}, {"arguments", calls[i].arguments}}}};
    if (with_index) call["index"] = i;
    out.push_back(std::move(call));
  }
  return out;
}

}  // namespace

std::string_view OpenAiFinishReason(FinishReason reason) {
  switch (reason) {
    case FinishReason::kLength: return "length";
    case FinishReason::kToolCalls: return "tool_calls";
    default: return "stop";
  }
}

Json CompletionFormatter::LogprobsJson(const std::vector<TokenLogprob>& logprobs) const {
  if (kind_ == CompletionKind::kChat) {
    Json content = Json::array();
    for (const TokenLogprob& lp : logprobs) {
      Json top = Json::array();
      for (const auto& [token, logprob] : lp.top)
        top.push_back({{"token", token}, {"logprob", logprob}, {"bytes", TokenBytes(token)}});
      content.push_back({{"token", lp.token},
                         {"logprob", lp.logprob},
                         {"bytes", TokenBytes(lp.token)},
                         {"top_logprobs", std::move(top)}});
    }
    return {{"content", std::move(content)}, {"refusal", nullptr}};
  }
  Json tokens = Json::array(), token_logprobs = Json::array(), top = Json::array(),
       offsets = Json::array();
  size_t offset = 0;
  for (const TokenLogprob& lp : logprobs) {
    tokens.push_back(lp.token);
    token_logprobs.push_back(lp.logprob);
    Json alternatives = Json::object();
    for (const auto& [token, logprob] : lp.top) {
      if (!alternatives.contains(token)) alternatives[token] = logprob;
    }
    top.push_back(std::move(alternatives));
    offsets.push_back(offset);
    offset += lp.token.size();
  }
  return {{"tokens", std::move(tokens)},
          {"token_logprobs", std::move(token_logprobs)},
          {"top_logprobs", std::move(top)},
          {"text_offset", std::move(offsets)}};
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
                                         bool include_usage, bool logprobs)
    : kind_(kind),
      model_(std::move(model)),
      include_usage_(include_usage),
      logprobs_(logprobs),
      id_(NewResponseId(kind == CompletionKind::kChat ? "chatcmpl-" : "cmpl-")),
      created_(std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count()) {}

GenerateResult CombinedUsage(std::span<const GenerateResult> results) {
  GenerateResult usage;
  if (results.empty()) return usage;
  usage.prompt_tokens = results.front().prompt_tokens;
  usage.cached_tokens = results.front().cached_tokens;
  for (const GenerateResult& r : results) usage.completion_tokens += r.completion_tokens;
  return usage;
}

Json CompletionFormatter::Response(std::span<const GenerateResult> results) const {
  Json choices = Json::array();
  for (size_t i = 0; i < results.size(); ++i) choices.push_back(Choice(results[i], static_cast<int>(i)));
  return {{"id", id_},
          {"object", kind_ == CompletionKind::kChat ? "chat.completion" : "text_completion"},
          {"created", created_},
          {"model", model_},
          {"choices", std::move(choices)},
          {"usage", UsageJson(CombinedUsage(results))}};
}

Json CompletionFormatter::Choice(const GenerateResult& result, int index) const {
  Json choice = {{"index", index},
                 {"logprobs", logprobs_ ? LogprobsJson(result.logprobs) : Json(nullptr)},
                 {"finish_reason", OpenAiFinishReason(result.finish_reason)}};
  if (kind_ == CompletionKind::kChat) {
    Json message = {{"role", "assistant"}, {"content", result.text}, {"refusal", nullptr}};
    if (!result.tool_calls.empty()) {
      // OpenAI sends null content beside calls when the model wrote nothing else.
      if (result.text.empty()) message["content"] = nullptr;
      message["tool_calls"] = ToolCallsJson(result.tool_calls, /*with_index=*/false);
    }
    if (!result.reasoning_content.empty()) message["reasoning_content"] = result.reasoning_content;
    choice["message"] = std::move(message);
  } else {
    choice["text"] = result.text;
  }
  return choice;
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

std::string CompletionFormatter::RoleChunk(int index) const {
  if (kind_ != CompletionKind::kChat) return "";
  Json chunk = ChunkBase();
  chunk["choices"] = Json::array({{{"index", index},
                                   {"delta", {{"role", "assistant"}, {"content", ""}}},
                                   {"logprobs", nullptr},
                                   {"finish_reason", nullptr}}});
  if (include_usage_) chunk["usage"] = nullptr;
  return Event(chunk);
}

std::string CompletionFormatter::ContentChunk(std::string_view text, int index) const {
  Json chunk = ChunkBase();
  Json choice = {{"index", index}, {"logprobs", nullptr}, {"finish_reason", nullptr}};
  if (kind_ == CompletionKind::kChat) {
    choice["delta"] = {{"content", text}};
  } else {
    choice["text"] = text;
  }
  chunk["choices"] = Json::array({std::move(choice)});
  if (include_usage_) chunk["usage"] = nullptr;
  return Event(chunk);
}

std::string CompletionFormatter::ReplyPartsChunk(const GenerateResult& result, int index) const {
  if (kind_ != CompletionKind::kChat || (result.tool_calls.empty() && result.reasoning_content.empty()))
    return "";
  Json delta = Json::object();
  if (!result.reasoning_content.empty()) delta["reasoning_content"] = result.reasoning_content;
  if (!result.tool_calls.empty()) delta["tool_calls"] = ToolCallsJson(result.tool_calls, /*with_index=*/true);
  Json chunk = ChunkBase();
  chunk["choices"] = Json::array(
      {{{"index", index}, {"delta", std::move(delta)}, {"logprobs", nullptr}, {"finish_reason", nullptr}}});
  if (include_usage_) chunk["usage"] = nullptr;
  return Event(chunk);
}

std::string CompletionFormatter::FinishChunk(const GenerateResult& result, int index) const {
  const FinishReason reason = result.finish_reason;
  Json chunk = ChunkBase();
  Json choice = {{"index", index},
                 {"logprobs", logprobs_ ? LogprobsJson(result.logprobs) : Json(nullptr)},
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
