#include "providers/option_readers.h"

namespace modelrt {
namespace {

std::string List(const std::set<std::string>& names) {
  std::string list;
  for (const auto& name : names) list += (list.empty() ? "" : ", ") + name;
  return list;
}

}  // namespace

Status CheckKnownKeys(const Json& options, const std::set<std::string>& known,
                      std::string_view provider) {
  if (options.is_null()) return OkStatus();
  if (!options.is_object()) return InvalidArgumentError("options: must be an object");
  for (const auto& [key, value] : options.items()) {
    if (!known.count(key))
      return InvalidArgumentError("options." + key + ": not accepted by the " +
                                  std::string(provider) + " provider (known: " + List(known) + ")");
  }
  return OkStatus();
}

Status ReadInt(const Json& options, const char* key, int min, int max, int* out) {
  auto it = options.find(key);
  if (it == options.end()) return OkStatus();
  if (!it->is_number_integer())
    return InvalidArgumentError(std::string("options.") + key + ": must be an integer");
  const int64_t v = it->get<int64_t>();
  if (v < min || v > max)
    return InvalidArgumentError(std::string("options.") + key + ": must be in [" +
                                std::to_string(min) + ", " + std::to_string(max) + "] (got " +
                                std::to_string(v) + ")");
  *out = static_cast<int>(v);
  return OkStatus();
}

Status ReadBool(const Json& options, const char* key, bool* out) {
  auto it = options.find(key);
  if (it == options.end()) return OkStatus();
  if (!it->is_boolean())
    return InvalidArgumentError(std::string("options.") + key + ": must be a boolean");
  *out = it->get<bool>();
  return OkStatus();
}

Status ReadString(const Json& options, const char* key, std::string* out) {
  auto it = options.find(key);
  if (it == options.end()) return OkStatus();
  if (!it->is_string())
    return InvalidArgumentError(std::string("options.") + key + ": must be a string");
  *out = it->get<std::string>();
  return OkStatus();
}

Status ReadChoice(const Json& options, const char* key, const std::set<std::string>& allowed,
                  std::string* out) {
  std::string value = *out;
  MODELRT_RETURN_IF_ERROR(ReadString(options, key, &value));
  if (options.contains(key) && !allowed.count(value))
    return InvalidArgumentError(std::string("options.") + key + ": must be one of " +
                                List(allowed) + " (got '" + value + "')");
  *out = std::move(value);
  return OkStatus();
}

}  // namespace modelrt
