// PostgreSQL connection URLs (postgresql://user:password@host:port/db?options) as the config
// and the logs see them: a password never reaches either.
//
//   if (UrlHasPassword(url)) return InvalidArgumentError("put the password in PGPASSWORD");
//   log->info("jobs on {}", RedactUrl(url));   // postgresql://app:***@db/modelrt
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "modelrt/status.h"

namespace modelrt {

// postgresql:// or postgres:// (libpq's two URI schemes).
bool IsPostgresUrl(std::string_view url);
// A password in the user part or a password= option.
bool UrlHasPassword(std::string_view url);
// The URL with any password replaced by ***.
std::string RedactUrl(std::string_view url);

// The shared store a config section names: `store` itself, or the URL in the variable named by
// `store_env`; "" for the local default. InvalidArgument when that variable is unset or holds
// no postgresql:// URL (the message names the section and the variable, never the value).
Result<std::string> ResolveStoreUrl(std::string_view section, const std::string& store,
                                    const std::string& store_env);

}  // namespace modelrt
