// Typed, exception-free access to request JSON: every wrong type or out-of-range value becomes
// an InvalidArgument naming the field, which the error mapper turns into a 400. JSON null counts
// as absent (clients send explicit nulls for unset options).
//
//   MODELRT_ASSIGN_OR_RETURN(Json body, ParseJsonObject(request.body));
//   MODELRT_ASSIGN_OR_RETURN(std::string model, RequiredString(body, "model"));
//   MODELRT_ASSIGN_OR_RETURN(std::optional<int64_t> top_n, OptionalInt(body, "top_n", 1, 1000));
//
// Thread-safety: free functions over values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "modelrt/status.h"
#include "server/http_message.h"

namespace modelrt::server {

// Parses a request body that must be a JSON object.
Result<Json> ParseJsonObject(std::string_view body);

// The field, or nullptr when absent or null.
const Json* FindField(const Json& object, std::string_view key);

Result<std::string> RequiredString(const Json& object, std::string_view key,
                                   bool allow_empty = false);
Result<std::optional<std::string>> OptionalString(const Json& object, std::string_view key);
Result<std::optional<int64_t>> OptionalInt(const Json& object, std::string_view key, int64_t min,
                                           int64_t max);
Result<std::optional<double>> OptionalNumber(const Json& object, std::string_view key, double min,
                                             double max);
Result<std::optional<bool>> OptionalBool(const Json& object, std::string_view key);
// A string or an array of strings (OpenAI's `stop`), at most `max_items`.
Result<std::vector<std::string>> OptionalStringList(const Json& object, std::string_view key,
                                                    size_t max_items);

// "string", "number", ... for error messages.
std::string_view JsonTypeName(const Json& value);

}  // namespace modelrt::server
