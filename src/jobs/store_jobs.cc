// model-download, model-materialize-bundle and model-validate-bundle: the store's work as jobs.
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "core/sha256.h"
#include "jobs/job_kinds.h"
#include "store/confined_path.h"
#include "store/model_store.h"
#include "store/source_ref.h"

namespace modelrt::jobs {

namespace {

std::string StringParam(const Json& params, const char* key) {
  auto it = params.find(key);
  return it != params.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Status CheckKeys(const Json& params, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : params.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::string list;
      for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      return InvalidArgumentError("params: unknown key '" + key + "' (known: " + list + ")");
    }
  }
  for (std::string_view key : known) {
    auto it = params.find(key);
    if (it != params.end() && key != "files" && key != "link" && !it->is_string()) {
      return InvalidArgumentError("params." + std::string(key) + " must be a string");
    }
  }
  return OkStatus();
}

// The store's pull from a job's parameters: source, files, name, revision, sha256, task, link.
Result<store::PullRequest> PullRequestOf(const Json& params) {
  MODELRT_RETURN_IF_ERROR(
      CheckKeys(params, {"source", "files", "name", "revision", "sha256", "task", "link"}));
  store::PullRequest pull;
  pull.source = StringParam(params, "source");
  if (pull.source.empty()) return InvalidArgumentError("params.source is required");
  MODELRT_ASSIGN_OR_RETURN(pull.files, store::ParseFileRequests(params.value("files", Json())));
  pull.name = StringParam(params, "name");
  pull.revision = StringParam(params, "revision");
  pull.sha256 = StringParam(params, "sha256");
  pull.task = StringParam(params, "task");
  if (params.contains("link") && !params["link"].is_boolean()) {
    return InvalidArgumentError("params.link must be true or false");
  }
  pull.link = params.value("link", false);
  return pull;
}

std::string RuntimeFor(const store::BundleManifest& m) {
  for (const store::ManifestFile& f : m.files) {
    if (f.path.ends_with(".gguf")) return "llama.cpp";
    if (f.path.ends_with(".onnx")) return "onnxruntime";
  }
  return "";
}

Json ModelMetadata(const store::BundleManifest& m) {
  return {{"model.name", m.name},
          {"model.task", m.task},
          {"model.source", m.source},
          {"model.runtime", RuntimeFor(m)},
          {"model.revision", m.revision}};
}

Status NeedStore(const JobDeps& deps) {
  return deps.store ? OkStatus()
                    : FailedPreconditionError("this process has no model store (store.dir)");
}

// Pulls into the store, reporting bytes, and records the bundle as the artifact.
Status RunPull(const JobDeps& deps, JobContext& job, const store::PullRequest& pull) {
  MODELRT_RETURN_IF_ERROR(NeedStore(deps));
  store::PullStats stats;
  auto on_progress = [&job](const store::PullProgress& p) {
    std::string message = "file " + std::to_string(std::min(p.files_done + 1, p.files_total)) +
                          "/" + std::to_string(p.files_total);
    if (!p.file.empty()) message += ": " + p.file;
    job.Progress(p.bytes_done, p.bytes_total, std::move(message));
  };
  MODELRT_ASSIGN_OR_RETURN(store::BundleManifest manifest,
                           deps.store->Pull(pull, on_progress, job.cancel(), &stats));
  if (stats.bytes_resumed > 0) {
    job.Note("resumed: " + std::to_string(stats.bytes_resumed) + " bytes were already on disk");
  }
  const std::string dir = deps.store->BundleDir(manifest.name, manifest.revision);
  Artifact bundle{.id = "bundle",
                  .kind = "bundle",
                  .media_type = "application/json",
                  .path = dir + "/manifest.json",
                  .metadata = ModelMetadata(manifest)};
  MODELRT_RETURN_IF_ERROR(job.AddArtifact(std::move(bundle)));
  job.SetOutput({{"bundle", manifest.name},
                 {"revision", manifest.revision},
                 {"commit", manifest.commit},
                 {"files", manifest.files.size()},
                 {"bytes", manifest.TotalBytes()},
                 {"bytes_downloaded", stats.bytes_downloaded},
                 {"bytes_resumed", stats.bytes_resumed},
                 {"files_reused", stats.files_reused},
                 {"retries", stats.retries},
                 {"store_ref", "store://" + manifest.name + "@" + manifest.revision}});
  return OkStatus();
}

Json FilesDetail(const store::PullRequest& pull) {
  Json files = Json::array();
  for (const store::FileRequest& f : pull.files) {
    const char* kind = f.kind == store::FileRequest::Kind::kRequired   ? "required"
                       : f.kind == store::FileRequest::Kind::kOptional ? "optional"
                                                                        : "first_available";
    files.push_back({{"kind", kind}, {"names", f.names}});
  }
  return files;
}

class DownloadJob : public JobKind {
 public:
  explicit DownloadJob(const JobDeps& deps) : deps_(deps) {}
  std::string_view name() const override { return kModelDownload; }

