// ModelRuntime::ApplyConfig (the SIGHUP path) and Reconcile (a registry snapshot) on real llama
// engines.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "catalog/options_json.h"
#include "modelrt/lifecycle.h"
#include "reload_test_util.h"

namespace modelrt::reload_test {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

Config BaseConfig() {
  Config config;
  config.source = "test.yaml";
  config.providers.push_back({.id = "local", .type = "llama"});
  config.models = {EmbedderSpec("keep"), EmbedderSpec("gone"), ChatSpec("tune"),
                   EmbedderSpec("swap", 42), EmbedderSpec("lazy", 42)};
  return config;
}

TEST(ApplyConfigTest, AddsRemovesReloadsAndUpdates) {
  auto built = ModelRuntime::Builder().SetConfig(BaseConfig()).Build();
  ASSERT_TRUE(built.ok()) << built.error().ToString();
  ModelRuntime& runtime = **built;
  ASSERT_TRUE(runtime.lifecycle().Prefetch({"keep", "gone", "swap"}).ok());

  Config next = BaseConfig();
  next.source = "test.yaml (reloaded)";
  next.models.erase(next.models.begin() + 1);  // gone
  next.models[1].timeout = 5s;                 // tune: a call setting only
  next.models[2] = EmbedderSpec("swap", 7);    // swap: a new file, loaded now
  next.models[3] = EmbedderSpec("lazy", 7);    // lazy: a new file, not loaded
  ModelSpec added = EmbedderSpec("added");
  added.warmup = WarmupPolicy::kEager;
  next.models.push_back(added);
  next.pool.memory_budget_mb = 1024;

  auto summary = runtime.lifecycle().ApplyConfig(next);
  ASSERT_TRUE(summary.ok()) << summary.error().ToString();
  EXPECT_TRUE(summary->ok());
  EXPECT_THAT(summary->added, ElementsAre("added"));
  EXPECT_THAT(summary->removed, ElementsAre("gone"));
  EXPECT_THAT(summary->reloaded, ElementsAre("swap"));
  EXPECT_THAT(summary->updated, UnorderedElementsAre("lazy", "tune"));
  EXPECT_THAT(summary->unchanged, ElementsAre("keep"));
  EXPECT_TRUE(summary->pool_limits_changed);
  EXPECT_TRUE(summary->notes.empty());

  EXPECT_FALSE(runtime.Contains("gone"));
  EXPECT_EQ(StateOf(runtime, "added"), ModelState::kLoaded);  // its eager warmup ran
  auto swap = runtime.Describe("swap");
  EXPECT_EQ(swap->state, ModelState::kLoaded);
  EXPECT_EQ(swap->generation, 2u);
  EXPECT_EQ(swap->spec.model, EmbedderSpec("swap", 7).model);
  auto lazy = runtime.Describe("lazy");
  EXPECT_EQ(lazy->state, ModelState::kUnloaded);
  EXPECT_EQ(lazy->spec.model, EmbedderSpec("lazy", 7).model);
  auto lazy_call = EmbedOne(runtime, "lazy");
  ASSERT_TRUE(lazy_call.ok()) << lazy_call.error().ToString();
  EXPECT_EQ(runtime.lifecycle().VersionHistory("lazy").back().source,
            EmbedderSpec("lazy", 7).model);
  EXPECT_EQ(runtime.Describe("tune")->spec.timeout, 5s);
  EXPECT_EQ(runtime.Describe("keep")->generation, 1u) << "unchanged aliases keep their engine";
  EXPECT_EQ(runtime.PoolStatus().budget_bytes, int64_t{1024} << 20);

  auto log = runtime.lifecycle().ReloadLog();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].alias, "swap");
  EXPECT_EQ(log[0].trigger, ReloadTrigger::kConfig);
  EXPECT_TRUE(log[0].ok);

  // The same config again: nothing to do.
  auto again = runtime.lifecycle().ApplyConfig(next);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->unchanged.size(), runtime.List().size());
  EXPECT_TRUE(again->added.empty() && again->removed.empty() && again->reloaded.empty() &&
              again->updated.empty());
  EXPECT_FALSE(again->pool_limits_changed);
}

