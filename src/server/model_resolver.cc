#include "server/model_resolver.h"

namespace modelrt::server {
namespace {

std::string_view Article(Task task) { return task == Task::kEmbed ? "an" : "a"; }

}  // namespace

ModelResolver::ModelResolver(ModelRuntime& runtime, std::vector<ProfileSpec> profiles)
    : runtime_(runtime), profiles_(std::move(profiles)) {}

Result<ResolvedModel> ModelResolver::Resolve(std::string_view name) const {
  if (name.empty()) return InvalidArgumentError("'model' must not be empty");
  ResolvedModel out;
  out.name = std::string(name);
  out.alias = out.name;
  for (const ProfileSpec& profile : profiles_) {
    if (profile.name == name) {
      out.alias = profile.model;
      out.profile = profile;
      break;
    }
  }
  auto status = runtime_.Describe(out.alias);
  if (!status) {
    if (status.error().code() == StatusCode::kNotFound) {
      return NotFoundError("The model '" + out.name + "' does not exist");
    }
    return status.error();
  }
  out.task = status->spec.task;
  return out;
}

Result<ResolvedModel> ModelResolver::Resolve(std::string_view name, Task task,
                                             std::string_view endpoint) const {
  MODELRT_ASSIGN_OR_RETURN(ResolvedModel model, Resolve(name));
  if (model.task != task) {
    return CapabilityMismatchError("model '" + model.name + "' is " +
                                   std::string(Article(model.task)) + " " +
                                   std::string(ToString(model.task)) + " model; " +
                                   std::string(endpoint) + " needs " +
                                   std::string(Article(task)) + " " +
                                   std::string(ToString(task)) + " model");
  }
  return model;
}

std::optional<std::string> ModelResolver::FirstAliasFor(Task task) const {
  for (const ModelStatus& status : runtime_.List()) {
    if (status.spec.task == task) return status.spec.alias;
  }
  return std::nullopt;
}

std::vector<ModelListing> ModelResolver::List() const {
  std::vector<ModelListing> out;
  std::vector<ModelStatus> statuses = runtime_.List();
  for (const ModelStatus& status : statuses) {
    out.push_back({status.spec.alias, status.spec.task, status.spec.alias, false});
  }
  for (const ProfileSpec& profile : profiles_) {
    for (const ModelStatus& status : statuses) {
      if (status.spec.alias == profile.model) {
        out.push_back({profile.name, status.spec.task, profile.model, true});
        break;
      }
    }
  }
  return out;
}

}  // namespace modelrt::server
