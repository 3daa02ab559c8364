// ParseModelSpec: one alias spec for run-time registration, validated without a provider list.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "catalog/options_json.h"
#include "core/json.h"
#include "modelrt/catalog.h"

namespace modelrt {
namespace {

using ::testing::HasSubstr;

TEST(ParseModelSpecTest, ParsesAFullSpec) {
  Json json = Json::parse(R"({"alias": "e5", "task": "embed", "provider": "remote",
      "model": "intfloat/e5", "warmup": "eager", "timeout_s": 0.5, "load_timeout_s": 20,
      "retry": {"max_attempts": 4}, "options": {"dimensions": 256}, "keep_alive_s": 30})");
  Result<ModelSpec> spec = ParseModelSpec(json.dump(), "POST /admin/models");
  ASSERT_TRUE(spec.ok()) << spec.error().ToString();
  EXPECT_EQ(spec->alias, "e5");
  EXPECT_EQ(spec->task, Task::kEmbed);
  EXPECT_EQ(spec->provider, "remote");  // not checked here: the runtime knows the providers
  EXPECT_EQ(spec->model, "intfloat/e5");
  EXPECT_EQ(spec->warmup, WarmupPolicy::kEager);
  EXPECT_EQ(spec->timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(spec->load_timeout, std::chrono::seconds(20));
  EXPECT_EQ(spec->retry.max_attempts, 4);
  EXPECT_EQ(OptionsJson(spec->options), Json::parse(R"({"dimensions": 256})"));
  EXPECT_EQ(spec->keep_alive_s, 30);
  EXPECT_EQ(spec->origin, "POST /admin/models");
}

TEST(ParseModelSpecTest, ProviderMayBeLeftToTheCaller) {
  Result<ModelSpec> spec =
      ParseModelSpec(R"({"alias": "a", "task": "rerank", "model": "r.gguf"})", "api");
  ASSERT_TRUE(spec.ok()) << spec.error().ToString();
  EXPECT_EQ(spec->provider, "");
  EXPECT_EQ(spec->task, Task::kRerank);
}

TEST(ParseModelSpecTest, ErrorsNameTheOriginAndKey) {
  Result<ModelSpec> bad_task =
      ParseModelSpec(R"({"alias": "a", "task": "chat", "model": "m"})", "POST /admin/models");
  ASSERT_FALSE(bad_task.ok());
  EXPECT_EQ(bad_task.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad_task.error().message(),
            "POST /admin/models: task: must be one of embed, rerank, generate (got 'chat')");

  Result<ModelSpec> unknown =
      ParseModelSpec(R"({"alias": "a", "task": "embed", "model": "m", "aliass": 1})", "req");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.error().message(),
              HasSubstr("req: unknown key 'aliass' (did you mean 'alias'?)"));

  Result<ModelSpec> retry = ParseModelSpec(

      R"({"alias": "a", "task": "embed", "model": "m", "retry": {"max_attempts": 101}})", "req");
  ASSERT_FALSE(retry.ok());
  EXPECT_EQ(retry.error().message(),
            "req: retry.max_attempts: must be between 1 and 100 (got 101)");

  Result<ModelSpec> not_object = ParseModelSpec("[]", "req");
  ASSERT_FALSE(not_object.ok());
  EXPECT_EQ(not_object.error().message(), "req: must be an object (got list)");

  Result<ModelSpec> not_json = ParseModelSpec(R"({"alias": )", "req");
  ASSERT_FALSE(not_json.ok());
  EXPECT_EQ(not_json.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(not_json.error().message(), HasSubstr("req: invalid JSON"));

  Result<ModelSpec> empty_provider =
      ParseModelSpec(R"({"alias": "a", "task": "embed", "model": "m", "provider": ""})", "req");
  ASSERT_FALSE(empty_provider.ok());
  EXPECT_EQ(empty_provider.error().message(), "req: provider: must not be empty");
}

TEST(ParseModelSpecTest, AcceptsIntegralFloatsForIntegers) {
  Result<ModelSpec> spec =
      ParseModelSpec(R"({"alias": "a", "task": "embed", "model": "m", "keep_alive_s": 5.0})", "x");
  ASSERT_TRUE(spec.ok()) << spec.error().ToString();
  EXPECT_EQ(spec->keep_alive_s, 5);
}

}  // namespace
}  // namespace modelrt
