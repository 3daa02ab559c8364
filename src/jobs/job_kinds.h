// The seven job kinds and what they need from the rest of the process.
//
//   JobDeps deps{.runtime = &runtime, .store = store, .gateway = &gateway, .files = files.get(),
//                .config = config.jobs};
//   MODELRT_ASSIGN_OR_RETURN(auto runner, JobRunner::Open(options, StandardJobKinds(deps)));
//
//   model-download            a hub or URL source into the store (resumes from partial files)
//   model-materialize-bundle  a local file or folder into the store (copy or hard link)
//   model-validate-bundle     re-hashes a bundle against its manifest
//   model-warmup              loads an alias
//   model-inference           one API request; its response is the artifact
//   model-batch-inference     a Batch API input file (resumes from its last written line)
//   model-external-command    an allowed program, its logs as artifacts
//
// A kind whose dependency is null is still listed; its plan says what is missing.
//
// Thread-safety: the kinds are thread-safe; the deps must outlive them.
#pragma once

#include <memory>
#include <vector>

#include "jobs/file_store.h"
#include "jobs/inference_gateway.h"
#include "jobs/job_kind.h"
#include "modelrt/catalog.h"
#include "modelrt/runtime.h"

namespace modelrt::store {
class ModelStore;
}

namespace modelrt::jobs {

struct JobDeps {
  ModelRuntime* runtime = nullptr;
  std::shared_ptr<store::ModelStore> store;
  InferenceGateway* gateway = nullptr;
  FileStore* files = nullptr;
  JobsConfig config;
  std::string hub_endpoint;  // shown in download plans
};

std::unique_ptr<JobKind> MakeDownloadJob(const JobDeps& deps);
std::unique_ptr<JobKind> MakeMaterializeJob(const JobDeps& deps);
std::unique_ptr<JobKind> MakeValidateJob(const JobDeps& deps);
std::unique_ptr<JobKind> MakeWarmupJob(const JobDeps& deps);
std::unique_ptr<JobKind> MakeInferenceJob(const JobDeps& deps);
std::unique_ptr<JobKind> MakeBatchJob(const JobDeps& deps);
std::unique_ptr<JobKind> MakeExternalCommandJob(const JobDeps& deps);

std::vector<std::unique_ptr<JobKind>> StandardJobKinds(const JobDeps& deps);

}  // namespace modelrt::jobs
