#include "server/models_handler.h"

#include "core/json.h"
#include "server/error_mapper.h"

namespace modelrt::server {

ModelsHandler::ModelsHandler(HandlerDeps deps, Mode mode, int64_t created)
    : deps_(deps), mode_(mode), created_(created) {}

HttpResponse ModelsHandler::operator()(const HttpRequest& request, RequestContext& ctx) const {
  auto to_json = [&](const ModelListing& m) {
    Json j = {{"id", m.id},
              {"object", "model"},
              {"created", created_},
              {"owned_by", "modelrt"},
              {"task", ToString(m.task)}};
    if (m.is_profile) j["parent"] = m.alias;
    return j;
  };
  std::vector<ModelListing> models = deps_.resolver->List();
  if (mode_ == Mode::kList) {
    Json data = Json::array();
    for (const ModelListing& m : models) data.push_back(to_json(m));
    return JsonResponse(200, {{"object", "list"}, {"data", std::move(data)}});
  }
  const std::string& id = ctx.params["id"];
  for (const ModelListing& m : models) {
    if (m.id == id) {
      ctx.model = id;
      return JsonResponse(200, to_json(m));
    }
  }
  return ErrorResponse(NotFoundError("The model '" + id + "' does not exist"), "model");
}

}  // namespace modelrt::server
