#include "server/rerank_handler.h"

#include <cmath>
#include <cstdint>

#include "core/json.h"
#include "server/error_mapper.h"
#include "server/json_fields.h"
#include "server/later_answer.h"
#include "server/model_availability.h"
#include "server/request_id.h"
#include "server/served_by.h"
#include "server/work_estimate.h"

namespace modelrt::server {
namespace {

std::string_view EndpointName(RerankHandler::Shape shape) {
  switch (shape) {
    case RerankHandler::Shape::kV1: return "/v1/rerank";
    case RerankHandler::Shape::kCohereV2: return "/v2/rerank";
    case RerankHandler::Shape::kTei: return "/rerank";
  }
  return "rerank";
}

// Documents as strings; /v1 also takes {"text": ...} objects (Jina, llama-server).
Result<std::vector<std::string>> ParseDocuments(const Json& body, std::string_view key,
                                                bool allow_objects, size_t max_documents) {
  const Json* field = FindField(body, key);
  if (!field) return InvalidArgumentError("missing required field '" + std::string(key) + "'");
  if (!field->is_array()) {
    return InvalidArgumentError("'" + std::string(key) + "' must be an array of strings (got " +
                                std::string(JsonTypeName(*field)) + ")");
  }
  if (field->empty()) {
    return InvalidArgumentError("'" + std::string(key) + "' must not be an empty array");
  }
  if (field->size() > max_documents) {
    return InvalidArgumentError("'" + std::string(key) + "' has " +
                                std::to_string(field->size()) + " documents; at most " +
                                std::to_string(max_documents) +
                                " are allowed per request (server.max_rerank_documents)");
  }
  std::vector<std::string> documents;
  documents.reserve(field->size());
  for (size_t i = 0; i < field->size(); ++i) {
    const Json& doc = (*field)[i];
    const Json* text = &doc;
    if (allow_objects && doc.is_object()) text = FindField(doc, "text");
    if (!text || !text->is_string()) {
      return InvalidArgumentError("'" + std::string(key) + "[" + std::to_string(i) +
                                  "]' must be a string" +
                                  (allow_objects ? " or an object with a 'text' string" : ""));
    }
    documents.push_back(text->get<std::string>());
  }
  return documents;
}

}  // namespace

Result<RerankHandler::Call> RerankHandler::Parse(const HttpRequest& request) const {
  const bool tei = shape_ == Shape::kTei;
  Call call;
  MODELRT_ASSIGN_OR_RETURN(Json body, ParseJsonObject(request.body));
  std::string name;
  if (tei) {
    MODELRT_ASSIGN_OR_RETURN(std::optional<std::string> given, OptionalString(body, "model"));
    if (given) {
      name = *given;
    } else {
      std::optional<std::string> first = deps_.resolver->FirstAliasFor(Task::kRerank);
      if (!first) return NotFoundError("no rerank model is configured");
      name = *first;
    }
  } else {
    MODELRT_ASSIGN_OR_RETURN(name, RequiredString(body, "model"));
  }
  MODELRT_ASSIGN_OR_RETURN(std::string query, RequiredString(body, "query"));
  MODELRT_ASSIGN_OR_RETURN(
      std::vector<std::string> documents,
      ParseDocuments(body, tei ? "texts" : "documents", shape_ == Shape::kV1,
                     static_cast<size_t>(deps_.limits->max_rerank_documents)));
  // Any int: what it means (at least 1) is the library's to check.
  MODELRT_ASSIGN_OR_RETURN(std::optional<int64_t> top_n,
                           OptionalInt(body, "top_n", INT32_MIN, INT32_MAX));
  MODELRT_ASSIGN_OR_RETURN(std::optional<bool> return_documents,
                           OptionalBool(body, tei ? "return_text" : "return_documents"));
  MODELRT_ASSIGN_OR_RETURN(std::optional<bool> raw_scores, OptionalBool(body, "raw_scores"));
  call.raw_scores = raw_scores.value_or(false);
  MODELRT_ASSIGN_OR_RETURN(std::optional<bool> truncate, OptionalBool(body, "truncate"));
  // Accepted for Cohere compatibility; the engine truncates to its context instead.
  MODELRT_ASSIGN_OR_RETURN(std::optional<int64_t> max_tokens_per_doc,
                           OptionalInt(body, "max_tokens_per_doc", 1, INT32_MAX));
  (void)max_tokens_per_doc;

  MODELRT_ASSIGN_OR_RETURN(call.model,
                           deps_.resolver->Resolve(name, Task::kRerank, EndpointName(shape_)));
  call.request.query = std::move(query);
  call.request.documents = std::move(documents);
  call.request.truncate = truncate;
  if (top_n) call.request.top_n = static_cast<int>(*top_n);
  call.request.return_documents = return_documents.value_or(false);
  return call;
}

// result.ranked is ordered and cut by the library; here it only takes this shape's names.
HttpResponse RerankHandler::Format(RerankResult& result, const std::string& model, bool with_text,
                                   bool raw_scores) const {
  const bool tei = shape_ == Shape::kTei;
  Json results = Json::array();
  for (RankedDocument& ranked : result.ranked) {
    double score = ranked.score;
    Json item = {{"index", ranked.index}};
    if (tei) {
      item["score"] = raw_scores ? score : 1.0 / (1.0 + std::exp(-score));
      if (with_text) item["text"] = std::move(ranked.document);
    } else {
      item["relevance_score"] = score;
      if (with_text) item["document"] = {{"text", std::move(ranked.document)}};
    }
    results.push_back(std::move(item));
  }
  if (tei) return JsonResponse(200, results);

  Json out = {{"id", NewResponseId("rerank-")}, {"results", std::move(results)}};
  if (shape_ == Shape::kV1) {
    out["model"] = model;
    out["usage"] = {{"prompt_tokens", result.prompt_tokens},
                    {"total_tokens", result.prompt_tokens}};
  } else {
    out["meta"] = {{"api_version", {{"version", "2"}}},
                   {"billed_units", {{"search_units", 1}}},
                   {"tokens", {{"input_tokens", result.prompt_tokens}, {"output_tokens", 0}}}};
  }
  return JsonResponse(200, out);
}

HttpResponse RerankHandler::operator()(const HttpRequest& request, RequestContext& ctx) const {
  LaterAnswer later(ctx);
  Result<Call> call = Parse(request);
  if (!call) return ErrorResponse(call.error());
  ctx.model = call->model.name;
  AdmissionControl::Admission admitted = deps_.admission->Admit(
      call->model.alias, EstimateWork(call->request.query, call->request.documents),
      ctx.call.start_by);
  if (!admitted.ticket) return RefusalResponse(admitted);
  Result<RerankerHandle> handle = deps_.runtime->Reranker(call->model.alias);
  if (!handle) return ErrorResponse(handle.error());
  // From here the request holds no thread: the engine's thread formats the answer.
  auto ticket = std::make_shared<AdmissionControl::Ticket>(std::move(*admitted.ticket));
  const bool with_text = call->request.return_documents;
  handle->RerankAsync(std::move(call->request), ctx.call,
                      [handler = *this, alias = call->model.alias, name = call->model.name,
                       with_text, raw_scores = call->raw_scores, ticket, &ctx,
                       finish = later.TakeFinish()](Result<RerankResult> result) {
                        ticket->Release();
                        if (!result)
                          return finish(CallFailureResponse(handler.deps_, alias, result.error()));
                        ctx.prompt_tokens =
                            result->prompt_tokens;  // ctx lives until finish (the session)
                        ctx.generation = result->generation;
                        const std::optional<std::string> fallback =
                            FallbackThatServed(result->served_by, alias);
                        HttpResponse response = handler.Format(*result, fallback.value_or(name),
                                                               with_text, raw_scores);
                        if (fallback) response.SetHeader(kServedByHeader, *fallback);
                        finish(std::move(response));
                      });
  return later.Pending();
}

}  // namespace modelrt::server
