#include "providers/llama/json_schema_grammar.h"

#include <exception>
#include <set>
#include <string_view>

#include "json-schema-to-grammar.h"

namespace modelrt::llama {
namespace {

// Keywords that constrain a value but that the pinned converter (common/json-schema.cpp) does
// not read: a grammar made without them would let through output the schema forbids.
const std::set<std::string, std::less<>> kUnenforced = {
    "multipleOf",         "uniqueItems",       "contains",          "minContains",
    "maxContains",        "not",               "if",                "then",
    "else",               "dependentRequired", "dependentSchemas",  "dependencies",
    "patternProperties",  "propertyNames",     "minProperties",     "maxProperties",
    "unevaluatedItems",   "unevaluatedProperties", "additionalItems", "$dynamicRef",
    "$recursiveRef"};

// The string formats the converter turns into grammar (others would be any string).
bool KnownFormat(std::string_view format) {
  return format == "date" || format == "time" || format == "date-time" || format == "uuid" ||
         (format.size() == 5 && format.substr(0, 4) == "uuid" && format[4] >= '1' && format[4] <= '5');
}

// A pattern the converter has no grammar for becomes "any string", with only a warning on
// stderr: converted alone, its root is then the pin's generic string rule ("root ::= string"),
// where an enforced pattern's root spells the pattern out. (The tests hold this to the pin.)
bool PatternEnforced(const std::string& pattern) {
  const std::string grammar =
      json_schema_to_grammar(common_json{{"type", "string"}, {"pattern", pattern}});
  return grammar.find("root ::= string\n") == std::string::npos;
}

// Walks the schema's subschemas (not its property names or enum values, which are data).
void CheckEnforceable(const common_json& schema, const std::string& path) {
  if (!schema.is_object()) return;
  for (const auto& [key, value] : schema.items()) {
    if (kUnenforced.count(key)) {
      throw std::invalid_argument("'" + key + "' at " + (path.empty() ? "/" : path) +
                                  " is not supported");
    }
    if (key == "format" && value.is_string() && !KnownFormat(value.get<std::string>())) {
      throw std::invalid_argument("format \"" + value.get<std::string>() + "\" at " +
                                  (path.empty() ? "/" : path) +
                                  " is not supported (date, time, date-time, uuid)");
    }
    if (key == "pattern" && value.is_string() && !PatternEnforced(value.get<std::string>())) {
      throw std::invalid_argument("pattern \"" + value.get<std::string>() + "\" at " +
                                  (path.empty() ? "/" : path) +
                                  " is not supported (a regular expression the grammar cannot "
                                  "express)");
    }
  }
  for (const char* key : {"properties", "$defs", "definitions"}) {
    if (!schema.contains(key) || !schema.at(key).is_object()) continue;
    for (const auto& [name, sub] : schema.at(key).items()) {
      CheckEnforceable(sub, path + "/" + key + "/" + name);
    }
  }
  for (const char* key : {"items", "additionalProperties"}) {
    if (schema.contains(key) && schema.at(key).is_object()) CheckEnforceable(schema.at(key), path + "/" + key);
  }
  for (const char* key : {"anyOf", "oneOf", "allOf", "prefixItems", "items"}) {
    if (!schema.contains(key) || !schema.at(key).is_array()) continue;
    const common_json& list = schema.at(key);
    for (size_t i = 0; i < list.size(); ++i) {
      CheckEnforceable(list.at(i), path + "/" + key + "/" + std::to_string(i));
    }
  }
}

}  // namespace

Result<std::string> JsonSchemaToGrammar(const std::string& schema) {
  try {
    const common_json parsed = common_json::parse(schema);
    CheckEnforceable(parsed, "");
    return json_schema_to_grammar(parsed);
  } catch (const std::exception& e) {
    return InvalidArgumentError(std::string("the JSON schema cannot be enforced: ") + e.what());
  }
}

}  // namespace modelrt::llama
