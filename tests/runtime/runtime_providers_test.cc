// Providers at run time (RuntimeLifecycle's AddProvider / ReplaceProvider / RemoveProvider),
// Validate and Update, on the real llama provider. The fault-injecting wrapper is used only to
// count which provider object served a load.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "catalog/options_json.h"
#include "modelrt/lifecycle.h"
#include "runtime_test_util.h"

namespace modelrt::runtime_test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::shared_ptr<FaultInjectingProvider> CountingLlama(const std::string& id) {
  auto real = CreateProvider(ProviderConfig{.id = id, .type = "llama"});
  EXPECT_TRUE(real.ok()) << real.error().ToString();
  return std::make_shared<FaultInjectingProvider>(*real);
}

Result<EmbedResult> EmbedOne(ModelRuntime& runtime, const std::string& alias) {
  MODELRT_ASSIGN_OR_RETURN(EmbeddingHandle handle, runtime.Embedding(alias));
  EmbedRequest request;
  request.inputs = {{.text = "hello"}};
  return handle.Embed(request);
}

TEST(RuntimeProvidersTest, AddedProviderServesNewAliases) {
  auto runtime = BuildRuntime(MakeLlama(), {});
  ASSERT_NE(runtime, nullptr);
  EXPECT_THAT(runtime->lifecycle().ProviderIds(), ElementsAre("local"));
  ModelSpec spec = EmbedSpec("late");
  spec.provider = "second";
  EXPECT_EQ(runtime->lifecycle().Register(spec).code(), StatusCode::kNotFound);

  ASSERT_TRUE(
      runtime->lifecycle().AddProvider(ProviderConfig{.id = "second", .type = "llama"}).ok());
  EXPECT_TRUE(runtime->lifecycle().HasProvider("second"));
  EXPECT_THAT(runtime->lifecycle().ProviderIds(), ElementsAre("local", "second"));
  ASSERT_TRUE(runtime->lifecycle().Register(spec).ok());
  auto result = EmbedOne(*runtime, "late");
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result->generation, 1u);

  EXPECT_EQ(
      runtime->lifecycle().AddProvider(ProviderConfig{.id = "second", .type = "llama"}).code(),
      StatusCode::kAlreadyExists);
  EXPECT_EQ(
      runtime->lifecycle().AddProvider(ProviderConfig{.id = "x", .type = "no-such-type"}).code(),
      StatusCode::kNotFound);
  EXPECT_FALSE(runtime->lifecycle().HasProvider("x"));
}

TEST(RuntimeProvidersTest, ReplaceReloadsLoadedAliasesOnTheNewProvider) {
  auto first = CountingLlama("local");
  auto runtime = BuildRuntime(first, {EmbedSpec("hot"), EmbedSpec("cold")});
  ASSERT_NE(runtime, nullptr);
  ASSERT_TRUE(runtime->lifecycle().Load("hot").ok());
  ASSERT_EQ(first->load_calls(), 1);

  auto second = CountingLlama("local");
  Result<ConfigApplySummary> summary = runtime->lifecycle().ReplaceProvider(second);
  ASSERT_TRUE(summary.ok()) << summary.error().ToString();
  EXPECT_THAT(summary->providers_replaced, ElementsAre("local"));
  EXPECT_THAT(summary->reloaded, ElementsAre("hot"));
  EXPECT_THAT(summary->updated, ElementsAre("cold"));
  EXPECT_THAT(summary->failed, IsEmpty());
  EXPECT_EQ(second->load_calls(), 1) << "the loaded alias was reloaded on the new provider";
  EXPECT_EQ(runtime->Describe("hot")->generation, 2u);

  auto cold = EmbedOne(*runtime, "cold");  // its first load: on the new provider
  ASSERT_TRUE(cold.ok()) << cold.error().ToString();
  EXPECT_EQ(second->load_calls(), 2);
  EXPECT_EQ(first->load_calls(), 1);
  auto hot = EmbedOne(*runtime, "hot");
  ASSERT_TRUE(hot.ok());
  EXPECT_EQ(hot->generation, 2u);

  auto log = runtime->lifecycle().ReloadLog();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].trigger, ReloadTrigger::kConfig);
  EXPECT_EQ(runtime->lifecycle().ReplaceProvider(CountingLlama("nobody")).status().code(),
            StatusCode::kNotFound);
}

TEST(RuntimeProvidersTest, AFailedReloadOnTheNewProviderKeepsTheOldEngine) {
  auto runtime = BuildRuntime(CountingLlama("local"), {EmbedSpec("hot")});
  ASSERT_TRUE(runtime->lifecycle().Load("hot").ok());
  auto broken = CountingLlama("local");
  broken->FailNextLoads(1, UnavailableError("injected: provider down"));
  Result<ConfigApplySummary> summary = runtime->lifecycle().ReplaceProvider(broken);
  ASSERT_TRUE(summary.ok());
  ASSERT_EQ(summary->failed.size(), 1u);
  EXPECT_EQ(summary->failed[0].first, "hot");
  auto hot = EmbedOne(*runtime, "hot");
  ASSERT_TRUE(hot.ok()) << hot.error().ToString();
  EXPECT_EQ(hot->generation, 1u) << "the old engine keeps serving";
}

