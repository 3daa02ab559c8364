#include "server/ollama_api.h"

#include <chrono>
#include <ctime>
#include <memory>
#include <set>

#include "core/json.h"
#include "providers/llama/json_schema_grammar.h"
#include "server/completion_format.h"
#include "server/error_mapper.h"
#include "server/generation_writer.h"
#include "server/generation_request.h"
#include "server/json_fields.h"
#include "server/later_answer.h"
#include "server/model_availability.h"
#include "server/tool_request.h"
#include "server/work_estimate.h"

namespace modelrt::server {
namespace {

// The Ollama version reported: one whose API this server follows, so clients that check a
// minimum version accept it.
constexpr const char* kOllamaVersion = "0.12.0";
constexpr size_t kMaxStop = 16;

// Ollama's error shape, with the status and the message of the shared (OpenAI-shaped) errors.
HttpResponse OllamaError(const HttpResponse& openai_shaped) {
  return ReshapeError(openai_shaped, [](int, const std::string& message) {
    return Json{{"error", message}};
  });
}
HttpResponse OllamaError(const Status& status) { return OllamaError(ErrorResponse(status)); }

std::string Now() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count() % 1000000000;
  char frac[16];
  std::snprintf(frac, sizeof(frac), ".%09lldZ", static_cast<long long>(ns));
  return std::string(buf) + frac;
}

// Over the profile's defaults (ApplyProfileDefaults): only what the request sets changes.
Status ParseOptions(const Json& body, const ServerConfig& limits, GenerateRequest* r) {
  const Json* options = FindField(body, "options");
  if (options == nullptr) return OkStatus();
  if (!options->is_object()) return InvalidArgumentError("options must be an object");
  static const std::set<std::string> kEngine = {"num_ctx", "num_batch", "num_gpu", "main_gpu",
                                                "num_thread", "use_mmap", "use_mlock", "numa",
                                                "low_vram", "num_keep"};
  static const std::set<std::string> kSampling = {
      "temperature", "top_p", "top_k", "min_p", "seed", "num_predict", "stop", "repeat_penalty",
      "repeat_last_n", "presence_penalty", "frequency_penalty"};
  for (const auto& [key, value] : options->items()) {
    if (!kEngine.contains(key) && !kSampling.contains(key)) {
      return InvalidArgumentError("options." + key + " is not supported");
    }
  }
  SamplingParams& s = r->sampling;
  auto number = [&](const char* key, double min, double max, float* out) -> Status {
    MODELRT_ASSIGN_OR_RETURN(std::optional<double> v, OptionalNumber(*options, key, min, max));
    if (v) *out = static_cast<float>(*v);
    return OkStatus();
  };
  MODELRT_RETURN_IF_ERROR(number("temperature", 0, 2, &s.temperature));
  MODELRT_RETURN_IF_ERROR(number("top_p", 0, 1, &s.top_p));
  MODELRT_RETURN_IF_ERROR(number("min_p", 0, 1, &s.min_p));
  MODELRT_RETURN_IF_ERROR(number("repeat_penalty", 0, 10, &s.repeat_penalty));
  MODELRT_RETURN_IF_ERROR(number("presence_penalty", -2, 2, &s.presence_penalty));
  MODELRT_RETURN_IF_ERROR(number("frequency_penalty", -2, 2, &s.frequency_penalty));
  MODELRT_ASSIGN_OR_RETURN(std::optional<int64_t> top_k, OptionalInt(*options, "top_k", 0, 1 << 20));
  if (top_k) s.top_k = static_cast<int>(*top_k);
  MODELRT_ASSIGN_OR_RETURN(std::optional<int64_t> last_n, OptionalInt(*options, "repeat_last_n", 0, 1 << 20));
  if (last_n) s.repeat_last_n = static_cast<int>(*last_n);
  MODELRT_ASSIGN_OR_RETURN(std::optional<int64_t> seed, OptionalInt(*options, "seed", INT64_MIN, INT64_MAX));
  if (seed) s.seed = static_cast<uint32_t>(static_cast<uint64_t>(*seed));
  // num_predict -1 (or -2) means "until done", as far as this server allows.
  MODELRT_ASSIGN_OR_RETURN(std::optional<int64_t> predict,
                           OptionalInt(*options, "num_predict", -2, limits.max_tokens_limit));
  if (predict && *predict > 0) r->max_tokens = static_cast<int>(*predict);
  if (predict && *predict == 0) return InvalidArgumentError("options.num_predict must not be 0");
  if (FindField(*options, "stop")) {
    MODELRT_ASSIGN_OR_RETURN(r->stop, OptionalStringList(*options, "stop", kMaxStop));
  }
  return OkStatus();
}

Status ParseFormat(const Json& body, GenerateRequest* r) {
  const Json* format = FindField(body, "format");
  if (format == nullptr || (format->is_string() && format->get_ref<const std::string&>().empty())) return OkStatus();
  std::string schema;
  if (format->is_string() && *format == "json") schema = R"({"type": "object"})";
  else if (format->is_object()) schema = format->dump();
  else return InvalidArgumentError("format must be \"json\" or a JSON schema object");
  Result<std::string> grammar = llama::JsonSchemaToGrammar(schema);
  if (!grammar) return InvalidArgumentError("format: " + grammar.error().message());
  r->sampling.grammar = *std::move(grammar);
  return OkStatus();
}

Status ParseOllamaTools(const Json& body, GenerateRequest* r) {
  const Json* tools = FindField(body, "tools");
  if (tools == nullptr) return OkStatus();
  if (!tools->is_array()) return InvalidArgumentError("tools must be an array");
  for (size_t i = 0; i < tools->size(); ++i) {
    const Json& t = (*tools)[i];
    const std::string where = "tools[" + std::to_string(i) + "]";
    const Json* function = t.is_object() ? FindField(t, "function") : nullptr;
    if (!function || !function->is_object()) return InvalidArgumentError(where + ".function must be an object");
    MODELRT_ASSIGN_OR_RETURN(ToolSpec spec, ParseFunction(*function, where + ".function", "parameters",
                                                          /*schema_required=*/false));
    r->tools.push_back(std::move(spec));
  }
  if (!r->tools.empty() && !r->sampling.grammar.empty()) {
    return InvalidArgumentError("tools cannot be combined with format");
  }
  return OkStatus();
}

// Ollama's messages: tool calls carry arguments as objects and no ids; a tool message answers
// the earliest call not yet answered.
Status ParseOllamaMessages(const Json& body, GenerateRequest* r) {
  const Json* messages = FindField(body, "messages");
  if (!messages || !messages->is_array()) return InvalidArgumentError("messages must be an array");
  std::vector<std::string> unanswered;
  int next_id = 0;
  for (size_t i = 0; i < messages->size(); ++i) {
    const Json& m = (*messages)[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return InvalidArgumentError(where + " must be an object");
    ChatMessage message;
    MODELRT_ASSIGN_OR_RETURN(message.role, RequiredString(m, "role"));
    if (message.role != "system" && message.role != "user" && message.role != "assistant" && message.role != "tool") {
      return InvalidArgumentError(where + ".role must be system, user, assistant or tool");
    }
    MODELRT_ASSIGN_OR_RETURN(std::optional<std::string> content, OptionalString(m, "content"));
    message.content = content.value_or("");
    if (const Json* images = FindField(m, "images"); images && !images->empty()) {
      return InvalidArgumentError(where + ".images: image input is not supported");
    }
    if (const Json* calls = FindField(m, "tool_calls")) {
      if (!calls->is_array()) return InvalidArgumentError(where + ".tool_calls must be an array");
      for (const Json& c : *calls) {
        const Json* f = c.is_object() ? FindField(c, "function") : nullptr;
        if (!f || !f->is_object()) return InvalidArgumentError(where + ".tool_calls[].function must be an object");
        ToolCall call;
        MODELRT_ASSIGN_OR_RETURN(call.name, RequiredString(*f, "name"));
        const Json* args = FindField(*f, "arguments");
        call.arguments = args ? (args->is_string() ? args->get<std::string>() : args->dump()) : "{}";
        call.id = c.is_object() && c.contains("id") && c["id"].is_string() ? c["id"].get<std::string>()
                                                                            : "call_" + std::to_string(next_id++);
        unanswered.push_back(call.id);
        message.tool_calls.push_back(std::move(call));
      }
    }
    if (message.role == "tool") {
      MODELRT_ASSIGN_OR_RETURN(std::optional<std::string> name, OptionalString(m, "tool_name"));
      message.name = name.value_or("");
      if (!unanswered.empty()) {
        message.tool_call_id = unanswered.front();
        unanswered.erase(unanswered.begin());
      }
    }
    r->messages.push_back(std::move(message));
  }
  if (r->messages.empty()) return InvalidArgumentError("messages must not be empty");
  return OkStatus();
}

Json OllamaToolCalls(const std::vector<ToolCall>& calls) {
  Json out = Json::array();
  for (const ToolCall& c : calls) {
    Json args = Json::parse(c.arguments, nullptr, false);
    out.push_back({{"function", {{"name", c.name}, {"arguments", args.is_discarded() ? Json::object() : args}}}});
  }
  return out;
}

// One chat or generate answered later, as NDJSON lines or one object.
class PendingOllama {
 public:
  PendingOllama(const HandlerDeps& deps, bool chat, const GenerationCall& call, RequestContext& ctx,
                AdmissionControl::Ticket ticket, std::function<void(HttpResponse)> finish)
      : deps_(deps), chat_(chat), alias_(call.model.alias), model_(call.model.name),
        streamed_(call.stream && ctx.stream), ctx_(ctx), ticket_(std::move(ticket)),
        finish_(std::move(finish)), start_(Clock::now()), out_(ctx, NdjsonHeaders()) {}

  bool streamed() const { return streamed_; }

  bool OnPiece(std::string_view piece) {
    if (out_.gone()) return false;
    std::string text = out_.TakeText(piece);
    if (text.empty()) return true;
    return out_.Begin() && out_.Write(Line(Piece(std::move(text))));
  }

  void Done(Result<GenerateResult> result) {
    ticket_.Release();
    HttpResponse response;
    if (!result) {
      HttpResponse failure = OllamaError(CallFailureResponse(deps_, alias_, result.error()));
      if (!out_.begun()) response = std::move(failure);
      else out_.Write(failure.body + "\n");
    } else {
      ctx_.prompt_tokens = result->prompt_tokens;
      ctx_.completion_tokens = result->completion_tokens;
      ctx_.generation = result->generation;
      if (streamed_) {
        if (out_.Begin()) {
          if (std::string rest = out_.TakeRest(); !rest.empty()) out_.Write(Line(Piece(std::move(rest))));
          out_.Write(Line(Final(*result, /*whole=*/false)));
        }
      } else {
        response = JsonResponse(200, Final(*result, /*whole=*/true));
      }
    }
    std::function<void(HttpResponse)> finish = std::move(finish_);
    finish(std::move(response));
  }

 private:
  Json Piece(std::string text) const {
    Json out = {{"model", model_}, {"created_at", Now()}};
    if (chat_) out["message"] = {{"role", "assistant"}, {"content", std::move(text)}};
    else out["response"] = std::move(text);
    out["done"] = false;
    return out;
  }

  Json Final(const GenerateResult& r, bool whole) const {
    Json out = {{"model", model_}, {"created_at", Now()}};
    const std::string text = whole ? r.text : "";
    if (chat_) {
      Json message = {{"role", "assistant"}, {"content", text}};
      if (!r.reasoning_content.empty()) message["thinking"] = r.reasoning_content;
      if (!r.tool_calls.empty()) message["tool_calls"] = OllamaToolCalls(r.tool_calls);
      out["message"] = std::move(message);
    } else {
      out["response"] = text;
      if (!r.reasoning_content.empty()) out["thinking"] = r.reasoning_content;
    }
    const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start_).count();
    out["done"] = true;
    out["done_reason"] = r.finish_reason == FinishReason::kLength ? "length" : "stop";
    out["total_duration"] = ns;
    out["load_duration"] = 0;
    out["prompt_eval_count"] = r.prompt_tokens - r.cached_tokens;  // evaluated, as Ollama counts
    out["prompt_eval_duration"] = 0;
    out["eval_count"] = r.completion_tokens;
    out["eval_duration"] = ns;
    return out;
  }

  static std::string Line(const Json& json) {
    return json.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  }

  static HttpHeaders NdjsonHeaders() {
    HttpHeaders headers;
    headers.Set("Content-Type", "application/x-ndjson");
    return headers;
  }

  const HandlerDeps deps_;
  const bool chat_;
  const std::string alias_, model_;
  const bool streamed_;
  RequestContext& ctx_;
  AdmissionControl::Ticket ticket_;
  std::function<void(HttpResponse)> finish_;
  const Clock::time_point start_;
  GenerationWriter out_;
};

Json Details(const ModelStatus* status) {
  return {{"format", "gguf"},
          {"family", ""},
          {"families", Json::array()},
          {"parameter_size", ""},
          {"quantization_level", ""},
          {"parent_model", ""},
          {"description", status ? status->info.description : ""}};
}

std::string_view Capability(Task task) {
  switch (task) {
    case Task::kEmbed: return "embedding";
    case Task::kRerank: return "rerank";
    case Task::kGenerate: return "completion";
  }
  return "completion";
}

}  // namespace

