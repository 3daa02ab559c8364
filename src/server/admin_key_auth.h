// AdminKeyAuth: the key that opens /admin. Separate from the API keys (an API key never opens
// /admin; the admin key need not be an API key). Read once at start from $<server.admin_key_env>
// (default MODELRT_ADMIN_KEY) or, when that is unset or empty, the first non-empty line of
// server.admin_key_file. With no key configured the admin API is disabled: every /admin route
// answers 403.
//
//   MODELRT_ASSIGN_OR_RETURN(AdminKeyAuth admin, AdminKeyAuth::FromConfig(config.server));
//   if (auto denied = admin.Check(request.Header("Authorization"))) return ErrorResponse(*denied);
//
// The key is compared in constant time and never logged or echoed.
//
// Thread-safety: immutable after construction; Check is safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "modelrt/catalog.h"
#include "modelrt/status.h"
#include "server/error_mapper.h"

namespace modelrt::server {

class AdminKeyAuth {
 public:
  AdminKeyAuth() = default;  // disabled
  // `env_name` names the variable in the "disabled" message.
  AdminKeyAuth(std::string key, std::string env_name);

  // InvalidArgument when a configured admin_key_file cannot be read (and the variable is unset).
  static Result<AdminKeyAuth> FromConfig(const ServerConfig& config);

  bool enabled() const { return !key_.empty(); }

  // nullopt when `authorization` is "Bearer <the admin key>"; else the 403 to answer
  // (admin_disabled without a key, admin_key_required for a missing or wrong one).
  std::optional<ApiError> Check(std::string_view authorization) const;

 private:
  std::string key_;
  std::string env_name_ = "MODELRT_ADMIN_KEY";
};

}  // namespace modelrt::server
