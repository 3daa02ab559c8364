// Builder and Register on the real llama provider: validation errors that name their origin,
// eager and background warmup, required and optional models.
#include <gtest/gtest.h>

#include <string>

#include "catalog/options_json.h"
#include "modelrt/lifecycle.h"
#include "runtime_test_util.h"

namespace modelrt::runtime_test {
namespace {

ModelSpec Missing(const std::string& alias) {
  ModelSpec spec = ChatSpec(alias);
  spec.model = MODELRT_SOURCE_DIR "/models/no-such-model.gguf";
  return spec;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(RuntimeBuilderTest, RequiredEagerFailureFailsBuild) {
  ModelSpec spec = Missing("needed");
  spec.warmup = WarmupPolicy::kEager;
  spec.required = true;
  auto runtime = ModelRuntime::Builder().AddProvider(MakeLlama()).AddModel(spec).Build();
  ASSERT_FALSE(runtime.ok());
  EXPECT_TRUE(Contains(runtime.error().message(), "needed")) << runtime.error().ToString();
}

TEST(RuntimeBuilderTest, OptionalEagerFailureIsLoggedAndBuildGoesOn) {
  ModelSpec bad = Missing("optional");
  bad.warmup = WarmupPolicy::kEager;
  ModelSpec good = ChatSpec();
  good.warmup = WarmupPolicy::kEager;
  good.required = true;
  auto provider = MakeFaultyLlama();
  auto runtime = BuildRuntime(provider, {bad, good});
  ASSERT_TRUE(runtime);
  auto status = runtime->Describe("optional");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->state, ModelState::kFailed);
  EXPECT_FALSE(status->last_error.empty());
  EXPECT_EQ(StateOf(*runtime, "chat"), ModelState::kLoaded);  // loaded before Build returned
  EXPECT_EQ(provider->load_calls(), 2);
}

TEST(RuntimeBuilderTest, EagerRequiredTimeoutFailsBuild) {
  auto provider = MakeFaultyLlama();
  provider->SetHangUntilDeadline(true);
  ModelSpec spec = ChatSpec();
  spec.warmup = WarmupPolicy::kEager;
  spec.required = true;
  spec.load_timeout = 100ms;
  auto runtime = ModelRuntime::Builder().AddProvider(provider).AddModel(spec).Build();
  ASSERT_FALSE(runtime.ok());
  EXPECT_EQ(runtime.error().code(), StatusCode::kDeadlineExceeded);
}

TEST(RuntimeBuilderTest, UnknownProviderNamesTheOrigin) {
  ModelSpec spec = ChatSpec();
  spec.provider = "nope";
  spec.origin = "cat.yaml: models[0]";
  auto runtime = ModelRuntime::Builder().AddProvider(MakeLlama()).AddModel(spec).Build();
  ASSERT_FALSE(runtime.ok());
  EXPECT_EQ(runtime.error().code(), StatusCode::kNotFound);
  EXPECT_EQ(runtime.error().message(), "cat.yaml: models[0].provider: unknown provider 'nope'");
}

TEST(RuntimeBuilderTest, DuplicateAliasIsAlreadyExists) {
  auto runtime = ModelRuntime::Builder()
                     .AddProvider(MakeLlama())
                     .AddModel(ChatSpec())
                     .AddModel(ChatSpec())
                     .Build();
  ASSERT_FALSE(runtime.ok());
  EXPECT_EQ(runtime.error().code(), StatusCode::kAlreadyExists);
}

TEST(RuntimeBuilderTest, ProviderValidationErrorsArePrefixedWithTheOrigin) {
  ModelSpec spec = ChatSpec();
  spec.origin = "cat.yaml: models[0]";
  spec.options = MakeOptions({{"no_such_option", 1}});
  auto runtime = ModelRuntime::Builder().AddProvider(MakeLlama()).AddModel(spec).Build();
  ASSERT_FALSE(runtime.ok());
  EXPECT_EQ(runtime.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(runtime.error().message().rfind("cat.yaml: models[0]: ", 0), 0u)
      << runtime.error().message();
  EXPECT_TRUE(Contains(runtime.error().message(), "no_such_option"));
}

TEST(RuntimeBuilderTest, SetConfigCreatesProvidersAndNamesABadOne) {
  Config config;
  config.providers.push_back({.id = "local", .type = "llama", .origin = "cfg.yaml: providers[0]"});
  config.models.push_back(ChatSpec());
  auto runtime = ModelRuntime::Builder().SetConfig(config).Build();
  ASSERT_TRUE(runtime.ok()) << runtime.error().ToString();
  EXPECT_TRUE((*runtime)->Contains("chat"));
  ASSERT_TRUE((*runtime)->Generator("chat")->Generate(ShortRequest(4)).ok());

  Config bad = config;
  bad.providers.push_back(
      {.id = "other", .type = "no-such-type", .origin = "cfg.yaml: providers[1]"});
  auto failed = ModelRuntime::Builder().SetConfig(bad).Build();
  ASSERT_FALSE(failed.ok());
  EXPECT_TRUE(Contains(failed.error().message(), "cfg.yaml: providers[1]"))
      << failed.error().ToString();
}

TEST(RuntimeBuilderTest, DuplicateProviderIdIsAnError) {
  auto runtime = ModelRuntime::Builder().AddProvider(MakeLlama()).AddProvider(MakeLlama()).Build();
  ASSERT_FALSE(runtime.ok());
  EXPECT_EQ(runtime.error().code(), StatusCode::kAlreadyExists);
}

TEST(RuntimeRegisterTest, DuplicateAndUnknownProvider) {
  auto runtime = BuildRuntime(MakeLlama(), {ChatSpec()});
  ASSERT_TRUE(runtime);
  EXPECT_EQ(runtime->lifecycle().Register(ChatSpec()).code(), StatusCode::kAlreadyExists);
  ModelSpec orphan = ChatSpec("orphan");
  orphan.provider = "nope";
  Status s = runtime->lifecycle().Register(orphan);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(s.message(), "unknown provider 'nope'")) << s.ToString();
  EXPECT_FALSE(runtime->Contains("orphan"));
  ModelSpec invalid = ChatSpec("invalid");
  invalid.options = MakeOptions({{"no_such_option", true}});
  EXPECT_EQ(runtime->lifecycle().Register(invalid).code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(runtime->Contains("invalid"));
}

TEST(RuntimeRegisterTest, LazyRegisterAddsAnUnloadedAlias) {
  auto provider = MakeFaultyLlama();
  auto runtime = BuildRuntime(provider, {});
  ASSERT_TRUE(runtime);
  ASSERT_TRUE(runtime->lifecycle().Register(ChatSpec("late")).ok());
  EXPECT_TRUE(runtime->Contains("late"));
  EXPECT_EQ(StateOf(*runtime, "late"), ModelState::kUnloaded);
  EXPECT_EQ(provider->load_calls(), 0);
  auto r = runtime->Generator("late")->Generate(ShortRequest(4));
  EXPECT_TRUE(r.ok()) << r.error().ToString();
  ASSERT_EQ(runtime->List().size(), 1u);
  EXPECT_EQ(runtime->List()[0].spec.alias, "late");
}

TEST(RuntimeRegisterTest, EagerRegisterLoadsBeforeReturning) {
  auto runtime = BuildRuntime(MakeLlama(), {});
  ASSERT_TRUE(runtime);
  ModelSpec spec = ChatSpec("eager");
  spec.warmup = WarmupPolicy::kEager;
  ASSERT_TRUE(runtime->lifecycle().Register(spec).ok());
  EXPECT_EQ(StateOf(*runtime, "eager"), ModelState::kLoaded);
}

TEST(RuntimeRegisterTest, RequiredEagerRegisterFailureRemovesTheAlias) {
  auto runtime = BuildRuntime(MakeLlama(), {});
  ASSERT_TRUE(runtime);
  ModelSpec spec = Missing("broken");
  spec.warmup = WarmupPolicy::kEager;
  spec.required = true;
  EXPECT_FALSE(runtime->lifecycle().Register(spec).ok());
  EXPECT_FALSE(runtime->Contains("broken"));
  EXPECT_EQ(runtime->LoadsInFlight(), 0u);
  // Optional: stays registered, failed.
  spec.required = false;
  EXPECT_TRUE(runtime->lifecycle().Register(spec).ok());
  EXPECT_EQ(StateOf(*runtime, "broken"), ModelState::kFailed);
}

TEST(RuntimeRegisterTest, BackgroundRegisterLoadsLater) {
  auto runtime = BuildRuntime(MakeLlama(), {});
  ASSERT_TRUE(runtime);
  ModelSpec spec = ChatSpec("bg");
  spec.warmup = WarmupPolicy::kBackground;
  ASSERT_TRUE(runtime->lifecycle().Register(spec).ok());
  runtime->WaitForBackgroundWarmup();
  EXPECT_EQ(StateOf(*runtime, "bg"), ModelState::kLoaded);
}

TEST(RuntimeRegisterTest, PrefetchLoadsConcurrentlyAndReportsErrors) {
  auto provider = MakeFaultyLlama();
  provider->SetLoadDelay(100ms);
  auto runtime = BuildRuntime(provider, {ChatSpec("a"), ChatSpec("b"), ChatSpec("c")});
  ASSERT_TRUE(runtime);
  EXPECT_EQ(runtime->lifecycle().Prefetch({"a", "missing"}).code(), StatusCode::kNotFound);
  EXPECT_EQ(provider->load_calls(), 0);
  ASSERT_TRUE(runtime->lifecycle().PrefetchAll().ok());
  EXPECT_EQ(provider->load_calls(), 3);
  for (const ModelStatus& status : runtime->List()) {
    EXPECT_EQ(status.state, ModelState::kLoaded) << status.spec.alias;
  }
  EXPECT_TRUE(runtime->lifecycle().Prefetch({"a"}).ok());  // already loaded: no new load
  EXPECT_EQ(provider->load_calls(), 3);
}

TEST(RuntimeRegisterTest, ModelStateNames) {
  EXPECT_EQ(ToString(ModelState::kUnloaded), "unloaded");
  EXPECT_EQ(ToString(ModelState::kLoading), "loading");
  EXPECT_EQ(ToString(ModelState::kLoaded), "loaded");
  EXPECT_EQ(ToString(ModelState::kFailed), "failed");
  EXPECT_EQ(ToString(ModelState::kDraining), "draining");
}

}  // namespace
}  // namespace modelrt::runtime_test