Result<GenerationCall> ParseOllamaGenerate(const Json& body, bool chat, const ModelNames& resolver,
                                           const ServerConfig& limits) {
  GenerationCall c;
  MODELRT_ASSIGN_OR_RETURN(std::string name, RequiredString(body, "model"));
  GenerateRequest& r = c.request;
  if (chat) {
    MODELRT_RETURN_IF_ERROR(ParseOllamaMessages(body, &r));
  } else {
    MODELRT_ASSIGN_OR_RETURN(r.prompt, RequiredString(body, "prompt", /*allow_empty=*/true));
    if (r.prompt.empty()) return InvalidArgumentError("prompt must not be empty");
    MODELRT_ASSIGN_OR_RETURN(std::optional<bool> raw, OptionalBool(body, "raw"));
    MODELRT_ASSIGN_OR_RETURN(std::optional<std::string> system, OptionalString(body, "system"));
    if (!raw.value_or(false)) {
      // Ollama renders a generate prompt with the model's template, as one user turn.
      if (system && !system->empty()) r.messages.push_back({.role = "system", .content = *system});
      r.messages.push_back({.role = "user", .content = r.prompt});
    }
    if (FindField(body, "images")) return InvalidArgumentError("images: image input is not supported");
    if (FindField(body, "suffix")) return InvalidArgumentError("suffix is not supported");
  }
  MODELRT_ASSIGN_OR_RETURN(
      c.model, resolver.Resolve(name, Task::kGenerate, chat ? "/api/chat" : "/api/generate"));
  r.max_tokens = limits.max_tokens_limit;
  MODELRT_RETURN_IF_ERROR(ApplyProfileDefaults(c.model, limits, &r));
  MODELRT_RETURN_IF_ERROR(ParseOptions(body, limits, &r));
  MODELRT_RETURN_IF_ERROR(ParseFormat(body, &r));
  if (chat) MODELRT_RETURN_IF_ERROR(ParseOllamaTools(body, &r));
  MODELRT_ASSIGN_OR_RETURN(std::optional<bool> stream, OptionalBool(body, "stream"));
  c.stream = stream.value_or(true);  // Ollama streams unless told not to
  c.model.ApplyTo(r);
  return c;
}

