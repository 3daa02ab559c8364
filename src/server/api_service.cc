#include "server/api_service.h"

#include <exception>

#include "core/logging.h"
#include "jobs/file_store.h"
#include "server/admin_jobs_handler.h"
#include "server/admin_models_handler.h"
#include "server/admin_ops_handler.h"
#include "server/admin_store_handler.h"
#include "server/admin_registry_handler.h"
#include "server/batches_handler.h"
#include "server/completions_handler.h"
#include "server/embeddings_handler.h"
#include "server/error_mapper.h"
#include "server/files_handler.h"
#include "server/messages_handler.h"
#include "server/responses_handler.h"
#include "server/models_handler.h"
#include "server/ollama_api.h"
#include "server/ops_handler.h"
#include "server/rerank_handler.h"
#include "server/tokenize_handler.h"

namespace modelrt::server {

ApiService::ApiService(HandlerDeps deps, ServerMetrics* server_metrics, ApiKeyAuth auth,
                       AdminKeyAuth admin, int64_t created)
    : auth_(std::move(auth)), admin_(std::move(admin)) {
  const RouteOptions open_inline{.auth = false, .inline_ok = true};
  const RouteOptions inline_ok{.auth = true, .inline_ok = true};
  const RouteOptions later{.auth = true, .inline_ok = false, .answers_later = true};
  using Ops = OpsHandler::Kind;
  router_.Add("GET", "/health", OpsHandler(deps, server_metrics, Ops::kHealth), open_inline);
  // Open like /health so orchestrators' readiness probes need no key.
  router_.Add("GET", "/ready", OpsHandler(deps, server_metrics, Ops::kReady), open_inline);
  router_.Add("GET", "/metrics", OpsHandler(deps, server_metrics, Ops::kMetrics), inline_ok);
  router_.Add("GET", "/v1/models", ModelsHandler(deps, ModelsHandler::Mode::kList, created),
              inline_ok);
  router_.Add("GET", "/v1/models/{id}", ModelsHandler(deps, ModelsHandler::Mode::kGet, created),
              inline_ok);
  router_.Add("POST", "/v1/embeddings", EmbeddingsHandler(deps), later);
  router_.Add("POST", "/v1/chat/completions", CompletionsHandler(deps, CompletionKind::kChat),
              later);
  router_.Add("POST", "/v1/completions", CompletionsHandler(deps, CompletionKind::kText), later);
  using Shape = RerankHandler::Shape;
  router_.Add("POST", "/v1/rerank", RerankHandler(deps, Shape::kV1), later);
  router_.Add("POST", "/v2/rerank", RerankHandler(deps, Shape::kCohereV2), later);
  router_.Add("POST", "/rerank", RerankHandler(deps, Shape::kTei), later);
  // llama-server's tokenizer endpoints; they may wait for a model to load.
  const RouteOptions blocking{.auth = true, .inline_ok = false};
  using Tokens = TokenizeHandler::Action;
  router_.Add("POST", "/tokenize", TokenizeHandler(deps, Tokens::kTokenize), blocking);
  router_.Add("POST", "/detokenize", TokenizeHandler(deps, Tokens::kDetokenize), blocking);
  router_.Add("POST", "/apply-template", TokenizeHandler(deps, Tokens::kApplyTemplate), blocking);
  // OpenAI's Responses API, Anthropic's Messages API and Ollama's API: other front doors to
  // the same models.
  router_.Add("POST", "/v1/responses", ResponsesHandler(deps), later);
  router_.Add("POST", "/v1/messages", MessagesHandler(deps, MessagesHandler::Action::kCreate), later);
  router_.Add("POST", "/v1/messages/count_tokens",
              MessagesHandler(deps, MessagesHandler::Action::kCountTokens), blocking);
  using Ollama = OllamaHandler::Action;
  router_.Add("POST", "/api/chat", OllamaHandler(deps, Ollama::kChat), later);
  router_.Add("POST", "/api/generate", OllamaHandler(deps, Ollama::kGenerate), later);
  router_.Add("POST", "/api/embed", OllamaHandler(deps, Ollama::kEmbed), later);
  router_.Add("GET", "/api/tags", OllamaHandler(deps, Ollama::kTags), inline_ok);
  router_.Add("GET", "/api/ps", OllamaHandler(deps, Ollama::kPs), inline_ok);
  router_.Add("POST", "/api/show", OllamaHandler(deps, Ollama::kShow), inline_ok);
  router_.Add("GET", "/api/version", OllamaHandler(deps, Ollama::kVersion), inline_ok);
  AddJobRoutes(deps);
  if (deps.control != nullptr) AddAdminRoutes(deps);
}

void ApiService::AddJobRoutes(const HandlerDeps& deps) {
  // Files and batches touch the disk and the job store: off the I/O threads.
  const RouteOptions blocking{.auth = true, .inline_ok = false};
  RouteOptions upload = blocking;
  // Room for the multipart framing around a file of the largest size allowed.
  if (deps.files != nullptr) upload.max_body_bytes = deps.files->max_file_bytes() + (1 << 20);
  using Files = FilesHandler::Action;
  router_.Add("POST", "/v1/files", FilesHandler(deps, Files::kUpload), upload);
  router_.Add("GET", "/v1/files", FilesHandler(deps, Files::kList), blocking);
  router_.Add("GET", "/v1/files/{id}", FilesHandler(deps, Files::kGet), blocking);
  router_.Add("GET", "/v1/files/{id}/content", FilesHandler(deps, Files::kContent), blocking);
  router_.Add("DELETE", "/v1/files/{id}", FilesHandler(deps, Files::kDelete), blocking);
  using Batches = BatchesHandler::Action;
  router_.Add("POST", "/v1/batches", BatchesHandler(deps, Batches::kCreate), blocking);
  router_.Add("GET", "/v1/batches", BatchesHandler(deps, Batches::kList), blocking);
  router_.Add("GET", "/v1/batches/{id}", BatchesHandler(deps, Batches::kGet), blocking);
  router_.Add("POST", "/v1/batches/{id}/cancel", BatchesHandler(deps, Batches::kCancel), blocking);
}

void ApiService::AddAdminRoutes(const HandlerDeps& deps) {
  const RouteOptions admin_inline{.admin = true, .inline_ok = true};
  // Loads, reloads and registry writes wait for models: never on an I/O thread.
  const RouteOptions admin_blocking{.admin = true, .inline_ok = false};
  using Models = AdminModelsHandler::Action;
  auto models = [&](Models action) { return AdminModelsHandler(deps, action); };
  router_.Add("GET", "/admin/models", models(Models::kList), admin_inline);
  router_.Add("POST", "/admin/models", models(Models::kCreate), admin_blocking);
  router_.Add("GET", "/admin/models/{alias}", models(Models::kGet), admin_inline);
  router_.Add("DELETE", "/admin/models/{alias}", models(Models::kDelete), admin_blocking);
  router_.Add("POST", "/admin/models/{alias}/load", models(Models::kLoad), admin_blocking);
  router_.Add("POST", "/admin/models/{alias}/unload", models(Models::kUnload), admin_blocking);
  router_.Add("POST", "/admin/models/{alias}/reload", models(Models::kReload), admin_blocking);
  router_.Add("GET", "/admin/models/{alias}/versions", models(Models::kVersions), admin_inline);

  using Ops = AdminOpsHandler::Action;
  using Store = AdminStoreHandler::Action;
  router_.Add("GET", "/admin/store", AdminStoreHandler(deps, Store::kList), admin_inline);
  router_.Add("GET", "/admin/store/{owner}/{repo}", AdminStoreHandler(deps, Store::kGet), admin_inline);
  // Removing re-reads the blob directory: off the I/O threads.
  router_.Add("DELETE", "/admin/store/{owner}/{repo}", AdminStoreHandler(deps, Store::kDelete),
              admin_blocking);
  using Jobs = AdminJobsHandler::Action;
  router_.Add("POST", "/admin/jobs", AdminJobsHandler(deps, Jobs::kSubmit), admin_blocking);
  router_.Add("GET", "/admin/jobs", AdminJobsHandler(deps, Jobs::kList), admin_blocking);
  router_.Add("GET", "/admin/jobs/{id}", AdminJobsHandler(deps, Jobs::kGet), admin_blocking);
  router_.Add("POST", "/admin/jobs/{id}/cancel", AdminJobsHandler(deps, Jobs::kCancel),
              admin_blocking);
  // SSE: holds an admin thread while the client follows the job.
  router_.Add("GET", "/admin/jobs/{id}/events", AdminJobsHandler(deps, Jobs::kEvents),
              admin_blocking);
  router_.Add("GET", "/admin/pool", AdminOpsHandler(deps, Ops::kPool), admin_inline);
  router_.Add("GET", "/admin/reloads", AdminOpsHandler(deps, Ops::kReloads), admin_inline);
  router_.Add("POST", "/admin/config/reload", AdminOpsHandler(deps, Ops::kConfigReload),
              admin_blocking);

  using Registry = AdminRegistryHandler::Action;
  auto registry = [&](Registry action) { return AdminRegistryHandler(deps, action); };
  router_.Add("GET", "/admin/registry", registry(Registry::kSnapshot), admin_inline);
  router_.Add("GET", "/admin/providers", registry(Registry::kProviders), admin_inline);
  router_.Add("GET", "/admin/providers/{id}", registry(Registry::kGetProvider), admin_inline);
  router_.Add("PUT", "/admin/providers/{id}", registry(Registry::kPutProvider), admin_blocking);
  router_.Add("DELETE", "/admin/providers/{id}", registry(Registry::kDeleteProvider),
              admin_blocking);
  router_.Add("GET", "/admin/providers/{id}/removal-preview", registry(Registry::kRemovalPreview),
              admin_inline);
}

bool ApiService::RunsInline(const HttpRequest& request) const {
  RouteMatch match = router_.Match(request.method, request.path);
  return match.kind != RouteMatch::Kind::kFound || match.route->options.inline_ok;
}

bool ApiService::AnswersLater(const HttpRequest& request) const {
  RouteMatch match = router_.Match(request.method, request.path);
  return match.kind == RouteMatch::Kind::kFound && match.route->options.answers_later;
}

int64_t ApiService::BodyLimit(std::string_view method, std::string_view path,
                              int64_t fallback) const {
  RouteMatch match = router_.Match(method, path);
  if (match.kind != RouteMatch::Kind::kFound || match.route->options.max_body_bytes <= 0) {
    return fallback;
  }
  return match.route->options.max_body_bytes;
}

HttpResponse ApiService::Handle(const HttpRequest& request, RequestContext& ctx) const {
  RouteMatch match = router_.Match(request.method, request.path);
  if (match.kind == RouteMatch::Kind::kMethodNotAllowed) {
    return ErrorResponse(MethodNotAllowedError(request.method, request.path));
  }
  if (match.kind == RouteMatch::Kind::kNotFound) {
    return ErrorResponse(RouteNotFoundError(request.method, request.path));
  }
  ctx.route = match.route->pattern;
  ctx.params = std::move(match.params);
  if (match.route->options.admin) {
    if (std::optional<ApiError> denied = admin_.Check(request.Header("Authorization"))) {
      return ErrorResponse(*denied);
    }
  } else if (match.route->options.auth) {
    // Anthropic's clients send the key as x-api-key; it counts as the bearer token.
    std::string authorization(request.Header("Authorization"));
    if (authorization.empty() && !request.Header("x-api-key").empty())
      authorization = "Bearer " + std::string(request.Header("x-api-key"));
    Status auth = auth_.Check(authorization);
    if (!auth.ok()) return ErrorResponse(auth);
  }
  return Run(*match.route, request, ctx);
}

HttpResponse ApiService::HandleInternal(const HttpRequest& request, RequestContext& ctx) const {
  RouteMatch match = router_.Match(request.method, request.path);
  if (match.kind != RouteMatch::Kind::kFound) {
    return ErrorResponse(RouteNotFoundError(request.method, request.path));
  }
  if (match.route->options.admin) {
    return ErrorResponse(PermissionDeniedError("jobs cannot call the admin API"));
  }
  ctx.route = match.route->pattern;
  ctx.params = std::move(match.params);
  return Run(*match.route, request, ctx);
}

HttpResponse ApiService::Run(const Route& route, const HttpRequest& request,
                             RequestContext& ctx) const {
  try {
    return route.handler(request, ctx);
  } catch (const nlohmann::json::exception& e) {
    // A shape the handler did not validate: the client's input, not a server fault.
    return ErrorResponse(InvalidArgumentError(std::string("invalid request: ") + e.what()));
  } catch (const std::exception& e) {
    Log("http")->error("request_id={} handler for {} threw: {}", ctx.request_id, ctx.route,
                       e.what());
    return ErrorResponse(InternalError("internal error"));
  } catch (...) {
    Log("http")->error("request_id={} handler for {} threw", ctx.request_id, ctx.route);
    return ErrorResponse(InternalError("internal error"));
  }
}

}  // namespace modelrt::server
