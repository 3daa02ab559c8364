#include "server/generation_request.h"

#include "catalog/options_json.h"
#include "core/json.h"
#include "providers/llama/json_schema_grammar.h"
#include "server/json_fields.h"
#include "server/tool_request.h"

#include <charconv>
#include <climits>

namespace modelrt::server {
namespace {

constexpr size_t kMaxStopStrings = 16;
constexpr size_t kMaxLogitBias = 1024;

// Request keys a profile's `params` may give defaults for.
constexpr const char* kSamplingKeys[] = {"temperature", "top_p",          "top_k",
                                         "min_p",       "repeat_penalty", "repeat_last_n",
                                         "seed",        "max_tokens",     "stop"};

// The profile's params overlaid with what the request sets (nulls count as unset).
Json MergeWithProfile(const Json& body, const std::optional<ProfileSpec>& profile) {
  Json merged = Json::object();
  if (profile) {
    for (const char* key : kSamplingKeys) {
      if (const Json* v = FindField(OptionsJson(profile->params), key)) merged[key] = *v;
    }
  }
  for (const char* key : kSamplingKeys) {
    if (const Json* v = FindField(body, key)) merged[key] = *v;
  }
  for (const char* key : {"max_completion_tokens", "presence_penalty", "frequency_penalty"}) {
    if (const Json* v = FindField(body, key)) merged[key] = *v;
  }
  return merged;
}

Status RejectUnsupported(const Json& body) {
  MODELRT_ASSIGN_OR_RETURN(std::optional<int64_t> best_of, OptionalInt(body, "best_of", 1, 128));
  if (best_of && *best_of != 1) return InvalidArgumentError("'best_of' must be 1");
  if (FindField(body, "functions") || FindField(body, "function_call")) {
    return InvalidArgumentError("'functions' and 'function_call' are the deprecated API: use "
                                "'tools' and 'tool_choice'");
  }
  if (const Json* echo = FindField(body, "echo"); echo && !(echo->is_boolean() && !echo->get<bool>())) {
    return InvalidArgumentError("'echo' is not supported");
  }
  if (const Json* suffix = FindField(body, "suffix"); suffix && !(suffix->is_string() && suffix->get_ref<const std::string&>().empty())) {
    return InvalidArgumentError("'suffix' is not supported");
  }
  return OkStatus();
}

// response_format (text, json_object, json_schema) and llama-server's raw `grammar` as the GBNF
// grammar sampling must follow.
Status ParseStructuredOutput(const Json& body, std::string* grammar) {
  if (const Json* raw = FindField(body, "grammar")) {
    if (!raw->is_string()) return InvalidArgumentError("'grammar' must be a GBNF string");
    *grammar = raw->get<std::string>();
  }
  const Json* format = FindField(body, "response_format");
  if (format == nullptr || format->is_null()) return OkStatus();
  const Json* type = format->is_object() ? FindField(*format, "type") : nullptr;
  const std::string kind = type && type->is_string() ? type->get<std::string>() : "";
  if (kind == "text") return OkStatus();
  if (kind != "json_object" && kind != "json_schema") {
    return InvalidArgumentError(
        "'response_format.type' must be \"text\", \"json_object\" or \"json_schema\"");
  }
  if (!grammar->empty()) {
    return InvalidArgumentError("'grammar' and a JSON 'response_format' cannot both be given");
  }
  std::string schema = R"({"type": "object"})";
  if (kind == "json_schema") {
    const Json* spec = FindField(*format, "json_schema");
    const Json* inner = spec && spec->is_object() ? FindField(*spec, "schema") : nullptr;
    if (inner == nullptr || !inner->is_object()) {
      return InvalidArgumentError("'response_format.json_schema.schema' must be a JSON schema object");
    }
    schema = inner->dump();
  }
  Result<std::string> gbnf = llama::JsonSchemaToGrammar(schema);
  if (!gbnf) return InvalidArgumentError("'response_format': " + gbnf.error().message());
  *grammar = *std::move(gbnf);
  return OkStatus();
}

// OpenAI's logit_bias: {"token id": bias in [-100, 100]}.
Status ParseLogitBias(const Json& body, SamplingParams* s) {
  const Json* bias = FindField(body, "logit_bias");
  if (bias == nullptr) return OkStatus();
  if (!bias->is_object()) return InvalidArgumentError("'logit_bias' must be an object of token id -> bias");
  if (bias->size() > kMaxLogitBias) {
    return InvalidArgumentError("'logit_bias' has " + std::to_string(bias->size()) +
                                " entries; at most " + std::to_string(kMaxLogitBias));
  }
  for (const auto& [key, value] : bias->items()) {
    int64_t token = -1;
    auto [end, error] = std::from_chars(key.data(), key.data() + key.size(), token);
    if (error != std::errc() || end != key.data() + key.size() || token < 0 || token > INT32_MAX) {
      return InvalidArgumentError("'logit_bias' keys must be token ids (got '" + key + "')");
    }
    if (!value.is_number() || value.get<double>() < -100 || value.get<double>() > 100) {
      return InvalidArgumentError("'logit_bias[" + key + "]' must be a number from -100 to 100");
    }
    s->logit_bias.emplace_back(static_cast<int32_t>(token), value.get<float>());
  }
  return OkStatus();
}

// Chat: logprobs (bool) + top_logprobs (0..20). Completions: logprobs (0..5 alternatives).
Status ParseLogprobs(const Json& body, bool chat, GenerateRequest* request) {
  if (chat) {
    MODELRT_ASSIGN_OR_RETURN(std::optional<bool> on, OptionalBool(body, "logprobs"));
    MODELRT_ASSIGN_OR_RETURN(std::optional<int64_t> top, OptionalInt(body, "top_logprobs", 0, 20));
    if (top && !on.value_or(false)) {
      return InvalidArgumentError("'top_logprobs' needs 'logprobs': true");
    }
    request->logprobs = on.value_or(false);
    request->top_logprobs = static_cast<int>(top.value_or(0));
    return OkStatus();
  }
  MODELRT_ASSIGN_OR_RETURN(std::optional<int64_t> top, OptionalInt(body, "logprobs", 0, 5));
  request->logprobs = top.has_value();
  request->top_logprobs = static_cast<int>(top.value_or(0));
  return OkStatus();
}

// The sampling parameters of a request (or a profile's params), where they are set.
Status ReadSampling(const Json& params, SamplingParams* out) {
  SamplingParams& s = *out;
  MODELRT_ASSIGN_OR_RETURN(std::optional<double> temperature,
                           OptionalNumber(params, "temperature", 0, 2));
  if (temperature) s.temperature = static_cast<float>(*temperature);
  MODELRT_ASSIGN_OR_RETURN(std::optional<double> top_p, OptionalNumber(params, "top_p", 0, 1));
  if (top_p) s.top_p = static_cast<float>(*top_p);
  MODELRT_ASSIGN_OR_RETURN(std::optional<int64_t> top_k, OptionalInt(params, "top_k", 0, 1 << 20));
  if (top_k) s.top_k = static_cast<int>(*top_k);
  MODELRT_ASSIGN_OR_RETURN(std::optional<double> min_p, OptionalNumber(params, "min_p", 0, 1));
  if (min_p) s.min_p = static_cast<float>(*min_p);
  MODELRT_ASSIGN_OR_RETURN(std::optional<double> repeat_penalty,
                           OptionalNumber(params, "repeat_penalty", 0, 10));
  if (repeat_penalty) s.repeat_penalty = static_cast<float>(*repeat_penalty);
  MODELRT_ASSIGN_OR_RETURN(std::optional<int64_t> repeat_last_n,
                           OptionalInt(params, "repeat_last_n", -1, 1 << 20));
  if (repeat_last_n) s.repeat_last_n = static_cast<int>(*repeat_last_n);
  // OpenAI's seed is any 64-bit integer; the engine takes 32 bits.
  MODELRT_ASSIGN_OR_RETURN(std::optional<int64_t> seed,
                           OptionalInt(params, "seed", INT64_MIN, INT64_MAX));
  if (seed) s.seed = static_cast<uint32_t>(static_cast<uint64_t>(*seed));
  // OpenAI's penalties, as llama.cpp's (over the last repeat_last_n tokens).
  MODELRT_ASSIGN_OR_RETURN(std::optional<double> presence,
                           OptionalNumber(params, "presence_penalty", -2, 2));
  MODELRT_ASSIGN_OR_RETURN(std::optional<double> frequency,
                           OptionalNumber(params, "frequency_penalty", -2, 2));
  if (presence) s.presence_penalty = static_cast<float>(*presence);
  if (frequency) s.frequency_penalty = static_cast<float>(*frequency);
  return OkStatus();
}

Status ParseCommon(const Json& body, const ServerConfig& limits, bool chat, GenerationCall* call) {
  MODELRT_RETURN_IF_ERROR(RejectUnsupported(body));
  MODELRT_ASSIGN_OR_RETURN(std::optional<int64_t> n, OptionalInt(body, "n", 1, INT64_MAX));
  if (n && *n > limits.max_choices) {
    return InvalidArgumentError("'n' is " + std::to_string(*n) + " but this server allows at most " +
                                std::to_string(limits.max_choices) + " (server.max_choices)");
  }
  call->n = static_cast<int>(n.value_or(1));
  Json params = MergeWithProfile(body, call->model.profile);
  SamplingParams& s = call->request.sampling;
  MODELRT_RETURN_IF_ERROR(ParseStructuredOutput(body, &s.grammar));
  MODELRT_RETURN_IF_ERROR(ReadSampling(params, &s));
  MODELRT_RETURN_IF_ERROR(ParseLogitBias(body, &s));
  MODELRT_RETURN_IF_ERROR(ParseLogprobs(body, chat, &call->request));

  // max_completion_tokens (newer chat API) wins over max_tokens.
  const char* max_key = chat && FindField(params, "max_completion_tokens")
                            ? "max_completion_tokens" : "max_tokens";
  MODELRT_ASSIGN_OR_RETURN(std::optional<int64_t> max_tokens,
                           OptionalInt(params, max_key, 1, INT64_MAX));
  if (max_tokens && *max_tokens > limits.max_tokens_limit) {
    return InvalidArgumentError("'" + std::string(max_key) + "' is " +
                                std::to_string(*max_tokens) + " but this server allows at most " +
                                std::to_string(limits.max_tokens_limit) +
                                " (server.max_tokens_limit)");
  }
  call->request.max_tokens = static_cast<int>(max_tokens.value_or(limits.max_tokens_limit));
  MODELRT_ASSIGN_OR_RETURN(call->request.stop,
                           OptionalStringList(params, "stop", kMaxStopStrings));

  // llama.cpp server's extension: keep generating past end-of-sequence tokens.
  MODELRT_ASSIGN_OR_RETURN(std::optional<bool> ignore_eos, OptionalBool(body, "ignore_eos"));
  call->request.ignore_eos = ignore_eos.value_or(false);

  MODELRT_ASSIGN_OR_RETURN(std::optional<bool> stream, OptionalBool(body, "stream"));
  call->stream = stream.value_or(false);
  if (const Json* options = FindField(body, "stream_options")) {
    if (!options->is_object()) return InvalidArgumentError("'stream_options' must be an object");
    MODELRT_ASSIGN_OR_RETURN(std::optional<bool> usage, OptionalBool(*options, "include_usage"));
    call->include_usage = usage.value_or(false);
  }
  return OkStatus();
}

Result<std::string> ContentText(const Json& content, const std::string& where) {
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) {
    return InvalidArgumentError(where + " must be a string or an array of text parts");
  }
  std::string text;
  for (const Json& part : content) {
    const Json* type = part.is_object() ? FindField(part, "type") : nullptr;
    const Json* value = part.is_object() ? FindField(part, "text") : nullptr;
    if (!type || !type->is_string() || type->get<std::string>() != "text" || !value ||
        !value->is_string()) {
      return InvalidArgumentError(where + ": only {\"type\": \"text\", \"text\": ...} parts are "
                                  "supported");
    }
    text += value->get<std::string>();
  }
  return text;
}

}  // namespace