TEST(ApplyConfigTest, FailuresAreListedAndLeaveTheRestApplied) {
  auto built = ModelRuntime::Builder().SetConfig(BaseConfig()).Build();
  ASSERT_TRUE(built.ok());
  ModelRuntime& runtime = **built;
  ASSERT_TRUE(runtime.lifecycle().Load("swap").ok());

  Config next = BaseConfig();
  next.providers.push_back({.id = "cloud", .type = "no-such-type"});
  ModelSpec orphan = EmbedderSpec("orphan");
  orphan.provider = "cloud";  // its provider cannot be created
  next.models.push_back(orphan);
  next.models[3].model = testing::TestTempDir() + "/missing-swap.gguf";  // swap: a bad file
  ModelSpec retyped = ChatSpec("keep");  // a task change: removed and added
  next.models[0] = retyped;

  auto summary = runtime.lifecycle().ApplyConfig(next);
  ASSERT_TRUE(summary.ok());
  EXPECT_FALSE(summary->ok());
  std::vector<std::string> failed;
  for (const auto& [alias, status] : summary->failed) failed.push_back(alias);
  EXPECT_THAT(failed, UnorderedElementsAre("orphan", "swap"));
  ASSERT_EQ(summary->notes.size(), 1u);
  EXPECT_NE(summary->notes[0].find("cloud"), std::string::npos);
  EXPECT_THAT(summary->removed, ElementsAre("keep"));
  EXPECT_THAT(summary->added, ElementsAre("keep"));
  EXPECT_EQ(runtime.Describe("keep")->spec.task, Task::kGenerate);
  // The failed reload left the old engine serving the old file.
  auto swap = runtime.Describe("swap");
  EXPECT_EQ(swap->state, ModelState::kLoaded);
  EXPECT_EQ(swap->spec.model, EmbedderSpec("swap", 42).model);
  EXPECT_EQ(EmbedOne(runtime, "swap")->generation, 1u);
  EXPECT_FALSE(runtime.Contains("orphan"));
}

TEST(ApplyConfigTest, ProvidersAreAddedReplacedAndRemoved) {
  auto built = ModelRuntime::Builder().SetConfig(BaseConfig()).Build();
  ASSERT_TRUE(built.ok()) << built.error().ToString();
  ModelRuntime& runtime = **built;
  ASSERT_TRUE(runtime.lifecycle().Prefetch({"keep", "swap"}).ok());

  // A new provider with an alias on it, and new options for the existing one.
  Config next = BaseConfig();
  next.providers[0].options = MakeOptions({{"threads", 1}});
  next.providers.push_back({.id = "extra", .type = "llama"});
  ModelSpec on_extra = EmbedderSpec("on-extra");
  on_extra.provider = "extra";
  next.models.push_back(on_extra);
  next.models[3] = EmbedderSpec("swap", 7);  // changed too: one reload, not two
  auto summary = runtime.lifecycle().ApplyConfig(next);
  ASSERT_TRUE(summary.ok()) << summary.error().ToString();
  EXPECT_TRUE(summary->ok());
  EXPECT_THAT(summary->providers_added, ElementsAre("extra"));
  EXPECT_THAT(summary->providers_replaced, ElementsAre("local"));
  EXPECT_THAT(summary->added, ElementsAre("on-extra"));
  // Loaded aliases of the replaced provider get a new engine on it; unloaded ones just rebind.
  EXPECT_THAT(summary->reloaded, UnorderedElementsAre("keep", "swap"));
  EXPECT_EQ(runtime.Describe("keep")->generation, 2u);
  EXPECT_EQ(runtime.Describe("swap")->generation, 2u);
  EXPECT_TRUE(runtime.lifecycle().HasProvider("extra"));
  ASSERT_TRUE(EmbedOne(runtime, "on-extra").ok());

  // The same config again: nothing to do.
  auto again = runtime.lifecycle().ApplyConfig(next);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->providers_added.empty() && again->providers_replaced.empty() &&
              again->providers_removed.empty() && again->reloaded.empty());

  // The provider and its alias leave the file: both go.
  auto gone = runtime.lifecycle().ApplyConfig(BaseConfig());
  ASSERT_TRUE(gone.ok()) << gone.error().ToString();
  EXPECT_THAT(gone->removed, ElementsAre("on-extra"));
  EXPECT_THAT(gone->providers_removed, ElementsAre("extra"));
  EXPECT_THAT(gone->providers_replaced, ElementsAre("local"));
  EXPECT_FALSE(runtime.lifecycle().HasProvider("extra"));
  EXPECT_TRUE(gone->notes.empty());
}