Result<ResolvedModel> ParseOllamaEmbed(const Json& body, const ModelNames& resolver,
                                       const ServerConfig& limits, EmbedRequest* request) {
  MODELRT_ASSIGN_OR_RETURN(std::string name, RequiredString(body, "model"));
  const Json* input = FindField(body, "input");
  if (!input) return InvalidArgumentError("input is required");
  if (input->is_string()) {
    request->inputs.push_back({.text = input->get<std::string>()});
  } else if (input->is_array() && !input->empty()) {
    if (input->size() > static_cast<size_t>(limits.max_batch_inputs)) {
      return InvalidArgumentError("input has " + std::to_string(input->size()) + " texts; at most " +
                                  std::to_string(limits.max_batch_inputs));
    }
    for (const Json& text : *input) {
      if (!text.is_string()) return InvalidArgumentError("input must be a string or an array of strings");
      request->inputs.push_back({.text = text.get<std::string>()});
    }
  } else {
    return InvalidArgumentError("input must be a string or a non-empty array of strings");
  }
  MODELRT_ASSIGN_OR_RETURN(request->truncate, OptionalBool(body, "truncate"));
  if (!request->truncate) request->truncate = true;  // Ollama truncates unless told not to
  MODELRT_ASSIGN_OR_RETURN(std::optional<int64_t> dimensions, OptionalInt(body, "dimensions", 1, 1 << 16));
  if (dimensions) request->dimensions = static_cast<int>(*dimensions);
  return resolver.Resolve(name, Task::kEmbed, "/api/embed");
}

