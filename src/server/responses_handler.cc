#include "server/responses_handler.h"

#include <utility>

#include "core/json.h"
#include "server/error_mapper.h"
#include "server/event_stream_answer.h"
#include "server/json_fields.h"
#include "server/later_answer.h"
#include "server/responses_api.h"

namespace modelrt::server {
namespace {

struct ResponsesDoor {
  using Formatter = ResponsesFormatter;
  static HttpResponse Shape(HttpResponse openai_shaped) { return openai_shaped; }
  static std::string Opening(Formatter& f, int64_t) { return f.Created(); }
  static Json Whole(Formatter& f, const GenerateResult& result) { return f.Response(result); }
  static std::string ErrorEvent(Formatter& f, const HttpResponse& failure) {
    return f.Error(failure);
  }
};

}  // namespace

HttpResponse ResponsesHandler::operator()(const HttpRequest& request, RequestContext& ctx) const {
  LaterAnswer later(ctx);
  Result<Json> body = ParseJsonObject(request.body);
  if (!body) return ErrorResponse(body.error());
  Result<GenerationCall> call = ParseResponsesRequest(*body, *deps_.resolver, *deps_.limits);
  if (!call) return ErrorResponse(call.error());
  ResponsesFormatter format(call->model.name, *body);
  return AnswerLater<ResponsesDoor>(deps_, *std::move(call), std::move(format), ctx, later);
}

}  // namespace modelrt::server
