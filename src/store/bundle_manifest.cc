// Bundle manifests and file roles; see bundle_manifest.h.
#include "store/bundle_manifest.h"

#include <fstream>
#include <sstream>

#include "core/ascii_case.h"
#include "core/paths.h"
#include "core/sha256.h"
#include "store/confined_path.h"

namespace modelrt::store {
namespace {

std::string BaseName(std::string_view path) {
  size_t slash = path.rfind('/');
  std::string base(slash == std::string_view::npos ? path : path.substr(slash + 1));
  for (char& c : base) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return base;
}

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

}  // namespace

int64_t BundleManifest::TotalBytes() const {
  int64_t total = 0;
  for (const ManifestFile& f : files) total += f.size;
  return total;
}

const ManifestFile* BundleManifest::FindFile(std::string_view path) const {
  for (const ManifestFile& f : files) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

std::string FileRole(std::string_view path) {
  std::string base = BaseName(path);
  if (base == "config.json" || base == "generation_config.json" || base == "preprocessor_config.json" ||
      base == "sentence_bert_config.json" || base == "modules.json" || base == "config_sentence_transformers.json") {
    return "config";
  }
  if (base.find("tokenizer") != std::string::npos || base == "special_tokens_map.json") {
    return "tokenizer";
  }
  if (base == "vocab.txt" || base == "vocab.json" || base == "merges.txt" || EndsWith(base, ".model") ||
      base == "spiece.model") {
    return "vocabulary";
  }
  for (std::string_view ext : {".gguf", ".onnx", ".onnx_data", ".safetensors", ".bin", ".pt", ".pth"}) {
    if (EndsWith(base, ext)) return "weights";
  }
  return "artifact";
}

std::string MediaType(std::string_view path) {
  std::string base = BaseName(path);
  if (EndsWith(base, ".json")) return "application/json";
  if (EndsWith(base, ".txt") || EndsWith(base, ".md")) return "text/plain";
  if (EndsWith(base, ".gguf")) return "application/vnd.gguf";
  if (EndsWith(base, ".onnx")) return "application/vnd.onnx";
  if (EndsWith(base, ".safetensors")) return "application/vnd.safetensors";
  return "application/octet-stream";
}

Json ManifestToJson(const BundleManifest& m) {
  Json files = Json::array();
  for (const ManifestFile& f : m.files) {
    files.push_back({{"remote_path", f.remote_path},
                     {"path", f.path},
                     {"size", f.size},
                     {"sha256", f.sha256},
                     {"role", f.role},
                     {"media_type", f.media_type},
                     {"required", f.required}});
  }
  return {{"name", m.name},         {"task", m.task},     {"source", m.source},
          {"revision", m.revision}, {"commit", m.commit}, {"created_at", m.created_at},
          {"files", files}};
}

Result<BundleManifest> ManifestFromJson(const Json& json) {
  if (!json.is_object()) return InvalidArgumentError("manifest: must be an object");
  auto text = [&](const Json& object, const char* key, std::string* out,
                  std::string_view where) -> Status {
    auto it = object.find(key);
    if (it == object.end() || !it->is_string()) {
      return InvalidArgumentError(std::string(where) + "." + key + ": must be a string");
    }
    *out = it->get<std::string>();
    return OkStatus();
  };
  BundleManifest m;
  MODELRT_RETURN_IF_ERROR(text(json, "name", &m.name, "manifest"));
  MODELRT_RETURN_IF_ERROR(text(json, "task", &m.task, "manifest"));
  MODELRT_RETURN_IF_ERROR(text(json, "source", &m.source, "manifest"));
  MODELRT_RETURN_IF_ERROR(text(json, "revision", &m.revision, "manifest"));
  MODELRT_RETURN_IF_ERROR(text(json, "commit", &m.commit, "manifest"));
  if (auto it = json.find("created_at"); it != json.end() && it->is_number_integer()) {
    m.created_at = it->get<int64_t>();
  }
  auto files = json.find("files");
  if (files == json.end() || !files->is_array()) {
    return InvalidArgumentError("manifest.files: must be a list");
  }
  for (size_t i = 0; i < files->size(); ++i) {
    const Json& item = (*files)[i];
    std::string where = "manifest.files[" + std::to_string(i) + "]";
    if (!item.is_object()) return InvalidArgumentError(where + ": must be an object");
    ManifestFile f;
    MODELRT_RETURN_IF_ERROR(text(item, "remote_path", &f.remote_path, where));
    MODELRT_RETURN_IF_ERROR(text(item, "path", &f.path, where));
    if (Status s = CheckRelativePath(f.path); !s.ok()) {
      return InvalidArgumentError(where + ".path: " + s.message());
    }
    MODELRT_RETURN_IF_ERROR(text(item, "sha256", &f.sha256, where));
    if (!IsSha256Hex(f.sha256)) return InvalidArgumentError(where + ".sha256: must be 64 hex digits");
    MODELRT_RETURN_IF_ERROR(text(item, "role", &f.role, where));
    MODELRT_RETURN_IF_ERROR(text(item, "media_type", &f.media_type, where));
    auto size = item.find("size");
    if (size == item.end() || !size->is_number_integer() || size->get<int64_t>() < 0) {
      return InvalidArgumentError(where + ".size: must be a whole number of bytes");
    }
    f.size = size->get<int64_t>();
    if (auto required = item.find("required"); required != item.end() && required->is_boolean()) {
      f.required = required->get<bool>();
    }
    m.files.push_back(std::move(f));
  }
  return m;
}

Status WriteManifest(const std::string& bundle_dir, const BundleManifest& manifest) {
  return WriteFileAtomically(bundle_dir + "/manifest.json", ManifestToJson(manifest).dump(2) + "\n");
}

Result<BundleManifest> ReadManifest(const std::string& bundle_dir) {
  std::string path = bundle_dir + "/manifest.json";
  std::ifstream in(path);
  if (!in) return NotFoundError(path + ": no manifest");
  std::stringstream text;
  text << in.rdbuf();
  Json json = Json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return InvalidArgumentError(path + ": not JSON");
  Result<BundleManifest> manifest = ManifestFromJson(json);
  if (!manifest.ok()) return InvalidArgumentError(path + ": " + manifest.error().message());
  return manifest;
}

}  // namespace modelrt::store
