// YAML to Json conversion: scalar typing, quoting, structure, and errors with positions.
#include "catalog/yaml_to_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

#include "catalog/yaml_scalar.h"
#include "core/json.h"

namespace modelrt::catalog {
namespace {

using ::testing::HasSubstr;

Json Convert(std::string_view text) {
  Result<Json> json = YamlToJson(text);
  EXPECT_TRUE(json.ok()) << json.error().ToString();
  return json.ok() ? *json : Json();
}

TEST(YamlScalarTest, TypesPlainScalarsByTheCoreSchema) {
  EXPECT_EQ(ResolvePlainScalar("42"), Json(42));
  EXPECT_TRUE(ResolvePlainScalar("42").is_number_integer());
  EXPECT_EQ(ResolvePlainScalar("-7"), Json(-7));
  EXPECT_EQ(ResolvePlainScalar("+7"), Json(7));
  EXPECT_EQ(ResolvePlainScalar("0x1f"), Json(31));
  EXPECT_EQ(ResolvePlainScalar("0o17"), Json(15));
  EXPECT_EQ(ResolvePlainScalar("1.5"), Json(1.5));
  EXPECT_TRUE(ResolvePlainScalar("1.5").is_number_float());
  EXPECT_EQ(ResolvePlainScalar("+.5"), Json(0.5));
  EXPECT_EQ(ResolvePlainScalar("1e3"), Json(1000.0));
  EXPECT_EQ(ResolvePlainScalar("-2.5E-1"), Json(-0.25));
  EXPECT_TRUE(std::isinf(ResolvePlainScalar(".inf").get<double>()));
  EXPECT_LT(ResolvePlainScalar("-.Inf").get<double>(), 0);
  EXPECT_TRUE(std::isnan(ResolvePlainScalar(".nan").get<double>()));
  EXPECT_EQ(ResolvePlainScalar("true"), Json(true));
  EXPECT_EQ(ResolvePlainScalar("FALSE"), Json(false));
  EXPECT_TRUE(ResolvePlainScalar("~").is_null());
  EXPECT_TRUE(ResolvePlainScalar("null").is_null());
  EXPECT_TRUE(ResolvePlainScalar("").is_null());
}

TEST(YamlScalarTest, KeepsEverythingElseAsText) {
  for (const char* text : {"1.2.3", "yes", "no", "on", "12:30", "0x", "1e", "-", ".", "abc",
                           "1_000", "0xZZ", "- 1", "tRue", "nil"}) {
    Json value = ResolvePlainScalar(text);
    ASSERT_TRUE(value.is_string()) << text << " became " << value.dump();
    EXPECT_EQ(value.get<std::string>(), text);
  }
}

TEST(YamlScalarTest, HandlesIntegerLimits) {
  EXPECT_EQ(ResolvePlainScalar("9223372036854775807").get<int64_t>(), INT64_MAX);
  EXPECT_EQ(ResolvePlainScalar("-9223372036854775808").get<int64_t>(), INT64_MIN);
  Json big = ResolvePlainScalar("18446744073709551615");
  EXPECT_TRUE(big.is_number_unsigned());
  EXPECT_EQ(big.get<uint64_t>(), UINT64_MAX);
  Json huge = ResolvePlainScalar("123456789012345678901234567890");
  EXPECT_TRUE(huge.is_number_float());
  EXPECT_NEAR(huge.get<double>(), 1.2345678901234568e29, 1e15);
}

TEST(YamlToJsonTest, QuotedAndBlockScalarsStayStrings) {
  Json json = Convert(
      "a: '42'\n"
      "b: \"true\"\n"
      "c: 42\n"
      "d: true\n"
      "e: !!str 7\n"
      "f: |\n"
      "  12\n"
      "g: \"~\"\n"
      "h: ~\n"
      "i:\n");
  EXPECT_EQ(json["a"], Json("42"));
  EXPECT_EQ(json["b"], Json("true"));
  EXPECT_EQ(json["c"], Json(42));
  EXPECT_EQ(json["d"], Json(true));
  EXPECT_EQ(json["e"], Json("7"));
  EXPECT_EQ(json["f"], Json("12\n"));
  EXPECT_EQ(json["g"], Json("~"));
  EXPECT_TRUE(json["h"].is_null());
  EXPECT_TRUE(json["i"].is_null());
}

TEST(YamlToJsonTest, ConvertsNestedStructures) {
  Json json = Convert(
      "models:\n"
      "  - alias: chat\n"
      "    options: {ctx: 512, stop: [\"\\n\", END]}\n"
      "  - alias: embed\n"
      "    options: {}\n");
  Json expected = Json::parse(R"({"models": [
      {"alias": "chat", "options": {"ctx": 512, "stop": ["\n", "END"]}},
      {"alias": "embed", "options": {}}]})");
  EXPECT_EQ(json, expected);
}

