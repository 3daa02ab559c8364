// The store for the catalog; see catalog_models.h.
#include "store/catalog_models.h"

#include "core/logging.h"
#include "core/paths.h"

namespace modelrt::store {

std::string StoreDir(const Config& config) {
  return config.store.dir.empty() ? ResolveDataDir(config.server) + "/store" : config.store.dir;
}

StoreOptions StoreOptionsFor(const Config& config) {
  StoreOptions options;
  options.root = StoreDir(config);
  options.hub.endpoint = HubEndpoint(config.store.hf_endpoint);
  options.hub.token = HubToken();
  options.download.parallel_threshold = config.store.parallel_threshold_mb << 20;
  options.download.parallel_parts = config.store.parallel_parts;
  options.download.stall_timeout = std::chrono::seconds(config.store.stall_timeout_s);
  options.download.max_attempts = config.store.max_attempts;
  return options;
}

Result<std::string> ResolveOrPull(ModelStore& store, const ModelSpec& spec, const CallContext& ctx) {
  Result<std::string> path = store.Resolve(spec.model);
  if (path.ok() || path.error().code() != StatusCode::kNotFound || !spec.pull) return path;
  MODELRT_ASSIGN_OR_RETURN(StoreRef ref, ParseStoreRef(spec.model));
  PullRequest request;
  request.source = HubSourceFor(ref).text;
  request.task = std::string(ToString(spec.task));
  // A path that names a directory of the bundle (an ONNX model's folder) pulls what is under it.
  if (!ref.path.empty()) {
    request.source = "hf://" + ref.name + "@" + ref.revision;
    request.files = {{FileRequest::Kind::kFirstAvailable, {ref.path, ref.path + "/*"}}};
  }
  Log("store")->info("{}: pulling {} for alias '{}'", spec.model, request.source, spec.alias);
  MODELRT_ASSIGN_OR_RETURN(BundleManifest manifest, store.Pull(request, nullptr, ctx.cancel));
  Log("store")->info("{}: pulled {} files ({} bytes)", spec.model, manifest.files.size(),
                     manifest.TotalBytes());
  return store.Resolve(spec.model);
}

}  // namespace modelrt::store
