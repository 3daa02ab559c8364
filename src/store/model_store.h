// The model store: bundles of model files under one directory, pulled from a hub, a URL or a
// local path, each file verified by sha256 and stored once however many bundles hold it.
//
//   <root>/<owner--repo>/<revision>/manifest.json     written last: no manifest, no bundle
//   <root>/<owner--repo>/<revision>/files/...         hard links to the blobs
//   <root>/.blobs/sha256/<hex>                        each distinct file once
//   <root>/.partial/<key>.part (+ .json)              downloads in progress, resumable
//
//   MODELRT_ASSIGN_OR_RETURN(auto store, ModelStore::Open({.root = dir, .hub = hub}));
//   PullRequest pull{.source = "hf://owner/repo@main", .files = {{.names = {"*.gguf"}}}};
//   MODELRT_ASSIGN_OR_RETURN(BundleManifest m, store->Pull(pull, on_progress, cancel));
//   MODELRT_ASSIGN_OR_RETURN(std::string path, store->Resolve("store://owner/repo@main/m.gguf"));
//
// A bundle is replaced as a whole (a new directory renamed over the old), so a reader sees the
// old bundle or the new one, never a mix. Pulling more files of the same commit into a bundle
// keeps the files it had.
//
// Thread-safety: thread-safe; Pull blocks its caller (a job's worker) and several pulls may run
// at once (one download per file however many ask for it).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "modelrt/model.h"
#include "modelrt/status.h"
#include "store/bundle_manifest.h"
#include "store/file_download.h"
#include "store/hub_api.h"
#include "store/source_ref.h"

namespace modelrt::store {

struct StoreOptions {
  std::string root;
  HubOptions hub;
  DownloadOptions download;
};

struct PullRequest {
  std::string source;               // hf://..., https://..., or a local path
  std::vector<FileRequest> files;   // none = every file (or the one the source names)
  std::string name;                 // bundle name for a URL or local source ("" = derived)
  std::string revision;             // for a URL or local source ("" = "main")
  std::string task;                 // recorded in the manifest
  std::string sha256;               // a URL source's expected digest (required for URLs)
  bool link = false;                // local source: hard-link files instead of copying
};

struct PullProgress {
  int files_done = 0;
  int files_total = 0;
  int64_t bytes_done = 0;
  int64_t bytes_total = -1;  // -1 until every size is known
  std::string file;          // the file now downloading
};
using PullProgressFn = std::function<void(const PullProgress&)>;

// What one Pull did, beside the manifest.
struct PullStats {
  int64_t bytes_downloaded = 0;
  int64_t bytes_resumed = 0;  // already on disk from an earlier attempt
  int files_reused = 0;       // already in the store (same sha256)
  int retries = 0;
};

struct VerifyReport {
  std::string name;
  std::string revision;
  int files_checked = 0;
  std::vector<std::string> problems;  // "files/x.gguf: sha256 mismatch", "... missing"
  bool ok() const { return problems.empty(); }
};

class ModelStore {
 public:
  static Result<std::shared_ptr<ModelStore>> Open(StoreOptions options);

  const std::string& root() const { return options_.root; }

  // Resolves the source, picks its files, downloads (or copies) what the store lacks, verifies
  // each file and installs the bundle. The manifest is the bundle's, after the pull.
  Result<BundleManifest> Pull(const PullRequest& request, const PullProgressFn& progress,
                              const std::shared_ptr<CancelSignal>& cancel,
                              PullStats* stats = nullptr);

  // store://... -> an absolute path inside the store that exists. NotFound (naming the pull that
  // would fetch it) when the bundle or the file is not there.
  Result<std::string> Resolve(std::string_view store_ref) const;
  // The bundle directory of name@revision ("" revision = "main").
  std::string BundleDir(std::string_view name, std::string_view revision) const;

  std::vector<BundleManifest> List() const;
  Result<BundleManifest> Describe(std::string_view name, std::string_view revision) const;
  // Re-hashes every file of the bundle against its manifest.
  Result<VerifyReport> Verify(std::string_view name, std::string_view revision) const;
  // Removes the bundle, then every blob no bundle links any more. NotFound when absent.
  Status Remove(std::string_view name, std::string_view revision);

 private:
  explicit ModelStore(StoreOptions options) : options_(std::move(options)) {}

  struct Planned;
  static Planned PlannedFrom(const ChosenFile& chosen);
  Result<std::vector<Planned>> PlanHub(const SourceRef& source, const PullRequest& request,
                                       const std::shared_ptr<CancelSignal>& cancel,
                                       BundleManifest* manifest);
  Result<std::vector<Planned>> PlanUrl(const SourceRef& source, const PullRequest& request,
                                       BundleManifest* manifest);
  Result<std::vector<Planned>> PlanLocal(const SourceRef& source, const PullRequest& request,
                                         BundleManifest* manifest);
  Status Fetch(Planned& file, const BundleManifest& manifest, const PullProgressFn& progress,
               PullProgress& state, const std::shared_ptr<CancelSignal>& cancel, PullStats& stats);
  Status Install(BundleManifest& manifest);
  std::string BlobPath(const std::string& sha256) const;
  DownloadOptions DownloadOptionsWithClient();

  StoreOptions options_;
  // Installs and removals of bundles, one at a time (downloads run outside it).
  mutable std::mutex install_mu_;
  std::mutex client_mu_;  // guards options_.download.client, made on first use
};

}  // namespace modelrt::store
