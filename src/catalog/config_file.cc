// LoadConfigFile (modelrt/catalog.h): reads a config file, picks the format by extension and
// resolves local model paths against the file's directory, so `modelrt serve -c dir/cat.yaml`
// finds dir/models/x.gguf whatever the working directory.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

#include "catalog/config_parser.h"
#include "modelrt/catalog.h"

namespace modelrt {
namespace {

namespace fs = std::filesystem;

// Far above any real config; a bigger file is a wrong path (a model, a log).
constexpr uintmax_t kMaxConfigBytes = 16u << 20;

ConfigFormat FormatFor(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (ext == ".json") return ConfigFormat::kJson;
  if (ext == ".yaml" || ext == ".yml") return ConfigFormat::kYaml;
  return ConfigFormat::kAuto;
}

Result<std::string> ReadConfigText(const std::string& path) {
  std::error_code ec;
  fs::file_status status = fs::status(path, ec);
  if (status.type() == fs::file_type::not_found) {
    return NotFoundError(path + ": config file not found");
  }
  if (status.type() == fs::file_type::directory) {
    return InvalidArgumentError(path + ": is a directory, not a config file");
  }
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) {
    int error = errno;
    std::string reason = path + ": cannot open: " + std::strerror(error);
    if (error == ENOENT) return NotFoundError(std::move(reason));
    if (error == EACCES || error == EPERM) return PermissionDeniedError(std::move(reason));
    return InvalidArgumentError(std::move(reason));
  }
  std::string text;
  char buffer[1 << 16];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file.get())) > 0) {
    text.append(buffer, n);
    if (text.size() > kMaxConfigBytes) {
      return InvalidArgumentError(path + ": larger than " + std::to_string(kMaxConfigBytes >> 20) +
                                  " MiB; not a config file");
    }
  }
  if (std::ferror(file.get())) {
    return InvalidArgumentError(path + ": read error: " + std::strerror(errno));
  }
  return text;
}

// Local (llama) models name files; remote ones name upstream models ("gpt-4o-mini"), which
// must not be touched. A URL-like value ("hf://...") is left for the provider too.
void ResolveModelPaths(const std::string& config_path, Config* config) {
  std::error_code ec;
  fs::path base = fs::absolute(fs::path(config_path), ec).parent_path();
  if (ec) return;  // cannot happen for a file just read; keep paths as written then
  for (ModelSpec& spec : config->models) {
    auto provider = std::find_if(config->providers.begin(), config->providers.end(),
                                 [&](const ProviderConfig& p) { return p.id == spec.provider; });
    if (provider == config->providers.end() || provider->type != catalog::kImpliedProviderType) {
      continue;
    }
    fs::path model(spec.model);
    if (model.is_absolute() || spec.model.find("://") != std::string::npos) continue;
    spec.model = (base / model).lexically_normal().string();
  }
}

}  // namespace

Result<Config> LoadConfigFile(const std::string& path) {
  MODELRT_ASSIGN_OR_RETURN(std::string text, ReadConfigText(path));
  MODELRT_ASSIGN_OR_RETURN(Config config, ParseConfig(text, path, FormatFor(path)));
  ResolveModelPaths(path, &config);
  return config;
}

}  // namespace modelrt
