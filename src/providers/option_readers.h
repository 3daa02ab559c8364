// Readers for a local provider's `options` object (ProviderConfig.options, ModelSpec.options):
// each checks the type and range of one key and leaves `out` alone when the key is absent, so
// defaults are whatever the caller's struct holds. Errors name the key ("options.ctx: ...").
//
//   MODELRT_RETURN_IF_ERROR(CheckKnownKeys(o, {"ctx", "threads"}, "llama"));
//   MODELRT_RETURN_IF_ERROR(ReadInt(o, "ctx", 0, 1 << 20, &out.ctx));
//
// Thread-safety: pure functions.
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "core/json.h"
#include "modelrt/status.h"

namespace modelrt {

// InvalidArgument for a key not in `known` (the list is in the message) or a non-object.
// A null `options` (`options:` left empty in YAML) is accepted.
Status CheckKnownKeys(const Json& options, const std::set<std::string>& known,
                      std::string_view provider);
Status ReadInt(const Json& options, const char* key, int min, int max, int* out);
Status ReadBool(const Json& options, const char* key, bool* out);
Status ReadString(const Json& options, const char* key, std::string* out);
// A string that must be one of `allowed` (or absent).
Status ReadChoice(const Json& options, const char* key, const std::set<std::string>& allowed,
                  std::string* out);

}  // namespace modelrt
