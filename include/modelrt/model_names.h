// ModelNames: turns the `model` name of a request into a catalog alias, for every front door
// (the HTTP API, the CLI). A name is an alias
// of the runtime, or a profile (alias + system prompt + default sampling parameters). Profiles
// come from a fixed list, or from a registry's current snapshot (they follow run-time changes
// and config re-reads).
//
//   MODELRT_ASSIGN_OR_RETURN(ResolvedModel m, resolver.Resolve(name, Task::kEmbed));
//   runtime.Embedding(m.alias) ...
//
// Errors: NotFound (404 model_not_found) for an unknown name; CapabilityMismatch (400) when the
// name serves another task.
//
// Thread-safety: thread-safe (profiles are immutable or read from immutable snapshots; the
// runtime and the registry are thread-safe).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modelrt/catalog.h"
#include "modelrt/registry.h"
#include "modelrt/runtime.h"

namespace modelrt {

struct ResolvedModel {
  std::string name;   // as the client sent it
  std::string alias;  // the runtime alias that serves it
  Task task = Task::kEmbed;
  std::optional<ProfileSpec> profile;  // set when `name` is a profile

  // Puts the profile's system prompt (if any) in front of `request`: as the first message of a
  // chat, as the first paragraph of a plain prompt.
  void ApplyTo(GenerateRequest& request) const;
};

// One entry of GET /v1/models.
struct ModelListing {
  std::string id;
  Task task = Task::kEmbed;
  std::string alias;  // == id for aliases; the target alias for profiles
  bool is_profile = false;
};

class ModelNames {
 public:
  // `runtime` must outlive the resolver.
  ModelNames(ModelRuntime& runtime, std::vector<ProfileSpec> profiles);
  // Profiles from `registry`'s current snapshot; both must outlive the resolver.
  ModelNames(ModelRuntime& runtime, const Registry& registry);

  Result<ResolvedModel> Resolve(std::string_view name) const;
  // Resolve, then check the task. `endpoint` names the caller in the mismatch message.
  Result<ResolvedModel> Resolve(std::string_view name, Task task, std::string_view endpoint) const;
  // The first alias serving `task`, for APIs whose requests may omit the model (TEI rerank).
  std::optional<std::string> FirstAliasFor(Task task) const;
  // Every alias, then every profile.
  std::vector<ModelListing> List() const;

 private:
  // The profiles now: the registry's, else the fixed list.
  std::vector<ProfileSpec> Profiles() const;
  std::optional<ProfileSpec> FindProfile(std::string_view name) const;

  ModelRuntime& runtime_;
  const std::vector<ProfileSpec> profiles_;
  const Registry* registry_ = nullptr;
};

}  // namespace modelrt
