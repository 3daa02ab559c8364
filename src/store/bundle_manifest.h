// A bundle's manifest: what was pulled, from where, and every file's role, size and sha256. It is
// written last (atomically), so a bundle directory without one is not a bundle.
//
//   BundleManifest m;  m.name = "owner/repo"; m.revision = "main"; ...
//   MODELRT_RETURN_IF_ERROR(WriteManifest(bundle_dir, m));
//   MODELRT_ASSIGN_OR_RETURN(BundleManifest back, ReadManifest(bundle_dir));  // paths checked
//
// File roles and media types follow the file's name: config.json is "config", *tokenizer* is
// "tokenizer", vocab.txt / merges.txt / *.model are "vocabulary", *.gguf / *.onnx /
// *.safetensors / *.bin are "weights", anything else is "artifact".
//
// Thread-safety: free functions over values; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "modelrt/status.h"

namespace modelrt::store {

struct ManifestFile {
  std::string remote_path;  // where it came from, within the source
  std::string path;         // under the bundle's files/
  int64_t size = 0;
  std::string sha256;
  std::string role;
  std::string media_type;
  bool required = true;
};

struct BundleManifest {
  std::string name;      // "owner/repo" (hub), or the name given for a URL or local source
  std::string task;      // embed | rerank | generate | "" (not said)
  std::string source;    // "hf://owner/repo@rev", a URL, or a local path
  std::string revision;  // what was asked for ("main", a tag, a commit; "-" for URLs and paths)
  std::string commit;    // what it resolved to (X-Repo-Commit), when the source says
  int64_t created_at = 0;  // unix seconds
  std::vector<ManifestFile> files;

  int64_t TotalBytes() const;
  const ManifestFile* FindFile(std::string_view path) const;
};

std::string FileRole(std::string_view path);
std::string MediaType(std::string_view path);

Json ManifestToJson(const BundleManifest& manifest);
// InvalidArgument naming the field for a malformed manifest, or for a file path that is not a
// plain relative path (CheckRelativePath).
Result<BundleManifest> ManifestFromJson(const Json& json);

// <bundle_dir>/manifest.json, atomically.
Status WriteManifest(const std::string& bundle_dir, const BundleManifest& manifest);
// NotFound when the bundle has no manifest.
Result<BundleManifest> ReadManifest(const std::string& bundle_dir);

}  // namespace modelrt::store
