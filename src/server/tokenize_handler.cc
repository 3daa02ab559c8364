#include "server/tokenize_handler.h"

#include <climits>

#include "core/json.h"
#include "server/error_mapper.h"
#include "server/generation_request.h"
#include "server/json_fields.h"

namespace modelrt::server {
namespace {

// A token list no model needs more of: bounds the work a /detokenize can ask for.
constexpr size_t kMaxDetokenize = 1 << 20;

Result<Json> Tokenize(const GeneratorHandle& model, const Json& body, const CallContext& call) {
  MODELRT_ASSIGN_OR_RETURN(std::string content, RequiredString(body, "content", /*allow_empty=*/true));
  MODELRT_ASSIGN_OR_RETURN(std::optional<bool> add_special, OptionalBool(body, "add_special"));
  MODELRT_ASSIGN_OR_RETURN(std::optional<bool> with_pieces, OptionalBool(body, "with_pieces"));
  MODELRT_ASSIGN_OR_RETURN(std::vector<int32_t> tokens,
                           model.Tokenize(content, add_special.value_or(false), call));
  Json out = Json::array();
  for (int32_t t : tokens) {
    if (!with_pieces.value_or(false)) {
      out.push_back(t);
      continue;
    }
    MODELRT_ASSIGN_OR_RETURN(std::string piece, model.Detokenize({t}, call));
    out.push_back({{"id", t}, {"piece", piece}});
  }
  return Json{{"tokens", std::move(out)}};
}

Result<Json> Detokenize(const GeneratorHandle& model, const Json& body, const CallContext& call) {
  const Json* tokens = FindField(body, "tokens");
  if (!tokens || !tokens->is_array()) return InvalidArgumentError("'tokens' must be an array of token ids");
  if (tokens->size() > kMaxDetokenize) {
    return InvalidArgumentError("'tokens' has more than " + std::to_string(kMaxDetokenize) + " ids");
  }
  std::vector<int32_t> ids;
  for (const Json& t : *tokens) {
    if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() > INT32_MAX) {
      return InvalidArgumentError("'tokens' must be an array of token ids");
    }
    ids.push_back(static_cast<int32_t>(t.get<int64_t>()));
  }
  MODELRT_ASSIGN_OR_RETURN(std::string content, model.Detokenize(ids, call));
  return Json{{"content", std::move(content)}};
}

}  // namespace

HttpResponse TokenizeHandler::operator()(const HttpRequest& request, RequestContext& ctx) const {
  Result<Json> body = ParseJsonObject(request.body);
  if (!body) return ErrorResponse(body.error());
  Result<Json> answer = [&]() -> Result<Json> {
    if (action_ == Action::kApplyTemplate) {
      MODELRT_ASSIGN_OR_RETURN(GenerationCall call,
                               ParseChatRequest(*body, *deps_.resolver, *deps_.limits));
      ctx.model = call.model.name;
      MODELRT_ASSIGN_OR_RETURN(GeneratorHandle model, deps_.runtime->Generator(call.model.alias));
      MODELRT_ASSIGN_OR_RETURN(std::string prompt, model.RenderPrompt(call.request, ctx.call));
      return Json{{"prompt", std::move(prompt)}};
    }
    MODELRT_ASSIGN_OR_RETURN(std::string name, RequiredString(*body, "model"));
    const char* endpoint = action_ == Action::kTokenize ? "/tokenize" : "/detokenize";
    MODELRT_ASSIGN_OR_RETURN(ResolvedModel resolved,
                             deps_.resolver->Resolve(name, Task::kGenerate, endpoint));
    ctx.model = resolved.name;
    MODELRT_ASSIGN_OR_RETURN(GeneratorHandle model, deps_.runtime->Generator(resolved.alias));
    return action_ == Action::kTokenize ? Tokenize(model, *body, ctx.call)
                                        : Detokenize(model, *body, ctx.call);
  }();
  if (!answer) return ErrorResponse(answer.error());
  return JsonResponse(200, *answer);
}

}  // namespace modelrt::server