TEST(RuntimeProvidersTest, RemoveRefusesWhileAliasesUseIt) {
  auto runtime = BuildRuntime(MakeLlama(), {EmbedSpec("a")});
  Status refused = runtime->lifecycle().RemoveProvider("local");
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.message(), HasSubstr("'a'"));
  EXPECT_TRUE(runtime->lifecycle().HasProvider("local"));
  ASSERT_TRUE(runtime->lifecycle().Remove("a").ok());
  ASSERT_TRUE(runtime->lifecycle().RemoveProvider("local").ok());
  EXPECT_FALSE(runtime->lifecycle().HasProvider("local"));
  EXPECT_EQ(runtime->lifecycle().RemoveProvider("local").code(), StatusCode::kNotFound);
  EXPECT_EQ(runtime->lifecycle().Register(EmbedSpec("b")).code(), StatusCode::kNotFound);
}

TEST(RuntimeProvidersTest, ValidateChecksWithoutRegistering) {
  auto runtime = BuildRuntime(MakeLlama(), {});
  EXPECT_TRUE(runtime->lifecycle().Validate(EmbedSpec("ok")).ok());
  EXPECT_FALSE(runtime->Contains("ok"));
  ModelSpec bad = EmbedSpec("bad");
  bad.options = MakeOptions({{"no_such_option", 1}});
  EXPECT_EQ(runtime->lifecycle().Validate(bad).code(), StatusCode::kInvalidArgument);
  ModelSpec orphan = EmbedSpec("orphan");
  orphan.provider = "nowhere";
  EXPECT_EQ(runtime->lifecycle().Validate(orphan).code(), StatusCode::kNotFound);
}

TEST(RuntimeProvidersTest, UpdateReloadsUpdatesOrReRegisters) {
  auto runtime = BuildRuntime(MakeLlama(), {EmbedSpec("loaded"), EmbedSpec("idle")});
  ASSERT_TRUE(runtime->lifecycle().Load("loaded").ok());

  ModelSpec settings = EmbedSpec("loaded");
  settings.timeout = std::chrono::seconds(9);  // a call setting: in place, same engine
  ASSERT_TRUE(runtime->lifecycle().Update(settings).ok());
  EXPECT_EQ(runtime->Describe("loaded")->spec.timeout, std::chrono::seconds(9));
  EXPECT_EQ(runtime->Describe("loaded")->generation, 1u);

  ModelSpec engine = settings;
  engine.options = MakeOptions({{"normalize", false}});  // an engine field: a loaded alias reloads
  ASSERT_TRUE(runtime->lifecycle().Update(engine).ok());
  EXPECT_EQ(runtime->Describe("loaded")->generation, 2u);
  EXPECT_EQ(StateOf(*runtime, "loaded"), ModelState::kLoaded);

  ModelSpec idle = EmbedSpec("idle");
  idle.options = MakeOptions({{"normalize", false}});  // not loaded: the next load uses it
  ASSERT_TRUE(runtime->lifecycle().Update(idle).ok());
  EXPECT_EQ(StateOf(*runtime, "idle"), ModelState::kUnloaded);
  EXPECT_EQ(runtime->Describe("idle")->spec.options, idle.options);

  ModelSpec retyped = ChatSpec("idle");  // a task change: removed and registered again
  ASSERT_TRUE(runtime->lifecycle().Update(retyped).ok());
  EXPECT_EQ(runtime->Describe("idle")->spec.task, Task::kGenerate);
  EXPECT_TRUE(runtime->Generator("idle").ok());

  ModelSpec broken = EmbedSpec("loaded");
  broken.model = "/nonexistent/model.gguf";
  EXPECT_FALSE(runtime->lifecycle().Update(broken).ok());
  EXPECT_EQ(runtime->Describe("loaded")->spec.options, engine.options) << "the old spec stays";
  EXPECT_EQ(runtime->lifecycle().Update(EmbedSpec("nobody")).code(), StatusCode::kNotFound);
}

TEST(RuntimeProvidersTest, CallsKeepWorkingWhileTheProviderIsReplaced) {
  auto runtime = BuildRuntime(MakeLlama(), {EmbedSpec("e")});
  ASSERT_TRUE(runtime->lifecycle().Load("e").ok());
  std::atomic<bool> stop{false};
  std::atomic<int> calls{0}, failures{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 3; ++i) {
    clients.emplace_back([&] {
      while (!stop.load()) {
        auto r = EmbedOne(*runtime, "e");
        (r.ok() ? calls : failures).fetch_add(1);
      }
    });
  }
  for (int i = 0; i < 3; ++i) {
    Result<ConfigApplySummary> summary =
        runtime->lifecycle().ReplaceProvider(ProviderConfig{.id = "local", .type = "llama"});
    ASSERT_TRUE(summary.ok()) << summary.error().ToString();
    EXPECT_THAT(summary->failed, IsEmpty());
  }
  stop.store(true);
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(calls.load(), 0);
  EXPECT_EQ(runtime->Describe("e")->generation, 4u);
}

}  // namespace
}  // namespace modelrt::runtime_test