Result<std::vector<ChatMessage>> ParseMessages(const Json& body) {
  const Json* messages = FindField(body, "messages");
  if (!messages) return InvalidArgumentError("missing required field 'messages'");
  if (!messages->is_array()) return InvalidArgumentError("'messages' must be an array");
  if (messages->empty()) return InvalidArgumentError("'messages' must not be empty");
  std::vector<ChatMessage> out;
  for (size_t i = 0; i < messages->size(); ++i) {
    const Json& m = (*messages)[i];
    std::string where = "'messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return InvalidArgumentError(where + "' must be an object");
    const Json* role = FindField(m, "role");
    if (!role || !role->is_string()) {
      return InvalidArgumentError(where + ".role' must be a string");
    }
    std::string r = role->get<std::string>();
    if (r == "developer") r = "system";  // OpenAI's newer name for the system role
    if (r != "system" && r != "user" && r != "assistant" && r != "tool") {
      return InvalidArgumentError(where + ".role' must be system, developer, user, assistant or "
                                  "tool (got '" + r + "')");
    }
    ChatMessage message;
    const Json* content = FindField(m, "content");
    if (content) {
      MODELRT_ASSIGN_OR_RETURN(message.content, ContentText(*content, where + ".content'"));
    } else if (r != "assistant") {
      return InvalidArgumentError(where + ".content' is required");
    }
    if (const Json* calls = FindField(m, "tool_calls")) {
      if (r != "assistant") return InvalidArgumentError(where + ".tool_calls' belong to assistant messages");
      MODELRT_ASSIGN_OR_RETURN(message.tool_calls, ParseToolCalls(*calls, where));
    }
    if (r == "tool") {
      MODELRT_ASSIGN_OR_RETURN(message.tool_call_id, RequiredString(m, "tool_call_id"));
      MODELRT_ASSIGN_OR_RETURN(std::optional<std::string> name, OptionalString(m, "name"));
      message.name = name.value_or("");
    }
    if (r == "assistant") {
      MODELRT_ASSIGN_OR_RETURN(std::optional<std::string> reasoning,
                               OptionalString(m, "reasoning_content"));
      message.reasoning_content = reasoning.value_or("");
    }
    message.role = std::move(r);
    out.push_back(std::move(message));
  }
  return out;
}

