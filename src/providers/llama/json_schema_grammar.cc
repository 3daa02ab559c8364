#include "providers/llama/json_schema_grammar.h"

#include <exception>

#include "json-schema-to-grammar.h"

namespace modelrt::llama {

Result<std::string> JsonSchemaToGrammar(const std::string& schema) {
  try {
    return json_schema_to_grammar(common_json::parse(schema));
  } catch (const std::exception& e) {
    return InvalidArgumentError(std::string("the JSON schema cannot be enforced: ") + e.what());
  }
}

}  // namespace modelrt::llama
