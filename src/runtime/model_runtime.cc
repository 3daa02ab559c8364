// ModelRuntime: the inference face of RuntimeCore — typed handles, what is served, pool status.
// The lifecycle (registration, loads, reloads, providers) is RuntimeLifecycle (lifecycle.cc).
#include "modelrt/lifecycle.h"
#include "modelrt/runtime.h"
#include "runtime/reconciler.h"
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

ModelRuntime::ModelRuntime(std::shared_ptr<internal::RuntimeCore> core,
                           std::unique_ptr<internal::Reconciler> reloads)
    : core_(core), lifecycle_(std::make_unique<RuntimeLifecycle>(core, std::move(reloads))) {}

// Handles may keep the core alive; its threads must not outlive the runtime. Shutdown first
// cancels loads, so a file-triggered reload in progress ends before the watcher is joined.
ModelRuntime::~ModelRuntime() {
  core_->Shutdown();
  lifecycle_->Stop();
}

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

bool ModelRuntime::Contains(std::string_view alias) const { return core_->Contains(alias); }

std::vector<ModelStatus> ModelRuntime::List() const { return core_->List(); }

Result<ModelStatus> ModelRuntime::Describe(std::string_view alias) const {
  return core_->Describe(alias);
}

PoolStats ModelRuntime::PoolStatus() const { return core_->pool().Stats(); }


void ModelRuntime::WaitForBackgroundWarmup() { core_->WaitForBackground(); }

size_t ModelRuntime::LoadsInFlight() const { return core_->LoadsInFlight(); }

MetricsRegistry& ModelRuntime::metrics() { return core_->metrics(); }

std::shared_ptr<MetricsRegistry> ModelRuntime::shared_metrics() { return core_->shared_metrics(); }

}  // namespace modelrt
