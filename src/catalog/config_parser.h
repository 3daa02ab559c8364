// The whole-config validator: one parsed Json (from JSON or YAML text) to a Config. Sections are
// read by config_sections.h and model_spec_parser.h; this adds the file's shape (object or bare
// list), the implied provider, defaults that need the whole file, and cross-references.
//
//   MODELRT_ASSIGN_OR_RETURN(Json json, ParseJsonText(text));
//   MODELRT_ASSIGN_OR_RETURN(Config config, ConfigFromJson(json, "cat.json"));
//
// ParseConfig and LoadConfigFile (modelrt/catalog.h) are built on these.
//
// Thread-safety: free functions over values; safe from any thread.
#pragma once

#include <string_view>

#include "core/json.h"
#include "modelrt/catalog.h"
#include "modelrt/status.h"

namespace modelrt::catalog {

// The provider a file gets when it declares none: {id: local, type: llama}.
inline constexpr std::string_view kImpliedProviderId = "local";
inline constexpr std::string_view kImpliedProviderType = "llama";

// Validates `json` (an object of sections, or a bare list of model specs) as the config
// `source`. A null `json` (an empty document) is an error.
Result<Config> ConfigFromJson(const Json& json, std::string_view source);

// Text to Json by `format` (kAuto: JSON when the first non-space character is '{' or '['),
// errors prefixed by `source`; a blank text is an error.
Result<Json> ParseConfigText(std::string_view text, std::string_view source, ConfigFormat format);

}  // namespace modelrt::catalog