HttpResponse OllamaHandler::operator()(const HttpRequest& request, RequestContext& ctx) const {
  switch (action_) {
    case Action::kVersion: return JsonResponse(200, {{"version", kOllamaVersion}});
    case Action::kTags: return Tags();
    case Action::kPs: return Ps();
    default: break;
  }
  Result<Json> body = ParseJsonObject(request.body);
  if (!body) return OllamaError(body.error());
  if (action_ == Action::kShow) return Show(*body);
  if (action_ == Action::kEmbed) return Embed(*body, ctx);
  return Generate(*body, ctx);
}

HttpResponse OllamaHandler::Generate(const Json& body, RequestContext& ctx) const {
  LaterAnswer later(ctx);
  const bool chat = action_ == Action::kChat;
  Result<GenerationCall> call = ParseOllamaGenerate(body, chat, *deps_.resolver, *deps_.limits);
  if (!call) return OllamaError(call.error());
  ctx.model = call->model.name;
  AdmissionControl::Admission admitted =
      deps_.admission->Admit(call->model.alias, EstimateWork(call->request), ctx.call.start_by);
  if (!admitted.ticket) return OllamaError(RefusalResponse(admitted));
  Result<GeneratorHandle> handle = deps_.runtime->Generator(call->model.alias);
  if (!handle) return OllamaError(handle.error());
  auto pending = std::make_shared<PendingOllama>(deps_, chat, *call, ctx, std::move(*admitted.ticket),
                                                 later.TakeFinish());
  TokenCallback on_piece;
  if (pending->streamed()) on_piece = [pending](std::string_view p) { return pending->OnPiece(p); };
  handle->GenerateAsync(std::move(call->request), std::move(on_piece), ctx.call,
                        [pending](Result<GenerateResult> r) { pending->Done(std::move(r)); });
  return later.Pending();
}

