// ModelRuntime: the public face of RuntimeCore — typed handles, registration, prefetch, unload.
#include "core/logging.h"
#include "modelrt/runtime.h"
#include "runtime/runtime_core.h"

namespace modelrt {

std::string_view ToString(ModelState state) {
  switch (state) {
    case ModelState::kUnloaded: return "unloaded";
    case ModelState::kLoading: return "loading";
    case ModelState::kLoaded: return "loaded";
    case ModelState::kFailed: return "failed";
    case ModelState::kDraining: return "draining";
  }
  return "unknown";
}

namespace {

// NotFound for an unknown alias, CapabilityMismatch when it serves another task.
Status CheckTask(const internal::RuntimeCore& core, std::string_view alias, Task wanted) {
  MODELRT_ASSIGN_OR_RETURN(ModelSpec spec, core.Spec(alias));
  if (spec.task != wanted) {
    return CapabilityMismatchError("model '" + spec.alias + "' serves task '" +
                                   std::string(ToString(spec.task)) + "', not '" +
                                   std::string(ToString(wanted)) + "'");
  }
  return OkStatus();
}

}  // namespace

ModelRuntime::ModelRuntime(std::shared_ptr<internal::RuntimeCore> core) : core_(std::move(core)) {}

// Handles may keep the core alive; its threads must not outlive the runtime.
ModelRuntime::~ModelRuntime() { core_->Shutdown(); }

Result<EmbeddingHandle> ModelRuntime::Embedding(std::string_view alias) {
  MODELRT_RETURN_IF_ERROR(CheckTask(*core_, alias, Task::kEmbed));
  return EmbeddingHandle(core_, std::string(alias));
}

Result<RerankerHandle> ModelRuntime::Reranker(std::string_view alias) {
  MODELRT_RETURN_IF_ERROR(CheckTask(*core_, alias, Task::kRerank));
  return RerankerHandle(core_, std::string(alias));
}

Result<GeneratorHandle> ModelRuntime::Generator(std::string_view alias) {
  MODELRT_RETURN_IF_ERROR(CheckTask(*core_, alias, Task::kGenerate));
  return GeneratorHandle(core_, std::string(alias));
}

Status ModelRuntime::Register(ModelSpec spec) {
  MODELRT_RETURN_IF_ERROR(core_->AddSpec(spec));
  switch (spec.warmup) {
    case WarmupPolicy::kLazy: break;
    case WarmupPolicy::kBackground: core_->LoadInBackground({spec.alias}); break;
    case WarmupPolicy::kEager: {
      Status loaded = core_->LoadAll({spec.alias}).front();
      if (loaded.ok()) break;
      if (spec.required) {
        core_->RemoveAlias(spec.alias);
        return loaded.WithPrefix("required model '" + spec.alias + "'");
      }
      Log("runtime")->warn("optional model '{}' failed to load: {}", spec.alias, loaded.ToString());
      break;
    }
  }
  return OkStatus();
}

bool ModelRuntime::Contains(std::string_view alias) const { return core_->Contains(alias); }

std::vector<ModelStatus> ModelRuntime::List() const { return core_->List(); }

Result<ModelStatus> ModelRuntime::Describe(std::string_view alias) const {
  return core_->Describe(alias);
}

Status ModelRuntime::Prefetch(const std::vector<std::string>& aliases) {
  for (const std::string& alias : aliases) {
    if (!core_->Contains(alias)) return NotFoundError("unknown model '" + alias + "'");
  }
  for (const Status& s : core_->LoadAll(aliases)) MODELRT_RETURN_IF_ERROR(s);
  return OkStatus();
}

Status ModelRuntime::PrefetchAll() {
  std::vector<std::string> aliases;
  for (const ModelStatus& status : core_->List()) aliases.push_back(status.spec.alias);
  return Prefetch(aliases);
}

Status ModelRuntime::Unload(std::string_view alias) { return core_->Unload(alias); }

void ModelRuntime::WaitForBackgroundWarmup() { core_->WaitForBackground(); }

size_t ModelRuntime::LoadsInFlight() const { return core_->LoadsInFlight(); }

MetricsRegistry& ModelRuntime::metrics() { return core_->metrics(); }

std::shared_ptr<MetricsRegistry> ModelRuntime::shared_metrics() { return core_->shared_metrics(); }

}  // namespace modelrt
