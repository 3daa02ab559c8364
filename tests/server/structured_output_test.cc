// Structured outputs on the real server over stories260K (a real model that knows nothing of
// JSON): response_format json_schema and json_object, and llama-server's raw `grammar`, enforced
// by llama.cpp's grammar sampler. With sampling at temperature 1, 100 seeds give 100 answers that
// parse and follow the schema. Requests it cannot honour are 400s naming the field.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "server/http_test_client.h"
#include "server/test_server.h"

namespace modelrt::testing {
namespace {

using ::testing::HasSubstr;

Config StructuredConfig() {
  Config c = TestConfig();
  c.server.max_tokens_limit = 512;
  ModelSpec json;
  json.alias = "json";
  json.task = Task::kGenerate;
  json.provider = "local";
  json.model = StoriesPath();
  json.options = MakeOptions({{"ctx", 1024}, {"parallel", 4}});
  json.origin = "<test>: json";
  c.models.push_back(json);
  return c;
}

const Json kSchema = Json::parse(R"({
  "type": "object",
  "properties": {
    "name": {"type": "string", "minLength": 1, "maxLength": 8},
    "age": {"type": "integer", "minimum": 0, "maximum": 120},
    "pet": {"enum": ["cat", "dog", "fish"]}
  },
  "required": ["name", "age", "pet"],
  "additionalProperties": false
})");

Json Chat(int port, Json extra, int seed) {
  Json body = {{"model", "json"},
               {"messages", {{{"role", "user"}, {"content", "Describe a person as JSON."}}}},
               {"temperature", 1.0},
               {"seed", seed},
               {"max_tokens", 400}};
  body.update(extra);
  HttpResult r = HttpCall(port, "POST", "/v1/chat/completions", body.dump());
  Json out = Json::parse(r.body, nullptr, false);
  out["http_status"] = r.status;
  return out;
}

TEST(StructuredOutputTest, EverySeedFollowsTheJsonSchema) {
  TestServer server(StructuredConfig());
  const Json format = {{"type", "json_schema"},
                       {"json_schema", {{"name", "person"}, {"schema", kSchema}, {"strict", true}}}};
  std::set<std::string> distinct;
  for (int seed = 0; seed < 100; ++seed) {
    Json r = Chat(server.port(), {{"response_format", format}}, seed);
    ASSERT_EQ(r["http_status"], 200) << r.dump();
    const std::string content = r["choices"][0]["message"]["content"];
    EXPECT_EQ(r["choices"][0]["finish_reason"], "stop") << content;
    Json answer = Json::parse(content, nullptr, false);
    ASSERT_TRUE(answer.is_object()) << "seed " << seed << ": " << content;
    EXPECT_EQ(answer.size(), 3u) << content;
    ASSERT_TRUE(answer["name"].is_string()) << content;
    const size_t name_length = answer["name"].get<std::string>().size();
    EXPECT_GE(name_length, 1u) << content;
    EXPECT_LE(name_length, 8u * 4) << content;  // 8 characters, up to 4 bytes each
    ASSERT_TRUE(answer["age"].is_number_integer()) << content;
    EXPECT_GE(answer["age"].get<int>(), 0) << content;
    EXPECT_LE(answer["age"].get<int>(), 120) << content;
    ASSERT_TRUE(answer["pet"].is_string()) << content;
    EXPECT_THAT((std::vector<std::string>{"cat", "dog", "fish"}),
                ::testing::Contains(answer["pet"].get<std::string>()));
    distinct.insert(content);
  }
  // Sampling still samples: the grammar narrows the choice, it does not make one answer.
  EXPECT_GT(distinct.size(), 50u);
}

TEST(StructuredOutputTest, ASupportedPatternIsEnforced) {
  TestServer server(StructuredConfig());
  const Json schema = Json::parse(R"({"type": "object",
      "properties": {"code": {"type": "string", "pattern": "^[A-Z]{2}-[0-9]{3}$"}},
      "required": ["code"], "additionalProperties": false})");
  const Json format = {{"type", "json_schema"}, {"json_schema", {{"name", "code"}, {"schema", schema}}}};
  const std::regex code("^[A-Z]{2}-[0-9]{3}$");
  for (int seed = 0; seed < 10; ++seed) {
    Json r = Chat(server.port(), {{"response_format", format}}, seed);
    ASSERT_EQ(r["http_status"], 200) << r.dump();
    const std::string content = r["choices"][0]["message"]["content"];
    Json answer = Json::parse(content, nullptr, false);
    ASSERT_TRUE(answer.is_object() && answer["code"].is_string()) << content;
    EXPECT_TRUE(std::regex_match(answer["code"].get<std::string>(), code)) << content;
  }
}

