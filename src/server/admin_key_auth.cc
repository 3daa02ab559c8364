#include "server/admin_key_auth.h"

#include <cstdlib>
#include <fstream>

#include "server/api_key_auth.h"

namespace modelrt::server {
namespace {

ApiError Forbidden(std::string code, std::string message) {
  ApiError e;
  e.http_status = 403;
  e.type = "permission_error";
  e.code = std::move(code);
  e.message = std::move(message);
  return e;
}

}  // namespace

AdminKeyAuth::AdminKeyAuth(std::string key, std::string env_name)
    : key_(TrimSpace(key)), env_name_(std::move(env_name)) {}

Result<AdminKeyAuth> AdminKeyAuth::FromConfig(const ServerConfig& config) {
  if (!config.admin_key_env.empty()) {
    const char* env = std::getenv(config.admin_key_env.c_str());
    if (env != nullptr && !TrimSpace(env).empty()) return AdminKeyAuth(env, config.admin_key_env);
  }
  std::string key;
  if (!config.admin_key_file.empty()) {
    std::ifstream in(config.admin_key_file);
    if (!in) {
      return InvalidArgumentError("server.admin_key_file: cannot read '" + config.admin_key_file +
                                  "'");
    }
    std::string line;
    while (key.empty() && std::getline(in, line)) key = TrimSpace(line);
  }
  return AdminKeyAuth(std::move(key), config.admin_key_env);
}

std::optional<ApiError> AdminKeyAuth::Check(std::string_view authorization) const {
  if (!enabled()) {
    return Forbidden("admin_disabled",
                     env_name_.empty()
                         ? "admin API disabled: set server.admin_key_file"
                         : "admin API disabled: set " + env_name_ + " (or server.admin_key_file)");
  }
  std::optional<std::string> presented = BearerToken(authorization);
  if (!presented || !ConstantTimeEquals(*presented, key_)) {
    return Forbidden("admin_key_required", "admin key required");
  }
  return std::nullopt;
}

}  // namespace modelrt::server