HttpResponse OllamaHandler::Embed(const Json& body, RequestContext& ctx) const {
  LaterAnswer later(ctx);
  EmbedRequest request;
  Result<ResolvedModel> model = ParseOllamaEmbed(body, *deps_.resolver, *deps_.limits, &request);
  if (!model) return OllamaError(model.error());
  ctx.model = model->name;
  AdmissionControl::Admission admitted =
      deps_.admission->Admit(model->alias, EstimateWork(request), ctx.call.start_by);
  if (!admitted.ticket) return OllamaError(RefusalResponse(admitted));
  Result<EmbeddingHandle> handle = deps_.runtime->Embedding(model->alias);
  if (!handle) return OllamaError(handle.error());
  auto ticket = std::make_shared<AdmissionControl::Ticket>(std::move(*admitted.ticket));
  const auto start = Clock::now();
  handle->EmbedAsync(std::move(request), ctx.call,
                     [deps = deps_, alias = model->alias, name = model->name, ticket, start, &ctx,
                      finish = later.TakeFinish()](Result<EmbedResult> result) {
                       ticket->Release();
                       if (!result) return finish(OllamaError(CallFailureResponse(deps, alias, result.error())));
                       ctx.prompt_tokens = result->prompt_tokens;
                       ctx.generation = result->generation;
                       Json embeddings = Json::array();
                       for (const auto& e : result->embeddings) embeddings.push_back(e);
                       const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
                       finish(JsonResponse(200, {{"model", name},
                                                 {"embeddings", std::move(embeddings)},
                                                 {"total_duration", ns},
                                                 {"load_duration", 0},
                                                 {"prompt_eval_count", result->prompt_tokens}}));
                     });
  return later.Pending();
}

HttpResponse OllamaHandler::Tags() const {
  Json models = Json::array();
  for (const ModelListing& m : deps_.resolver->List()) {
    Result<ModelStatus> status = deps_.runtime->Describe(m.alias);
    models.push_back({{"name", m.id},
                      {"model", m.id},
                      {"modified_at", Now()},
                      {"size", status && status->state == ModelState::kLoaded ? status->info.memory_bytes : 0},
                      {"digest", ""},
                      {"details", Details(status ? &*status : nullptr)}});
  }
  return JsonResponse(200, {{"models", std::move(models)}});
}

HttpResponse OllamaHandler::Ps() const {
  Json models = Json::array();
  for (const ModelStatus& s : deps_.runtime->List()) {
    if (s.state != ModelState::kLoaded) continue;
    models.push_back({{"name", s.spec.alias},
                      {"model", s.spec.alias},
                      {"size", s.info.memory_bytes},
                      {"digest", ""},
                      {"details", Details(&s)},
                      {"expires_at", "0001-01-01T00:00:00Z"},
                      {"size_vram", s.device == "gpu" ? s.info.memory_bytes : 0}});
  }
  return JsonResponse(200, {{"models", std::move(models)}});
}

HttpResponse OllamaHandler::Show(const Json& body) const {
  Result<Json> answer = [&]() -> Result<Json> {
    MODELRT_ASSIGN_OR_RETURN(std::string name, RequiredString(body, "model"));
    MODELRT_ASSIGN_OR_RETURN(ResolvedModel model, deps_.resolver->Resolve(name));
    Result<ModelStatus> status = deps_.runtime->Describe(model.alias);
    // "tools" is left out: whether a template renders tools shows only when one is asked to.
    Json capabilities = Json::array({Capability(model.task)});
    return Json{{"modelfile", ""},
                {"parameters", ""},
                {"template", ""},
                {"details", Details(status ? &*status : nullptr)},
                {"model_info", {{"general.context_length", status ? status->info.context_length : 0}}},
                {"capabilities", std::move(capabilities)},
                {"modified_at", Now()}};
  }();
  if (!answer) return OllamaError(answer.error());
  return JsonResponse(200, *answer);
}

}  // namespace modelrt::server