TEST(ReconcileTest, FollowsASnapshotThroughOneDiff) {
  auto runtime = BuildReloadRuntime(MakeLlama(), {EmbedderSpec("a"), EmbedderSpec("b"),
                                                  ChatSpec("c"), ChatSpec("d"), EmbedderSpec("e")});
  ASSERT_TRUE(runtime);
  ASSERT_TRUE(runtime->lifecycle().Load("b").ok());
  ModelSpec b2 = EmbedderSpec("b"), c2 = ChatSpec("c"), d2 = EmbedderSpec("d"),
            e2 = EmbedderSpec("e"), f = EmbedderSpec("f");
  b2.options = MakeOptions({{"normalize", false}});  // engine fields, loaded: reloaded
  c2.retry.max_attempts = 3;            // a setting: in place
  e2.origin = "elsewhere.yaml";         // origin only: unchanged
  RegistrySnapshot next;
  next.version = 7;
  for (const ModelSpec& spec : {b2, c2, d2, e2, f}) next.bindings.emplace(spec.alias, spec);

  ConfigApplySummary done = runtime->lifecycle().Reconcile(next);
  EXPECT_THAT(done.removed, UnorderedElementsAre("a", "d"));  // d changed task: out and back in
  EXPECT_THAT(done.added, UnorderedElementsAre("d", "f"));
  EXPECT_THAT(done.reloaded, ElementsAre("b"));
  EXPECT_THAT(done.updated, ElementsAre("c"));
  EXPECT_THAT(done.unchanged, ElementsAre("e"));
  EXPECT_TRUE(done.failed.empty());
  EXPECT_FALSE(runtime->Contains("a"));
  EXPECT_EQ(runtime->Describe("d")->spec.task, Task::kEmbed);
  EXPECT_EQ(runtime->Describe("b")->generation, 2u);
  EXPECT_EQ(runtime->Describe("c")->spec.retry.max_attempts, 3);

  // The runtime is on the snapshot now: the same target is no change at all.
  ConfigApplySummary again = runtime->lifecycle().Reconcile(next);
  EXPECT_TRUE(again.added.empty() && again.removed.empty() && again.reloaded.empty() &&
              again.updated.empty() && again.failed.empty());
  EXPECT_EQ(again.unchanged.size(), 5u);
}

TEST(ReconcileTest, ALoadThatFailsIsTheAliasStateAndTheNextReconcileTriesAgain) {
  auto runtime = BuildReloadRuntime(MakeLlama(), {EmbedderSpec("embed")});
  ASSERT_TRUE(runtime);
  ASSERT_TRUE(runtime->lifecycle().Load("embed").ok());
  const std::string junk = testing::TestTempDir() + "/junk.gguf";
  WriteFile(junk, "not a gguf file");
  ModelSpec broken = EmbedderSpec("embed");
  broken.model = junk;
  RegistrySnapshot next;
  next.bindings.emplace("embed", broken);

  ConfigApplySummary done = runtime->lifecycle().Reconcile(next);
  ASSERT_EQ(done.failed.size(), 1u);
  EXPECT_EQ(done.failed[0].first, "embed");
  Result<ModelStatus> status = runtime->Describe("embed");
  ASSERT_TRUE(status);
  EXPECT_EQ(status->state, ModelState::kLoaded) << "the old engine keeps serving";
  EXPECT_EQ(status->generation, 1u);
  EXPECT_NE(status->spec.model, junk) << "and keeps its spec";
  EXPECT_FALSE(status->last_error.empty());
  EXPECT_TRUE(status->failed_at.has_value());
  // Nothing was undone or forgotten: reconciling again tries the new spec again.
  ConfigApplySummary again = runtime->lifecycle().Reconcile(next);
  EXPECT_EQ(again.failed.size(), 1u);
  EXPECT_EQ(runtime->lifecycle().ReloadLog().size(), 2u);
}

}  // namespace
}  // namespace modelrt::reload_test
