// Options: settings only their reader understands (a provider's or an alias's `options:` map, a
// profile's `params:`), held as an immutable JSON object. The public API sees JSON text; the
// library parses it once, when the config is read, and copies share the parsed value.
//
//   MODELRT_ASSIGN_OR_RETURN(Options options, Options::Parse(R"({"threads": 2})"));
//   spec.options = options;              // options.ToJson() == R"({"threads":2})"
//
// Thread-safety: an immutable value; safe to copy and read from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "modelrt/status.h"

namespace modelrt {

namespace internal {
struct OptionsValue;
}  // namespace internal

class Options {
 public:
  Options();  // {}

  // InvalidArgument unless `json_text` is a JSON object (or empty, meaning {}).
  static Result<Options> Parse(std::string_view json_text);

  std::string ToJson() const;  // compact, keys in order
  bool empty() const;
  bool contains(std::string_view key) const;

  friend bool operator==(const Options& a, const Options& b);

 private:
  friend struct internal::OptionsValue;
  explicit Options(std::shared_ptr<const internal::OptionsValue> value);
  std::shared_ptr<const internal::OptionsValue> value_;
};

}  // namespace modelrt
