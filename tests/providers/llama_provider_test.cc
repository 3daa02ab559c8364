// Tests of the provider factory and the llama provider: types, option validation, load errors
// (missing file, junk file, expired deadline, cancel) and task dispatch.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "catalog/options_json.h"
#include "core/json.h"
#include "modelrt/provider.h"
#include "support/llama_test_models.h"

namespace modelrt {
namespace {

using llama::TestModelKind;
using ::testing::Contains;
using ::testing::HasSubstr;
using testing::TestModel;
using testing::TestTempDir;

std::shared_ptr<Provider> MustCreate(Json options = {{"threads", 1}}) {
  auto provider =
      CreateProvider({.id = "local", .type = "llama", .options = MakeOptions(std::move(options))});
  EXPECT_TRUE(provider.ok()) << provider.error().ToString();
  return provider.ok() ? *provider : nullptr;
}

ModelSpec Spec(Task task, std::string model, Json options = Json::object()) {
  return ModelSpec{.alias = "a",
                   .task = task,
                   .provider = "local",
                   .model = std::move(model),
                   .options = MakeOptions(std::move(options))};
}

TEST(ProviderFactoryTest, KnowsLlamaAndRejectsUnknownTypes) {
  EXPECT_THAT(ProviderTypes(), Contains("llama"));
  auto provider = MustCreate();
  ASSERT_TRUE(provider);
  EXPECT_EQ(provider->id(), "local");
  EXPECT_EQ(provider->type(), "llama");
  EXPECT_TRUE(provider->Warmup().ok());
  EXPECT_TRUE(provider->Warmup().ok());  // idempotent

  auto unknown = CreateProvider({.id = "x", .type = "telepathy"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code(), StatusCode::kNotFound);
  EXPECT_THAT(unknown.error().message(), HasSubstr("telepathy"));
  EXPECT_THAT(unknown.error().message(), HasSubstr("llama"));
}

TEST(ProviderFactoryTest, BadProviderOptionsAreInvalidArgument) {
  for (const Json& options : {Json{{"threads", "two"}}, Json{{"thread", 2}}, Json{{"threads", -1}}}) {
    auto provider =
        CreateProvider({.id = "local", .type = "llama", .options = MakeOptions(options)});
    ASSERT_FALSE(provider.ok()) << options.dump();
    EXPECT_EQ(provider.error().code(), StatusCode::kInvalidArgument) << options.dump();
  }
  // An empty `options:` in YAML is null: the same as no options.
  EXPECT_TRUE(
      CreateProvider({.id = "local", .type = "llama", .options = MakeOptions(Json())}).ok());
  auto remote_field = CreateProvider({.id = "local", .type = "llama", .base_url = "http://x"});
  EXPECT_EQ(remote_field.error().code(), StatusCode::kInvalidArgument);
}

TEST(LlamaProviderTest, ValidateChecksOptionsAndPath) {
  auto provider = MustCreate();
  ASSERT_TRUE(provider);
  const std::string path = TestModel(TestModelKind::kBertEmbed);
  EXPECT_TRUE(provider->Validate(Spec(Task::kEmbed, path, {{"pooling", "mean"}, {"ctx", 128}})).ok());
  EXPECT_TRUE(provider->Validate(Spec(Task::kRerank, path, {{"parallel", 2}})).ok());
  EXPECT_TRUE(provider->Validate(Spec(Task::kGenerate, path, {{"chat_template", "chatml"}})).ok());

  struct Bad {
    Task task;
    Json options;
    const char* mentions;
  };
  for (const Bad& bad : {Bad{Task::kEmbed, {{"colour", "red"}}, "options.colour"},
                         Bad{Task::kEmbed, {{"ctx", "big"}}, "options.ctx"},
                         Bad{Task::kEmbed, {{"normalize", 1}}, "options.normalize"},
                         Bad{Task::kEmbed, {{"pooling", "max"}}, "options.pooling"},
                         Bad{Task::kEmbed, {{"parallel", 0}}, "options.parallel"},
                         Bad{Task::kRerank, {{"pooling", "mean"}}, "options.pooling"},
                         Bad{Task::kGenerate, {{"normalize", true}}, "options.normalize"}}) {
    Status s = provider->Validate(Spec(bad.task, path, bad.options));
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad.options.dump();
    EXPECT_THAT(s.message(), HasSubstr(bad.mentions)) << bad.options.dump();
  }
  EXPECT_TRUE(provider->Validate(Spec(Task::kEmbed, path, Json())).ok());
  Status no_path = provider->Validate(Spec(Task::kEmbed, ""));
  EXPECT_EQ(no_path.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(no_path.message(), HasSubstr("model"));
  // Load validates too.
  auto load = provider->Load(Spec(Task::kEmbed, path, {{"pooling", "max"}}), CallContext{});
  EXPECT_EQ(load.error().code(), StatusCode::kInvalidArgument);
}

TEST(LlamaProviderTest, LoadErrors) {
  auto provider = MustCreate();
  ASSERT_TRUE(provider);
  auto missing = provider->Load(Spec(Task::kEmbed, TestTempDir() + "/absent.gguf"), CallContext{});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.error().message(), HasSubstr("absent.gguf"));

  const std::string junk = TestTempDir() + "/junk.gguf";
  {
    std::ofstream out(junk, std::ios::binary);
    out << "this is not a GGUF file, just some bytes that look nothing like one";
  }
  for (Task task : {Task::kEmbed, Task::kRerank}) {
    auto bad = provider->Load(Spec(task, junk), CallContext{});
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code(), StatusCode::kInvalidArgument) << bad.error().ToString();
  }

  const std::string path = TestModel(TestModelKind::kBertEmbed);
  CallContext expired;
  expired.deadline = Clock::now() - std::chrono::milliseconds(1);
  auto late = provider->Load(Spec(Task::kEmbed, path), expired);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code(), StatusCode::kDeadlineExceeded);
  // A deadline that passes during the load (the 32k-token llama vocabulary alone takes longer
  // than 1 ms to read): llama.cpp's progress callback stops it.
  const ModelSpec llama_spec = Spec(Task::kEmbed, TestModel(TestModelKind::kLlama), {{"pooling", "mean"}});
  auto mid_load = provider->Load(llama_spec, CallContext::WithTimeout(std::chrono::milliseconds(1)));
  ASSERT_FALSE(mid_load.ok());
  EXPECT_EQ(mid_load.error().code(), StatusCode::kDeadlineExceeded);
  CallContext cancelled;
  cancelled.Cancel();
  auto stopped = provider->Load(Spec(Task::kRerank, TestModel(TestModelKind::kBertRerank)), cancelled);
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().code(), StatusCode::kCancelled);
}

TEST(LlamaProviderTest, LoadsEachTaskAsItsModelType) {
  auto provider = MustCreate();
  ASSERT_TRUE(provider);
  auto embed = provider->Load(Spec(Task::kEmbed, TestModel(TestModelKind::kBertEmbed)), CallContext{});
  ASSERT_TRUE(embed.ok()) << embed.error().ToString();
  EXPECT_EQ((*embed)->task(), Task::kEmbed);
  EXPECT_NE(std::dynamic_pointer_cast<EmbeddingModel>(*embed), nullptr);
  EXPECT_EQ((*embed)->Info().dimensions, 64);

  auto rerank = provider->Load(Spec(Task::kRerank, TestModel(TestModelKind::kBertRerank)), CallContext{});
  ASSERT_TRUE(rerank.ok()) << rerank.error().ToString();
  EXPECT_EQ((*rerank)->task(), Task::kRerank);
  EXPECT_NE(std::dynamic_pointer_cast<RerankerModel>(*rerank), nullptr);
  EXPECT_GT((*rerank)->Info().memory_bytes, 0);
}

}  // namespace
}  // namespace modelrt
