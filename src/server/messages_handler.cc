#include "server/messages_handler.h"

#include <utility>

#include "core/json.h"
#include "server/anthropic_messages.h"
#include "server/error_mapper.h"
#include "server/event_stream_answer.h"
#include "server/json_fields.h"
#include "server/later_answer.h"

namespace modelrt::server {
namespace {

struct AnthropicDoor {
  using Formatter = AnthropicFormatter;
  static HttpResponse Shape(HttpResponse openai_shaped) {
    return AnthropicErrorResponse(std::move(openai_shaped));
  }
  static std::string Opening(Formatter& f, int64_t input_tokens) { return f.MessageStart(input_tokens); }
  static Json Whole(Formatter& f, const GenerateResult& result) { return f.Message(result); }
  static std::string ErrorEvent(Formatter&, const HttpResponse& failure) {
    return AnthropicFormatter::ErrorEvent(failure);
  }
};

}  // namespace

HttpResponse MessagesHandler::operator()(const HttpRequest& request, RequestContext& ctx) const {
  Result<Json> body = ParseJsonObject(request.body);
  if (!body) return AnthropicErrorResponse(ErrorResponse(body.error()));
  return action_ == Action::kCreate ? Create(*body, ctx) : CountTokens(*body, ctx);
}

HttpResponse MessagesHandler::Create(const Json& body, RequestContext& ctx) const {
  LaterAnswer later(ctx);
  Result<GenerationCall> call =
      ParseAnthropicRequest(body, *deps_.resolver, *deps_.limits, /*need_max_tokens=*/true);
  if (!call) return AnthropicErrorResponse(ErrorResponse(call.error()));
  AnthropicFormatter format(call->model.name);
  return AnswerLater<AnthropicDoor>(deps_, *std::move(call), std::move(format), ctx, later);
}

HttpResponse MessagesHandler::CountTokens(const Json& body, RequestContext& ctx) const {
  // The prompt the template makes of the request, tokenized as the generation would.
  Result<Json> answer = [&]() -> Result<Json> {
    MODELRT_ASSIGN_OR_RETURN(GenerationCall call, ParseAnthropicRequest(body, *deps_.resolver, *deps_.limits,
                                                                        /*need_max_tokens=*/false));
    ctx.model = call.model.name;
    MODELRT_ASSIGN_OR_RETURN(GeneratorHandle model, deps_.runtime->Generator(call.model.alias));
    MODELRT_ASSIGN_OR_RETURN(std::string prompt, model.RenderPrompt(call.request, ctx.call));
    MODELRT_ASSIGN_OR_RETURN(std::vector<int32_t> tokens,
                             model.Tokenize(prompt, /*add_special=*/true, ctx.call));
    return Json{{"input_tokens", tokens.size()}};
  }();
  if (!answer) return AnthropicErrorResponse(ErrorResponse(answer.error()));
  return JsonResponse(200, *answer);
}

}  // namespace modelrt::server
