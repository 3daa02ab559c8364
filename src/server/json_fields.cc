#include "server/json_fields.h"

#include <cmath>

#include "core/json.h"
#include "core/json_depth.h"

namespace modelrt::server {
namespace {

// Far deeper than any request (a JSON Schema of tools nests a few levels per property).
constexpr int kMaxDepth = 128;

std::string Quoted(std::string_view key) { return "'" + std::string(key) + "'"; }

Status WrongType(std::string_view key, std::string_view want, const Json& got) {
  return InvalidArgumentError(Quoted(key) + " must be " + std::string(want) + " (got " +
                              std::string(JsonTypeName(got)) + ")");
}

}  // namespace

std::string_view JsonTypeName(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::object: return "an object";
    case Json::value_t::array: return "an array";
    case Json::value_t::string: return "a string";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "an integer";
    case Json::value_t::number_float: return "a number";
    default: return "an unsupported value";
  }
}

Result<Json> ParseJsonObject(std::string_view body) {
  if (body.empty()) return InvalidArgumentError("request body is empty; expected a JSON object");
  if (JsonNestsDeeperThan(body, kMaxDepth)) {
    return InvalidArgumentError("request body nests deeper than " + std::to_string(kMaxDepth) +
                                " levels");
  }
  Json json = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return InvalidArgumentError("request body is not valid JSON");
  if (!json.is_object()) {
    return InvalidArgumentError("request body must be a JSON object (got " +
                                std::string(JsonTypeName(json)) + ")");
  }
  return json;
}

const Json* FindField(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

Result<std::string> RequiredString(const Json& object, std::string_view key, bool allow_empty) {
  const Json* field = FindField(object, key);
  if (!field) return InvalidArgumentError("missing required field " + Quoted(key));
  if (!field->is_string()) return WrongType(key, "a string", *field);
  std::string value = field->get<std::string>();
  if (!allow_empty && value.empty()) return InvalidArgumentError(Quoted(key) + " must not be empty");
  return value;
}

Result<std::optional<std::string>> OptionalString(const Json& object, std::string_view key) {
  const Json* field = FindField(object, key);
  if (!field) return std::optional<std::string>();
  if (!field->is_string()) return WrongType(key, "a string", *field);
  return std::optional<std::string>(field->get<std::string>());
}

Result<std::optional<int64_t>> OptionalInt(const Json& object, std::string_view key, int64_t min,
                                           int64_t max) {
  const Json* field = FindField(object, key);
  if (!field) return std::optional<int64_t>();
  int64_t value = 0;
  if (field->is_number_integer()) {
    if (field->is_number_unsigned() && field->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      value = INT64_MAX;
    } else {
      value = field->get<int64_t>();
    }
  } else if (field->is_number_float()) {
    // 5.0 is an integer to most JSON writers (Python, JavaScript); 5.5 is not.
    double d = field->get<double>();
    if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9e15) {
      return WrongType(key, "an integer", *field);
    }
    value = static_cast<int64_t>(d);
  } else {
    return WrongType(key, "an integer", *field);
  }
  if (value < min || value > max) {
    return InvalidArgumentError(Quoted(key) + " must be between " + std::to_string(min) +
                                " and " + std::to_string(max) + " (got " + std::to_string(value) +
                                ")");
  }
  return std::optional<int64_t>(value);
}

Result<std::optional<double>> OptionalNumber(const Json& object, std::string_view key, double min,
                                             double max) {
  const Json* field = FindField(object, key);
  if (!field) return std::optional<double>();
  if (!field->is_number()) return WrongType(key, "a number", *field);
  double value = field->get<double>();
  if (!(value >= min && value <= max)) {
    return InvalidArgumentError(Quoted(key) + " must be between " + Json(min).dump() + " and " +
                                Json(max).dump() + " (got " + field->dump() + ")");
  }
  return std::optional<double>(value);
}

Result<std::optional<bool>> OptionalBool(const Json& object, std::string_view key) {
  const Json* field = FindField(object, key);
  if (!field) return std::optional<bool>();
  if (!field->is_boolean()) return WrongType(key, "a boolean", *field);
  return std::optional<bool>(field->get<bool>());
}

Result<std::vector<std::string>> OptionalStringList(const Json& object, std::string_view key,
                                                    size_t max_items) {
  std::vector<std::string> out;
  const Json* field = FindField(object, key);
  if (!field) return out;
  if (field->is_string()) {
    out.push_back(field->get<std::string>());
  } else if (field->is_array()) {
    for (const Json& item : *field) {
      if (!item.is_string()) return WrongType(key, "a string or an array of strings", *field);
      out.push_back(item.get<std::string>());
    }
  } else {
    return WrongType(key, "a string or an array of strings", *field);
  }
  if (out.size() > max_items) {
    return InvalidArgumentError(Quoted(key) + " has " + std::to_string(out.size()) +
                                " items; at most " + std::to_string(max_items) + " are allowed");
  }
  std::erase_if(out, [](const std::string& s) { return s.empty(); });
  return out;
}

}  // namespace modelrt::server