TEST(YamlToJsonTest, ExpandsAnchorsAndAliases) {
  Json json = Convert(
      "base: &opts {ctx: 256}\n"
      "models: [{alias: a, options: *opts}]\n");
  EXPECT_EQ(json["models"][0]["options"], Json::parse(R"({"ctx": 256})"));
}

TEST(YamlToJsonTest, EmptyDocumentIsNull) {
  EXPECT_TRUE(Convert("").is_null());
  EXPECT_TRUE(Convert("# only a comment\n\n").is_null());
}

TEST(YamlToJsonTest, SyntaxErrorNamesLineAndColumn) {
  Result<Json> json = YamlToJson("models:\n  - alias: a\n    task: [embed\n");
  ASSERT_FALSE(json.ok());
  EXPECT_EQ(json.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(json.error().message(), HasSubstr("invalid YAML at line "));
  EXPECT_THAT(json.error().message(), HasSubstr(", column "));
}

TEST(YamlToJsonTest, RejectsDuplicateKeysWithPathAndLine) {
  Result<Json> json = YamlToJson(
      "models:\n"
      "  - alias: a\n"
      "    task: embed\n"
      "    alias: b\n");
  ASSERT_FALSE(json.ok());
  EXPECT_EQ(json.error().message(), "models[0]: duplicate key 'alias' (line 4, column 5)");
}

TEST(YamlToJsonTest, RejectsSeveralDocuments) {
  Result<Json> json = YamlToJson("a: 1\n---\nb: 2\n");
  ASSERT_FALSE(json.ok());
  EXPECT_THAT(json.error().message(), HasSubstr("expected one YAML document, found 2"));
}

TEST(YamlToJsonTest, RejectsNonScalarKeys) {
  Result<Json> json = YamlToJson("? [a, b]\n: 1\n");
  ASSERT_FALSE(json.ok());
  EXPECT_THAT(json.error().message(), HasSubstr("mapping keys must be plain text"));
}

TEST(YamlToJsonTest, RejectsInvalidUtf8) {
  Result<Json> json = YamlToJson("a: \"ok\"\nb: \"\xC3\x28\"\n");
  ASSERT_FALSE(json.ok());
  EXPECT_THAT(json.error().message(), HasSubstr("b: invalid UTF-8"));
  // Valid multi-byte text passes through unchanged.
  EXPECT_EQ(Convert("s: \"h\xC3\xA9llo \xF0\x9F\x98\x80\"\n")["s"],
            Json("h\xC3\xA9llo \xF0\x9F\x98\x80"));
}

TEST(YamlToJsonTest, BoundsAliasExpansion) {
  // Each level doubles the node count: 2^25 leaves if expanded without a limit.
  std::string text = "l0: &l0 [x, x]\n";
  for (int i = 1; i <= 25; ++i) {
    text += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [*l" + std::to_string(i - 1) +
            ", *l" + std::to_string(i - 1) + "]\n";
  }
  Result<Json> json = YamlToJson(text);
  ASSERT_FALSE(json.ok());
  EXPECT_THAT(json.error().message(), HasSubstr("too many nodes"));
}

TEST(YamlToJsonTest, BoundsNesting) {
  std::string text(100, '[');
  text += std::string(100, ']');
  Result<Json> json = YamlToJson(text);
  ASSERT_FALSE(json.ok());
  EXPECT_THAT(json.error().message(), HasSubstr("nested too deeply"));
}

}  // namespace
}  // namespace modelrt::catalog
