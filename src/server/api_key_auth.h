// ApiKeyAuth: bearer API keys from an environment variable (comma-separated) and/or a file (one
// key per line, '#' comments). No keys configured = open server.
//
//   MODELRT_ASSIGN_OR_RETURN(ApiKeyAuth auth, ApiKeyAuth::FromConfig(config.server));
//   Status s = auth.Check(request.Header("Authorization"));   // Unauthenticated on failure
//
// Keys are compared in constant time and never logged or echoed in errors.
//
// Thread-safety: immutable after construction; Check is safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modelrt/catalog.h"
#include "modelrt/status.h"

namespace modelrt::server {

// Compares without an early exit, so the time taken does not reveal a matching prefix.
bool ConstantTimeEquals(std::string_view a, std::string_view b);
// The token of "Bearer <token>" (scheme case-insensitive, token trimmed); nullopt otherwise.
std::optional<std::string> BearerToken(std::string_view authorization);
// `s` without leading and trailing spaces, tabs, CRs and LFs.
std::string TrimSpace(std::string_view s);

class ApiKeyAuth {
 public:
  ApiKeyAuth() = default;
  explicit ApiKeyAuth(std::vector<std::string> keys);

  // Reads $<api_keys_env> and api_keys_file. A configured file that cannot be read is
  // InvalidArgument (a server that silently runs open would be worse).
  static Result<ApiKeyAuth> FromConfig(const ServerConfig& config);

  bool enabled() const { return !keys_.empty(); }
  size_t key_count() const { return keys_.size(); }

  // OK when auth is disabled or `authorization` is "Bearer <a configured key>".
  Status Check(std::string_view authorization) const;

 private:
  std::vector<std::string> keys_;
};

}  // namespace modelrt::server
