#include "tokenizer/json_fields.h"

namespace modelrt::tokenizer {

Status FieldError(const std::string& path, const std::string& reason) {
  return InvalidArgumentError(path + ": " + reason);
}

Status Unsupported(const std::string& path, const std::string& type) {
  return InvalidArgumentError(path + ": type '" + type +
                              "' is not supported by modelrt's tokenizer");
}

Result<std::string> TypeOf(const Json& json, const std::string& path) {
  if (!json.is_object()) return FieldError(path, "must be an object");
  auto it = json.find("type");
  if (it == json.end() || !it->is_string()) return FieldError(path + ".type", "must be a string");
  return it->get<std::string>();
}

Result<bool> BoolOr(const Json& json, const char* key, bool fallback, const std::string& path) {
  auto it = json.find(key);
  if (it == json.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) return FieldError(path + "." + key, "must be true or false");
  return it->get<bool>();
}

Result<std::string> StringOr(const Json& json, const char* key, const std::string& fallback,
                             const std::string& path) {
  auto it = json.find(key);
  if (it == json.end() || it->is_null()) return fallback;
  if (!it->is_string()) return FieldError(path + "." + key, "must be a string");
  return it->get<std::string>();
}

Result<int64_t> IntOr(const Json& json, const char* key, int64_t fallback,
                      const std::string& path) {
  auto it = json.find(key);
  if (it == json.end() || it->is_null()) return fallback;
  if (!it->is_number_integer()) return FieldError(path + "." + key, "must be an integer");
  return it->get<int64_t>();
}

Result<const Json*> ListOf(const Json& json, const char* key, const std::string& path) {
  auto it = json.find(key);
  if (it == json.end() || !it->is_array()) return FieldError(path + "." + key, "must be a list");
  return &*it;
}

Result<std::string> StringPattern(const Json& json, const std::string& path) {
  auto it = json.find("pattern");
  if (it == json.end() || !it->is_object()) {
    return FieldError(path + ".pattern", "must be {\"String\": ...} or {\"Regex\": ...}");
  }
  if (auto s = it->find("String"); s != it->end() && s->is_string()) return s->get<std::string>();
  if (it->contains("Regex")) return Unsupported(path + ".pattern", "Regex");
  return FieldError(path + ".pattern", "must be {\"String\": ...} or {\"Regex\": ...}");
}

}  // namespace modelrt::tokenizer
