#include "modelrt/model_names.h"

namespace modelrt {
namespace {

std::string_view Article(Task task) { return task == Task::kEmbed ? "an" : "a"; }

}  // namespace

void ResolvedModel::ApplyTo(GenerateRequest& request) const {
  if (!profile || profile->system.empty()) return;
  if (!request.messages.empty()) {
    request.messages.insert(request.messages.begin(), ChatMessage{"system", profile->system});
  } else {
    request.prompt = profile->system + "\n\n" + request.prompt;
  }
}

ModelNames::ModelNames(ModelRuntime& runtime, std::vector<ProfileSpec> profiles)
    : runtime_(runtime), profiles_(std::move(profiles)) {}

ModelNames::ModelNames(ModelRuntime& runtime, const Registry& registry)
    : runtime_(runtime), registry_(&registry) {}

std::optional<ProfileSpec> ModelNames::FindProfile(std::string_view name) const {
  if (registry_ != nullptr) {  // a map lookup in the snapshot: no copy of the others
    std::shared_ptr<const RegistrySnapshot> snapshot = registry_->Current();
    auto it = snapshot->profiles.find(std::string(name));
    if (it == snapshot->profiles.end()) return std::nullopt;
    return it->second;
  }
  for (const ProfileSpec& profile : profiles_) {
    if (profile.name == name) return profile;
  }
  return std::nullopt;
}

std::vector<ProfileSpec> ModelNames::Profiles() const {
  if (registry_ == nullptr) return profiles_;
  std::vector<ProfileSpec> profiles;
  for (const auto& [name, profile] : registry_->Current()->profiles) profiles.push_back(profile);
  return profiles;
}

Result<ResolvedModel> ModelNames::Resolve(std::string_view name) const {
  if (name.empty()) return InvalidArgumentError("'model' must not be empty");
  ResolvedModel out;
  out.name = std::string(name);
  out.alias = out.name;
  if (std::optional<ProfileSpec> profile = FindProfile(name)) {
    out.alias = profile->model;
    out.profile = std::move(profile);
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

Result<ResolvedModel> ModelNames::Resolve(std::string_view name, Task task,
                                          std::string_view endpoint) const {
  MODELRT_ASSIGN_OR_RETURN(ResolvedModel model, Resolve(name));
  if (model.task != task) {
    return CapabilityMismatchError(
        "model '" + model.name + "' is " + std::string(Article(model.task)) + " " +
        std::string(ToString(model.task)) + " model; " + std::string(endpoint) + " needs " +
        std::string(Article(task)) + " " + std::string(ToString(task)) + " model");
  }
  return model;
}

std::optional<std::string> ModelNames::FirstAliasFor(Task task) const {
  for (const ModelStatus& status : runtime_.List()) {
    if (status.spec.task == task) return status.spec.alias;
  }
  return std::nullopt;
}

std::vector<ModelListing> ModelNames::List() const {
  std::vector<ModelListing> out;
  std::vector<ModelStatus> statuses = runtime_.List();
  for (const ModelStatus& status : statuses) {
    out.push_back({status.spec.alias, status.spec.task, status.spec.alias, false});
  }
  for (const ProfileSpec& profile : Profiles()) {
    for (const ModelStatus& status : statuses) {
      if (status.spec.alias == profile.model) {
        out.push_back({profile.name, status.spec.task, profile.model, true});
        break;
      }
    }
  }
  return out;
}

}  // namespace modelrt
