// Options: the immutable JSON-object value behind `options:` and `params:`.
#include "modelrt/options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "catalog/options_json.h"
#include "core/json.h"

namespace modelrt {
namespace {

using ::testing::HasSubstr;

TEST(OptionsTest, ParsesAnObjectAndWritesItBack) {
  Result<Options> options = Options::Parse(R"({"threads": 2, "pooling": "mean"})");
  ASSERT_TRUE(options.ok()) << options.error().ToString();
  EXPECT_FALSE(options->empty());
  EXPECT_TRUE(options->contains("threads"));
  EXPECT_FALSE(options->contains("ctx"));
  EXPECT_EQ(Json::parse(options->ToJson()), Json({{"threads", 2}, {"pooling", "mean"}}));
  EXPECT_EQ(OptionsJson(*options).at("threads"), 2);
}

TEST(OptionsTest, EmptyTextAndDefaultAreTheEmptyObject) {
  Result<Options> blank = Options::Parse("  ");
  ASSERT_TRUE(blank.ok());
  EXPECT_TRUE(blank->empty());
  EXPECT_EQ(*blank, Options());
  EXPECT_EQ(Options().ToJson(), "{}");
  EXPECT_EQ(MakeOptions(Json()), Options()) << "YAML's empty `options:` is null: no options";
}

TEST(OptionsTest, AnythingButAnObjectIsInvalidArgument) {
  for (const char* text : {"[1]", "3", R"("x")", R"({"a": )", R"({"a": 1, "a": 2})"}) {
    Result<Options> options = Options::Parse(text);
    ASSERT_FALSE(options.ok()) << text;
    EXPECT_EQ(options.error().code(), StatusCode::kInvalidArgument) << text;
  }
  EXPECT_THAT(Options::Parse("[1]").error().message(), HasSubstr("must be a JSON object"));
}

TEST(OptionsTest, EqualityIsByContentAndCopiesNeverChangeTheOriginal) {
  Options a = MakeOptions({{"ctx", 256}});
  Options b = MakeOptions({{"ctx", 256}});
  EXPECT_EQ(a, b);
  Options c = WithOption(a, "ctx", 512);
  EXPECT_NE(a, c);
  EXPECT_EQ(OptionsJson(a).at("ctx"), 256) << "WithOption returns a copy";
  EXPECT_EQ(OptionsJson(c).at("ctx"), 512);
}

}  // namespace
}  // namespace modelrt