  Result<JobPlan> Plan(const Json& params) const override {
    MODELRT_ASSIGN_OR_RETURN(store::PullRequest pull, PullRequestOf(params));
    MODELRT_ASSIGN_OR_RETURN(store::SourceRef source, store::ParseSourceRef(pull.source));
    if (source.kind == store::SourceKind::kLocal) {
      return InvalidArgumentError("params.source is a local path: use model-materialize-bundle");
    }
    if (source.kind == store::SourceKind::kUrl && !IsSha256Hex(pull.sha256)) {
      return InvalidArgumentError("params.sha256 (64 hex digits) is required for a URL source");
    }
    JobPlan plan;
    plan.side_effects = {"network", "writes_files"};
    plan.progress_unit = "bytes";
    plan.artifacts = {{"bundle", "application/json", "the bundle's manifest in the store"}};
    plan.requirements = {"network: " + (source.kind == store::SourceKind::kHub
                                            ? deps_.hub_endpoint
                                            : source.url)};
    if (!deps_.store) plan.requirements.push_back("store: none configured");
    plan.resumable = true;
    plan.steps = {"list the source's files and choose the requested ones",
                  "check free disk space",
                  "download what the store lacks (resuming partial files, in parallel ranges "
                  "for large ones), verifying each sha256",
                  "install the bundle (manifest last)"};
    plan.detail = {{"source", pull.source},
                   {"files", FilesDetail(pull)},
                   {"revision", source.kind == store::SourceKind::kHub ? source.revision
                                                                        : pull.revision}};
    return plan;
  }

  Status Run(JobContext& job) override {
    MODELRT_ASSIGN_OR_RETURN(store::PullRequest pull, PullRequestOf(job.params()));
    return RunPull(deps_, job, pull);
  }

 private:
  JobDeps deps_;
};

class MaterializeJob : public JobKind {
 public:
  explicit MaterializeJob(const JobDeps& deps) : deps_(deps) {}
  std::string_view name() const override { return kMaterializeBundle; }

  Result<JobPlan> Plan(const Json& params) const override {
    MODELRT_ASSIGN_OR_RETURN(store::PullRequest pull, PullRequestOf(params));
    MODELRT_ASSIGN_OR_RETURN(store::SourceRef source, store::ParseSourceRef(pull.source));
    if (source.kind != store::SourceKind::kLocal) {
      return InvalidArgumentError("params.source must be a local path (for hf:// and URLs use "
                                  "model-download)");
    }
    JobPlan plan;
    plan.side_effects = {"reads_files", "writes_files"};
    plan.progress_unit = "bytes";
    plan.artifacts = {{"bundle", "application/json", "the bundle's manifest in the store"}};
    plan.requirements = {"path: " + source.path};
    plan.steps = {"hash the local files", pull.link ? "hard-link them into the store"
                                                    : "copy them into the store",
                  "install the bundle (manifest last)"};
    plan.detail = {{"source", pull.source}, {"files", FilesDetail(pull)}, {"link", pull.link}};
    return plan;
  }

  Status Run(JobContext& job) override {
    MODELRT_ASSIGN_OR_RETURN(store::PullRequest pull, PullRequestOf(job.params()));
    return RunPull(deps_, job, pull);
  }

