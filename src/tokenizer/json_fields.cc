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

Result<Regex> ReadPattern(const Json& json, const std::string& path) {
  auto pattern = json.find("pattern");
  const char* shape = "must be {\"String\": ...} or {\"Regex\": ...}";
  if (pattern == json.end() || !pattern->is_object()) return FieldError(path + ".pattern", shape);
  std::string expression;
  if (auto s = pattern->find("String"); s != pattern->end() && s->is_string()) {
    // A literal: every character that means something to a regex escaped.
    for (char c : s->get<std::string>()) {
      if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) expression += '\\';
      expression += c;
    }
  } else if (auto r = pattern->find("Regex"); r != pattern->end() && r->is_string()) {
    expression = r->get<std::string>();
  } else {
    return FieldError(path + ".pattern", shape);
  }
  auto compiled = Regex::Compile(expression);
  if (!compiled) return compiled.error().WithPrefix(path + ".pattern");
  return compiled;
}

}  // namespace modelrt::tokenizer
