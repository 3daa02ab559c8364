#include "providers/remote/remote_settings.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "catalog/field_reader.h"
#include "catalog/options_json.h"
#include "core/ascii_trim.h"

namespace modelrt::remote {
namespace {

std::string Where(const ProviderConfig& config) {
  return config.origin.empty() ? "provider '" + config.id + "'" : config.origin;
}

Result<std::string> ReadKey(const ProviderConfig& config) {
  const std::string where = Where(config);
  if (!config.api_key_env.empty()) {
    const char* value = std::getenv(config.api_key_env.c_str());
    if (value == nullptr || *value == '\0') {
      return InvalidArgumentError(where + ": api_key_env: variable " + config.api_key_env +
                                  " is not set");
    }
    return std::string(TrimAsciiSpace(value));
  }
  if (!config.api_key_file.empty()) {
    std::ifstream in(config.api_key_file, std::ios::binary);
    if (!in) {
      return InvalidArgumentError(where + ": api_key_file: cannot read '" + config.api_key_file +
                                  "'");
    }
    std::stringstream text;
    text << in.rdbuf();
    // Secret files end in a newline more often than not (echo, kubectl create secret).
    std::string key(TrimAsciiSpace(text.str()));
    if (key.empty()) {
      return InvalidArgumentError(where + ": api_key_file: '" + config.api_key_file +
                                  "' is empty");
    }
    return key;
  }
  return std::string();
}

// Vertex's regional host is "{location}-aiplatform.googleapis.com", its global one
// "aiplatform.googleapis.com".
Result<std::string> FillBaseUrl(std::string url, catalog::FieldReader& reader,
                                const std::string& type) {
  if (url.find('{') == std::string::npos) return url;
  std::string project, location = "us-central1";
  MODELRT_RETURN_IF_ERROR(reader.ReadString("project", &project, false, true));
  MODELRT_RETURN_IF_ERROR(reader.ReadString("location", &location, false, true));
  if (project.empty()) {
    return reader.Error("project", "required by provider type '" + type + "' (or give base_url)");
  }
  for (const std::string& part : {project, location}) {
    if (part.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_") != std::string::npos) {
      return reader.Error(part == project ? "project" : "location",
                          "'" + part + "' is not a Google Cloud name");
    }
  }
  auto replace = [&url](const std::string& from, const std::string& to) {
    for (size_t at = url.find(from); at != std::string::npos; at = url.find(from, at + to.size())) {
      url.replace(at, from.size(), to);
    }
  };
  replace("{location}-aiplatform.", location == "global" ? "aiplatform." : location + "-aiplatform.");
  replace("{project}", project);
  replace("{location}", location);
  return url;
}

Result<std::shared_ptr<TokenSource>> ReadTokenSource(catalog::FieldReader& reader,
                                                     const std::string& where) {
  TokenSource::Options options{.where = where};
  MODELRT_RETURN_IF_ERROR(reader.ReadString("token_command", &options.command, false, true));
  MODELRT_RETURN_IF_ERROR(reader.ReadString("token_file", &options.file, false, true));
  MODELRT_RETURN_IF_ERROR(
      reader.ReadSeconds("token_refresh_s", 0, true, &options.refresh_every));
  if (options.command.empty() && options.file.empty()) {
    if (reader.Has("token_refresh_s")) {
      return reader.Error("token_refresh_s", "needs token_command or token_file");
    }
    return std::shared_ptr<TokenSource>();
  }
  if (!options.command.empty() && !options.file.empty()) {
    return reader.Error("token_file", "give token_command or token_file, not both");
  }
  return TokenSource::Create(std::move(options));
}

}  // namespace

Result<RemoteSettings> ReadRemoteSettings(const ProviderConfig& config,
                                          const std::string& default_base_url) {
  const std::string where = Where(config);
  RemoteSettings settings;
  settings.provider_id = config.id;
  settings.type = config.type;
  const Json& options = OptionsJson(config.options);
  MODELRT_ASSIGN_OR_RETURN(
      catalog::FieldReader reader,
      catalog::FieldReader::Create(
          options, where, "options",
          {"timeout_s", "connect_timeout_s", "first_token_timeout_s", "stream_idle_timeout_s",
           "max_retries", "breaker_failures", "breaker_cool_down_s", "headers", "ca_file",
           "probe", "api_version", "token_command", "token_file", "token_refresh_s", "project",
           "location"}));
  // Only a type whose endpoint names them (Vertex) takes a project and a location.
  const bool takes_project = default_base_url.find('{') != std::string::npos;
  for (const char* key : {"project", "location"}) {
    if (!takes_project && reader.Has(key)) {
      return reader.Error(key, "unknown option for provider type '" + config.type + "'");
    }
  }
  std::string base_text = config.base_url.empty() ? default_base_url : config.base_url;
  if (base_text.empty()) {
    return InvalidArgumentError(where + ": base_url: required by provider type '" + config.type +
                                "'");
  }
  if (takes_project && config.base_url.empty()) {
    MODELRT_ASSIGN_OR_RETURN(base_text, FillBaseUrl(base_text, reader, config.type));
  }
  auto base = net::ParseUrl(base_text);
  if (!base) return base.error().WithPrefix(where + ": base_url");
  settings.base = std::move(*base);
  MODELRT_ASSIGN_OR_RETURN(settings.api_key, ReadKey(config));
  MODELRT_RETURN_IF_ERROR(reader.ReadSeconds("timeout_s", 0, true, &settings.timeout));
  MODELRT_RETURN_IF_ERROR(
      reader.ReadSeconds("connect_timeout_s", 0, true, &settings.connect_timeout));
  MODELRT_RETURN_IF_ERROR(
      reader.ReadSeconds("first_token_timeout_s", 0, false, &settings.first_token_timeout));
  MODELRT_RETURN_IF_ERROR(
      reader.ReadSeconds("stream_idle_timeout_s", 0, false, &settings.stream_idle_timeout));
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("max_retries", 0, 10, &settings.max_retries));
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("breaker_failures", 0, 1000, &settings.breaker_failures));
  MODELRT_RETURN_IF_ERROR(
      reader.ReadSeconds("breaker_cool_down_s", 0, false, &settings.breaker_cool_down));
  MODELRT_RETURN_IF_ERROR(reader.ReadString("ca_file", &settings.ca_file, false, true));
  MODELRT_RETURN_IF_ERROR(reader.ReadBool("probe", &settings.probe));
  MODELRT_RETURN_IF_ERROR(reader.ReadString("api_version", &settings.api_version, false, true));
  Json headers = Json::object();
  MODELRT_RETURN_IF_ERROR(reader.ReadObject("headers", &headers));
  for (const auto& [name, value] : headers.items()) {
    if (!value.is_string()) {
      return reader.Error("headers", "'" + name + "' must be a string");
    }
    settings.headers.push_back({name, value.get<std::string>()});
  }
  // Last: running a token command is the one costly step, and the rest may be wrong.
  const bool has_key = !config.api_key_env.empty() || !config.api_key_file.empty();
  for (const char* key : {"token_command", "token_file"}) {
    if (has_key && reader.Has(key)) {
      return reader.Error(key, "a provider takes a key (api_key_env, api_key_file) or a token "
                               "(token_command, token_file), not both");
    }
  }
  MODELRT_ASSIGN_OR_RETURN(settings.token, ReadTokenSource(reader, where));
  return settings;
}

}  // namespace modelrt::remote
