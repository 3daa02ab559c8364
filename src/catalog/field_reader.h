// Typed, path-aware reads of one JSON object of a config, with errors that name the source, the
// key path and the reason: "cat.yaml: models[1].timeout_s: must be a number (got string)".
//
//   MODELRT_ASSIGN_OR_RETURN(FieldReader reader,
//                            FieldReader::Create(json, "cat.yaml", "server", {"host", "port"}));
//   MODELRT_RETURN_IF_ERROR(reader.ReadString("host", &server.host));
//   MODELRT_RETURN_IF_ERROR(reader.ReadInt("port", 0, 65535, &server.port));
//
// Absent keys leave the output untouched, so outputs start as defaults. Only Create() checks
// for unknown keys, so typos are reported before the "required" errors they would cause.
//
// Thread-safety: holds a pointer to the caller's Json; use from one thread while that lives.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "modelrt/catalog.h"
#include "modelrt/status.h"

namespace modelrt::catalog {

// "models[0]" + "alias" = "models[0].alias"; "" + "server" = "server".
std::string JoinPath(std::string_view path, std::string_view key);
// "models" + 2 = "models[2]".
std::string IndexPath(std::string_view path, size_t index);
// InvalidArgument "<source>: <path>: <reason>", leaving out empty parts.
Status PathError(std::string_view source, std::string_view path, std::string_view reason);
// The JSON type as a config author thinks of it: string, number, boolean, null, object, list.
std::string TypeName(const Json& value);
// A short rendering of a value for "(got ...)": 'text' for strings (shortened), numbers and
// booleans as written, the type name for the rest.
std::string Describe(const Json& value);

// Fails unless every key of the object `json` is in `allowed`: "<source>: <path>: unknown
// <noun> 'x' (did you mean 'y'?)", suggesting the nearest allowed key.
Status CheckKnownKeys(const Json& json, std::string_view source, std::string_view path,
                      std::initializer_list<std::string_view> allowed,
                      std::string_view noun = "key");

class FieldReader {
 public:
  // Fails unless `json` is an object whose keys are all in `allowed`; the error for an unknown
  // key suggests the nearest allowed one.
  static Result<FieldReader> Create(const Json& json, std::string source, std::string path,
                                    std::initializer_list<std::string_view> allowed);

  const Json* Find(std::string_view key) const;
  bool Has(std::string_view key) const { return Find(key) != nullptr; }
  // The full path of `key`, and an error about it.
  std::string PathOf(std::string_view key) const { return JoinPath(path_, key); }
  Status Error(std::string_view key, std::string_view reason) const;
  const std::string& source() const { return source_; }
  const std::string& path() const { return path_; }

  // A string; `required` makes absence an error, `non_empty` makes "" one.
  Status ReadString(std::string_view key, std::string* out, bool required = false,
                    bool non_empty = false);
  // An integer in [min, max]; an integral float such as 8.0 counts.
  Status ReadInt(std::string_view key, int64_t min, int64_t max, int64_t* out);
  Status ReadInt(std::string_view key, int64_t min, int64_t max, int* out);
  Status ReadBool(std::string_view key, bool* out);
  // Any JSON object (free-form: its keys are not checked here).
  Status ReadObject(std::string_view key, Json* out);
  // The same, as Options (left as they are when the key is absent).
  Status ReadOptions(std::string_view key, Options* out);
  // A finite number of seconds, at least `min` (more than `min` when `exclusive`), converted to
  // milliseconds, rounded; a positive value never rounds down to 0.
  Status ReadSeconds(std::string_view key, double min, bool exclusive,
                     std::chrono::milliseconds* out);
  // One of `names`; `*index` is its position.
  Status ReadEnum(std::string_view key, const std::vector<std::string_view>& names, int* index);

 private:
  FieldReader(const Json* json, std::string source, std::string path)
      : json_(json), source_(std::move(source)), path_(std::move(path)) {}

  const Json* json_;
  std::string source_;
  std::string path_;
};

}  // namespace modelrt::catalog
