#include "server/api_key_auth.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "server/http_message.h"

namespace modelrt::server {

std::string TrimSpace(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

// Compares without an early exit so the time taken does not reveal a matching prefix.
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= x ^ y;
  }
  return diff == 0;
}

std::optional<std::string> BearerToken(std::string_view authorization) {
  constexpr std::string_view kBearer = "bearer ";
  if (authorization.size() <= kBearer.size() ||
      !EqualsIgnoreCase(authorization.substr(0, kBearer.size()), kBearer)) {
    return std::nullopt;
  }
  return TrimSpace(authorization.substr(kBearer.size()));
}

ApiKeyAuth::ApiKeyAuth(std::vector<std::string> keys) {
  for (auto& key : keys) {
    std::string k = TrimSpace(key);
    if (!k.empty()) keys_.push_back(std::move(k));
  }
}

Result<ApiKeyAuth> ApiKeyAuth::FromConfig(const ServerConfig& config) {
  std::vector<std::string> keys;
  if (!config.api_keys_env.empty()) {
    if (const char* env = std::getenv(config.api_keys_env.c_str())) {
      std::stringstream ss(env);
      std::string key;
      while (std::getline(ss, key, ',')) keys.push_back(key);
    }
  }
  if (!config.api_keys_file.empty()) {
    std::ifstream in(config.api_keys_file);
    if (!in) {
      return InvalidArgumentError("server.api_keys_file: cannot read '" + config.api_keys_file +
                                  "'");
    }
    std::string line;
    while (std::getline(in, line)) {
      std::string key = TrimSpace(line);
      if (!key.empty() && key[0] != '#') keys.push_back(key);
    }
  }
  return ApiKeyAuth(std::move(keys));
}

Status ApiKeyAuth::Check(std::string_view authorization) const {
  if (!enabled()) return OkStatus();
  if (authorization.empty()) {
    return UnauthenticatedError(
        "missing API key: send it as an 'Authorization: Bearer <key>' header");
  }
  std::optional<std::string> presented = BearerToken(authorization);
  if (!presented) return UnauthenticatedError("the Authorization header must be 'Bearer <key>'");
  bool match = false;
  for (const std::string& key : keys_) match |= ConstantTimeEquals(*presented, key);
  if (!match) return UnauthenticatedError("invalid API key");
  return OkStatus();
}

}  // namespace modelrt::server