 private:
  JobDeps deps_;
};

// name + revision, or ref: store://owner/repo@rev
Result<std::pair<std::string, std::string>> BundleOf(const Json& params) {
  for (const auto& [key, value] : params.items()) {
    if (key != "name" && key != "revision" && key != "ref") {
      return InvalidArgumentError("params: unknown key '" + key + "' (known: name, revision, ref)");
    }
  }
  std::string ref = StringParam(params, "ref");
  if (!ref.empty()) {
    MODELRT_ASSIGN_OR_RETURN(store::StoreRef parsed, store::ParseStoreRef(ref));
    return std::make_pair(parsed.name, parsed.revision);
  }
  std::string name = StringParam(params, "name");
  std::string revision = StringParam(params, "revision");
  if (revision.empty()) revision = "main";
  MODELRT_RETURN_IF_ERROR(store::CheckBundleName(name));
  MODELRT_RETURN_IF_ERROR(store::CheckRevision(revision));
  return std::make_pair(name, revision);
}

class ValidateJob : public JobKind {
 public:
  explicit ValidateJob(const JobDeps& deps) : deps_(deps) {}
  std::string_view name() const override { return kValidateBundle; }

  Result<JobPlan> Plan(const Json& params) const override {
    MODELRT_ASSIGN_OR_RETURN(auto bundle, BundleOf(params));
    JobPlan plan;
    plan.side_effects = {"reads_files"};
    plan.progress_unit = "files";
    plan.artifacts = {{"report", "application/json", "what was checked and what is wrong"}};
    plan.requirements = {"bundle: " + bundle.first + "@" + bundle.second};
    plan.steps = {"read the manifest", "re-hash every file against it",
                  "check the bundle has weights"};
    plan.detail = {{"name", bundle.first}, {"revision", bundle.second}};
    return plan;
  }

  Status Run(JobContext& job) override {
    MODELRT_RETURN_IF_ERROR(NeedStore(deps_));
    MODELRT_ASSIGN_OR_RETURN(auto bundle, BundleOf(job.params()));
    MODELRT_ASSIGN_OR_RETURN(store::BundleManifest manifest,
                             deps_.store->Describe(bundle.first, bundle.second));
    job.Progress(0, static_cast<int64_t>(manifest.files.size()), "hashing");
    MODELRT_ASSIGN_OR_RETURN(store::VerifyReport report,
                             deps_.store->Verify(bundle.first, bundle.second));
    std::vector<std::string> problems = report.problems;
    const bool has_weights = std::any_of(manifest.files.begin(), manifest.files.end(),
                                         [](const auto& f) { return f.role == "weights"; });
    if (!has_weights) problems.push_back("no weights file (.gguf, .onnx, .safetensors, ...)");
    job.Progress(report.files_checked, static_cast<int64_t>(manifest.files.size()), "checked");
    Json out = {{"bundle", manifest.name},       {"revision", manifest.revision},
                {"files_checked", report.files_checked}, {"problems", problems},
                {"ok", problems.empty()}};
    const std::string path = job.dir() + "/report.json";
    if (FILE* f = std::fopen(path.c_str(), "w")) {
      const std::string text = out.dump(2) + "\n";
      std::fwrite(text.data(), 1, text.size(), f);
      std::fclose(f);
      MODELRT_RETURN_IF_ERROR(job.AddArtifact({.id = "report", .kind = "report",
                                               .media_type = "application/json", .path = path,
                                               .metadata = ModelMetadata(manifest)}));
    }
    job.SetOutput(out);
    if (!problems.empty()) {
      return FailedPreconditionError("the bundle is not valid: " + problems.front() +
                                     (problems.size() > 1 ? " (and " +
                                                                std::to_string(problems.size() - 1) +
                                                                " more)"
                                                          : ""));
    }
    return OkStatus();
  }

 private:
  JobDeps deps_;
};

}  // namespace

std::unique_ptr<JobKind> MakeDownloadJob(const JobDeps& deps) {
  return std::make_unique<DownloadJob>(deps);
}
std::unique_ptr<JobKind> MakeMaterializeJob(const JobDeps& deps) {
  return std::make_unique<MaterializeJob>(deps);
}
std::unique_ptr<JobKind> MakeValidateJob(const JobDeps& deps) {
  return std::make_unique<ValidateJob>(deps);
}

}  // namespace modelrt::jobs