Status ApplyProfileDefaults(const ResolvedModel& model, const ServerConfig& limits,
                            GenerateRequest* request) {
  if (!model.profile) return OkStatus();
  const Json params = MergeWithProfile(Json::object(), model.profile);
  Status read = [&]() -> Status {
    MODELRT_RETURN_IF_ERROR(ReadSampling(params, &request->sampling));
    MODELRT_ASSIGN_OR_RETURN(std::optional<int64_t> max_tokens,
                             OptionalInt(params, "max_tokens", 1, limits.max_tokens_limit));
    if (max_tokens) request->max_tokens = static_cast<int>(*max_tokens);
    if (FindField(params, "stop")) {
      MODELRT_ASSIGN_OR_RETURN(request->stop, OptionalStringList(params, "stop", kMaxStopStrings));
    }
    return OkStatus();
  }();
  if (!read.ok()) {
    return InvalidArgumentError("profile '" + model.profile->name + "' params: " + read.message());
  }
  return OkStatus();
}

Result<GenerationCall> ParseChatRequest(const Json& body, const ModelNames& resolver,
                                        const ServerConfig& limits) {
  GenerationCall call;
  MODELRT_ASSIGN_OR_RETURN(std::string name, RequiredString(body, "model"));
  MODELRT_ASSIGN_OR_RETURN(call.request.messages, ParseMessages(body));
  MODELRT_ASSIGN_OR_RETURN(call.model,
                           resolver.Resolve(name, Task::kGenerate, "/v1/chat/completions"));
  MODELRT_RETURN_IF_ERROR(ParseCommon(body, limits, /*chat=*/true, &call));
  MODELRT_RETURN_IF_ERROR(ParseTools(body, &call.request));
  if (!call.request.tools.empty() && call.request.tool_choice != ToolChoice::kNone &&
      !call.request.sampling.grammar.empty()) {
    return InvalidArgumentError("'tools' cannot be combined with 'grammar' or a JSON "
                                "'response_format'");
  }
  call.model.ApplyTo(call.request);
  return call;
}

Result<GenerationCall> ParseCompletionRequest(const Json& body, const ModelNames& resolver,
                                              const ServerConfig& limits) {
  GenerationCall call;
  MODELRT_ASSIGN_OR_RETURN(std::string name, RequiredString(body, "model"));
  const Json* prompt = FindField(body, "prompt");
  if (!prompt) return InvalidArgumentError("missing required field 'prompt'");
  if (prompt->is_array() && prompt->size() == 1 && (*prompt)[0].is_string()) prompt = &(*prompt)[0];
  if (!prompt->is_string()) {
    return InvalidArgumentError("'prompt' must be a string (or an array of one string); "
                                "several prompts and token prompts are not supported");
  }
  call.request.prompt = prompt->get<std::string>();
  if (call.request.prompt.empty()) return InvalidArgumentError("'prompt' must not be empty");
  MODELRT_ASSIGN_OR_RETURN(call.model, resolver.Resolve(name, Task::kGenerate, "/v1/completions"));
  MODELRT_RETURN_IF_ERROR(ParseCommon(body, limits, /*chat=*/false, &call));
  call.model.ApplyTo(call.request);
  return call;
}

}  // namespace modelrt::server
