// Typed reads of config objects with path-aware errors; see field_reader.h.
#include "catalog/field_reader.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "catalog/options_json.h"
#include "core/json.h"

namespace modelrt::catalog {
namespace {

constexpr size_t kMaxQuoted = 60;
// Ten years: longer is surely a unit mistake, and it keeps milliseconds far from overflow.
constexpr double kMaxSeconds = 10.0 * 365 * 24 * 3600;

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string JoinNames(const std::vector<std::string_view>& names) {
  std::string out;
  for (std::string_view name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

std::string RangeText(int64_t min, int64_t max) {
  constexpr int64_t kNoMax = std::numeric_limits<int64_t>::max();
  if (max == kNoMax || max == std::numeric_limits<int>::max()) {
    return min == 1 ? "must be > 0" : "must be >= " + std::to_string(min);
  }
  return "must be between " + std::to_string(min) + " and " + std::to_string(max);
}

}  // namespace

std::string JoinPath(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  std::string out(path);
  out += '.';
  out += key;
  return out;
}

std::string IndexPath(std::string_view path, size_t index) {
  return std::string(path) + "[" + std::to_string(index) + "]";
}

Status PathError(std::string_view source, std::string_view path, std::string_view reason) {
  std::string message;
  for (std::string_view part : {source, path}) {
    if (part.empty()) continue;
    message += part;
    message += ": ";
  }
  message += reason;
  return InvalidArgumentError(std::move(message));
}

std::string TypeName(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return "boolean";
    case Json::value_t::string: return "string";
    case Json::value_t::object: return "object";
    case Json::value_t::array: return "list";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float: return "number";
    default: return "unknown";
  }
}

std::string Describe(const Json& value) {
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    if (text.size() <= kMaxQuoted) return "'" + text + "'";
    // Cut on a UTF-8 character boundary so the message stays valid text.
    size_t cut = kMaxQuoted;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    return "'" + text.substr(0, cut) + "...'";
  }
  if (value.is_number() || value.is_boolean()) return value.dump();
  return TypeName(value);
}

Status CheckKnownKeys(const Json& json, std::string_view source, std::string_view path,
                      std::initializer_list<std::string_view> allowed, std::string_view noun) {
  for (const auto& [key, value] : json.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::string reason = "unknown " + std::string(noun) + " '" + key + "'";
    std::string_view nearest;
    size_t best = 3;  // suggest only near misses: "modle" -> "model"
    for (std::string_view candidate : allowed) {
      size_t distance = EditDistance(key, candidate);
      if (distance < best) best = distance, nearest = candidate;
    }
    if (!nearest.empty()) {
      reason += " (did you mean '" + std::string(nearest) + "'?)";
    } else {
      reason += " (expected one of " + JoinNames({allowed.begin(), allowed.end()}) + ")";
    }
    return PathError(source, path, reason);
  }
  return OkStatus();
}

Result<FieldReader> FieldReader::Create(const Json& json, std::string source, std::string path,
                                        std::initializer_list<std::string_view> allowed) {
  if (!json.is_object()) {
    return PathError(source, path, "must be an object (got " + TypeName(json) + ")");
  }
  MODELRT_RETURN_IF_ERROR(CheckKnownKeys(json, source, path, allowed));
  return FieldReader(&json, std::move(source), std::move(path));
}

const Json* FieldReader::Find(std::string_view key) const {
  auto it = json_->find(key);
  return it == json_->end() ? nullptr : &*it;
}

Status FieldReader::Error(std::string_view key, std::string_view reason) const {
  return PathError(source_, PathOf(key), reason);
}

Status FieldReader::ReadString(std::string_view key, std::string* out, bool required,
                               bool non_empty) {
  const Json* value = Find(key);
  if (value == nullptr) return required ? Error(key, "is required") : OkStatus();
  if (!value->is_string()) return Error(key, "must be a string (got " + TypeName(*value) + ")");
  const std::string& text = value->get_ref<const std::string&>();
  if (non_empty && text.empty()) return Error(key, "must not be empty");
  *out = text;
  return OkStatus();
}

Status FieldReader::ReadInt(std::string_view key, int64_t min, int64_t max, int64_t* out) {
  const Json* value = Find(key);
  if (value == nullptr) return OkStatus();
  if (!value->is_number()) {
    return Error(key, "must be an integer (got " + TypeName(*value) + ")");
  }
  int64_t number = 0;
  if (value->is_number_unsigned()) {
    uint64_t u = value->get<uint64_t>();
    if (u > static_cast<uint64_t>(max)) {
      return Error(key, RangeText(min, max) + " (got " + value->dump() + ")");
    }
    number = static_cast<int64_t>(u);
  } else if (value->is_number_integer()) {
    number = value->get<int64_t>();
  } else {
    double d = value->get<double>();
    // 2^63 is exact as a double; anything at or past it does not fit.
    if (!std::isfinite(d) || d != std::trunc(d) || std::fabs(d) >= 9.2233720368547758e18) {
      return Error(key, "must be an integer (got " + value->dump() + ")");
    }
    number = static_cast<int64_t>(d);
  }
  if (number < min || number > max) {
    return Error(key, RangeText(min, max) + " (got " + std::to_string(number) + ")");
  }
  *out = number;
  return OkStatus();
}

Status FieldReader::ReadInt(std::string_view key, int64_t min, int64_t max, int* out) {
  int64_t wide = *out;
  MODELRT_RETURN_IF_ERROR(ReadInt(key, std::max<int64_t>(min, std::numeric_limits<int>::min()),
                                  std::min<int64_t>(max, std::numeric_limits<int>::max()), &wide));
  *out = static_cast<int>(wide);
  return OkStatus();
}

Status FieldReader::ReadBool(std::string_view key, bool* out) {
  const Json* value = Find(key);
  if (value == nullptr) return OkStatus();
  if (!value->is_boolean()) {
    return Error(key, "must be true or false (got " + TypeName(*value) + ")");
  }
  *out = value->get<bool>();
  return OkStatus();
}

Status FieldReader::ReadObject(std::string_view key, Json* out) {
  const Json* value = Find(key);
  if (value == nullptr) return OkStatus();
  if (!value->is_object()) return Error(key, "must be an object (got " + TypeName(*value) + ")");
  *out = *value;
  return OkStatus();
}

Status FieldReader::ReadOptions(std::string_view key, Options* out) {
  Json object;
  MODELRT_RETURN_IF_ERROR(ReadObject(key, &object));
  if (!object.is_null()) *out = MakeOptions(std::move(object));
  return OkStatus();
}

Status FieldReader::ReadSeconds(std::string_view key, double min, bool exclusive,
                                std::chrono::milliseconds* out) {
  const Json* value = Find(key);
  if (value == nullptr) return OkStatus();
  if (!value->is_number()) return Error(key, "must be a number (got " + TypeName(*value) + ")");
  double seconds = value->get<double>();
  auto min_text = [&] {
    std::string bound =
        min == std::trunc(min) ? std::to_string(static_cast<int64_t>(min)) : Json(min).dump();
    return std::string(exclusive ? "must be > " : "must be >= ") + bound;
  };
  if (!std::isfinite(seconds)) return Error(key, "must be a finite number");
  if (seconds < min || (exclusive && seconds == min)) {
    return Error(key, min_text() + " (got " + value->dump() + ")");
  }
  if (seconds > kMaxSeconds) {
    return Error(key, "must be at most " + std::to_string(static_cast<int64_t>(kMaxSeconds)) +
                          " (got " + value->dump() + ")");
  }
  int64_t ms = std::llround(seconds * 1000.0);
  if (ms == 0 && seconds > 0) ms = 1;
  *out = std::chrono::milliseconds(ms);
  return OkStatus();
}

Status FieldReader::ReadEnum(std::string_view key, const std::vector<std::string_view>& names,
                             int* index) {
  const Json* value = Find(key);
  if (value == nullptr) return OkStatus();
  if (value->is_string()) {
    auto it = std::find(names.begin(), names.end(), value->get_ref<const std::string&>());
    if (it != names.end()) {
      *index = static_cast<int>(it - names.begin());
      return OkStatus();
    }
  }
  return Error(key, "must be one of " + JoinNames(names) + " (got " + Describe(*value) + ")");
}

}  // namespace modelrt::catalog
