// Strict JSON parsing: positions in syntax errors and duplicate keys with their paths.
#include "catalog/json_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/json.h"

namespace modelrt::catalog {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(JsonTextTest, ParsesValidJson) {
  Result<Json> json = ParseJsonText(R"({"models": [{"alias": "a", "options": {"x": [1, 2]}}]})");
  ASSERT_TRUE(json.ok()) << json.error().ToString();
  EXPECT_EQ((*json)["models"][0]["options"]["x"][1], Json(2));
}

TEST(JsonTextTest, SyntaxErrorNamesLineAndColumn) {
  Result<Json> json = ParseJsonText("{\n  \"models\": [\n    {\"alias\": \"a\",}\n  ]\n}\n");
  ASSERT_FALSE(json.ok());
  EXPECT_EQ(json.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(json.error().message(), StartsWith("invalid JSON: parse error at line 3, column 19"));
  EXPECT_THAT(json.error().message(), ::testing::Not(HasSubstr("json.exception")));
}

TEST(JsonTextTest, RejectsTrailingGarbage) {
  Result<Json> json = ParseJsonText("{} {}");
  ASSERT_FALSE(json.ok());
  EXPECT_THAT(json.error().message(), HasSubstr("line 1, column"));
}

TEST(JsonTextTest, RejectsDuplicateKeysWithTheirPath) {
  Result<Json> top = ParseJsonText(R"({"models": [], "models": []})");
  ASSERT_FALSE(top.ok());
  EXPECT_EQ(top.error().message(), "duplicate key 'models'");

  Result<Json> nested = ParseJsonText(
      R"({"server": {"port": 1}, "models": [{"alias": "a"}, {"alias": "b", "task": "embed",
          "options": {"ctx": 1, "ctx": 2}}]})");
  ASSERT_FALSE(nested.ok());
  EXPECT_EQ(nested.error().message(), "models[1].options: duplicate key 'ctx'");

  Result<Json> in_list = ParseJsonText(R"([1, [2, 3], {"a": 1}, {"b": {"c": 1, "c": 2}}])");
  ASSERT_FALSE(in_list.ok());
  EXPECT_EQ(in_list.error().message(), "[3].b: duplicate key 'c'");
}

TEST(JsonTextTest, SameKeyInSiblingObjectsIsFine) {
  Result<Json> json = ParseJsonText(R"([{"alias": "a"}, {"alias": "b"}, {"x": {"alias": 1}}])");
  EXPECT_TRUE(json.ok()) << json.error().ToString();
}

}  // namespace
}  // namespace modelrt::catalog