TEST(StructuredOutputTest, JsonObjectModeAndRawGrammar) {
  TestServer server(StructuredConfig());
  for (int seed = 0; seed < 10; ++seed) {
    Json r = Chat(server.port(), {{"response_format", {{"type", "json_object"}}}}, seed);
    ASSERT_EQ(r["http_status"], 200) << r.dump();
    const std::string content = r["choices"][0]["message"]["content"];
    if (r["choices"][0]["finish_reason"] == "stop") {
      EXPECT_TRUE(Json::parse(content, nullptr, false).is_object()) << content;
    }
  }
  for (int seed = 0; seed < 20; ++seed) {
    Json r = Chat(server.port(), {{"grammar", "root ::= \"yes\" | \"no\""}}, seed);
    ASSERT_EQ(r["http_status"], 200) << r.dump();
    const std::string content = r["choices"][0]["message"]["content"];
    EXPECT_TRUE(content == "yes" || content == "no") << content;
  }
  // The completions endpoint takes them too.
  HttpResult text = HttpCall(server.port(), "POST", "/v1/completions",
                             Json{{"model", "json"}, {"prompt", "Answer:"}, {"seed", 1},
                                  {"grammar", "root ::= [0-9] [0-9]"}}.dump());
  ASSERT_EQ(text.status, 200) << text.body;
  const std::string digits = Json::parse(text.body)["choices"][0]["text"];
  ASSERT_EQ(digits.size(), 2u);
  EXPECT_TRUE(std::isdigit(digits[0]) && std::isdigit(digits[1])) << digits;
}

TEST(StructuredOutputTest, WhatCannotBeEnforcedIsA400NamingTheField) {
  TestServer server(StructuredConfig());
  struct Case {
    Json extra;
    std::string message;
  };
  for (const Case& c : std::initializer_list<Case>{
           {{{"grammar", "root ::= (("}}, "grammar"},
           {{{"grammar", 7}}, "grammar"},
           {{{"response_format", {{"type", "xml"}}}}, "response_format.type"},
           {{{"response_format", {{"type", "json_schema"}}}}, "response_format.json_schema.schema"},
           {{{"response_format", {{"type", "json_object"}}}, {"grammar", "root ::= \"a\""}},
            "cannot both"},
           {{{"grammar", "root ::= \"a\""}, {"ignore_eos", true}}, "ignore_eos"},
           {{{"response_format",
              {{"type", "json_schema"},
               {"json_schema", {{"schema", {{"type", "tensor"}}}}}}}},
            "response_format"},
           // Keywords the converter would silently drop: refused, naming the keyword and where.
           {{{"response_format",
              {{"type", "json_schema"},
               {"json_schema",
                {{"schema",
                  {{"type", "object"},
                   {"properties", {{"age", {{"type", "integer"}, {"multipleOf", 5}}}}}}}}}}}},
            "'multipleOf' at /properties/age"},
           {{{"response_format",
              {{"type", "json_schema"},
               {"json_schema",
                {{"schema", {{"type", "array"}, {"items", {{"type", "string"}}}, {"uniqueItems", true}}}}}}}},
            "uniqueItems"},
           {{{"response_format",
              {{"type", "json_schema"},
               {"json_schema", {{"schema", {{"type", "string"}, {"format", "email"}}}}}}}},
            "format \"email\""},
           // A regular expression the grammar cannot express (a lookahead; an unanchored one),
           // which the converter would turn into any string.
           {{{"response_format",
              {{"type", "json_schema"},
               {"json_schema",
                {{"schema",
                  {{"type", "object"},
                   {"properties", {{"code", {{"type", "string"}, {"pattern", "^(?=a)[a-z]+$"}}}}}}}}}}}},
            "pattern \"^(?=a)[a-z]+$\" at /properties/code"},
           {{{"response_format",
              {{"type", "json_schema"},
               {"json_schema", {{"schema", {{"type", "string"}, {"pattern", "[0-9]+"}}}}}}}},
            "pattern \"[0-9]+\""},
       }) {
    Json r = Chat(server.port(), c.extra, 1);
    EXPECT_EQ(r["http_status"], 400) << c.extra.dump() << " -> " << r.dump();
    EXPECT_THAT(r["error"]["message"].get<std::string>(), HasSubstr(c.message)) << c.extra.dump();
  }
}

}  // namespace
}  // namespace modelrt::testing
