#include "modelrt/options.h"

#include "catalog/json_text.h"
#include "catalog/options_json.h"

namespace modelrt {

namespace internal {

struct OptionsValue {
  Json object = Json::object();

  static Options Wrap(Json object) {
    auto value = std::make_shared<OptionsValue>();
    if (!object.is_null()) value->object = std::move(object);
    return Options(std::move(value));
  }
  static const Json& Of(const Options& options) { return options.value_->object; }
};

}  // namespace internal

namespace {

// One shared {} for every default-constructed Options: most specs have no options.
const std::shared_ptr<const internal::OptionsValue>& EmptyValue() {
  static const auto* empty =
      new std::shared_ptr<const internal::OptionsValue>(std::make_shared<internal::OptionsValue>());
  return *empty;
}

}  // namespace

Options::Options() : value_(EmptyValue()) {}

Options::Options(std::shared_ptr<const internal::OptionsValue> value) : value_(std::move(value)) {}

Result<Options> Options::Parse(std::string_view json_text) {
  if (json_text.find_first_not_of(" \t\r\n") == std::string_view::npos) return Options();
  MODELRT_ASSIGN_OR_RETURN(Json json, catalog::ParseJsonText(json_text));
  if (!json.is_object()) return InvalidArgumentError("options: must be a JSON object");
  return MakeOptions(std::move(json));
}

std::string Options::ToJson() const { return value_->object.dump(); }

bool Options::empty() const { return value_->object.empty(); }

bool Options::contains(std::string_view key) const { return value_->object.contains(key); }

bool operator==(const Options& a, const Options& b) {
  return a.value_ == b.value_ || a.value_->object == b.value_->object;
}

const Json& OptionsJson(const Options& options) { return internal::OptionsValue::Of(options); }

Options MakeOptions(Json object) { return internal::OptionsValue::Wrap(std::move(object)); }

Options WithOption(const Options& options, const std::string& key, Json value) {
  Json object = OptionsJson(options);
  object[key] = std::move(value);
  return MakeOptions(std::move(object));
}

}  // namespace modelrt
