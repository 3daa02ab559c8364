// ModelRuntime::ApplyConfig (the SIGHUP path) on real llama engines, and DiffCatalog.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "reload/config_diff.h"
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
  ASSERT_TRUE(runtime.Prefetch({"keep", "gone", "swap"}).ok());

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

  auto summary = runtime.ApplyConfig(next);
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
  EXPECT_EQ(runtime.VersionHistory("lazy").back().source, EmbedderSpec("lazy", 7).model);
  EXPECT_EQ(runtime.Describe("tune")->spec.timeout, 5s);
  EXPECT_EQ(runtime.Describe("keep")->generation, 1u) << "unchanged aliases keep their engine";
  EXPECT_EQ(runtime.PoolStatus().budget_bytes, int64_t{1024} << 20);

  auto log = runtime.ReloadLog();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].alias, "swap");
  EXPECT_EQ(log[0].trigger, ReloadTrigger::kConfig);
  EXPECT_TRUE(log[0].ok);

  // The same config again: nothing to do.
  auto again = runtime.ApplyConfig(next);
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
  ASSERT_TRUE(runtime.Load("swap").ok());

  Config next = BaseConfig();
  next.providers.push_back({.id = "cloud", .type = "no-such-type"});
  ModelSpec orphan = EmbedderSpec("orphan");
  orphan.provider = "cloud";  // its provider cannot be created
  next.models.push_back(orphan);
  next.models[3].model = testing::TestTempDir() + "/missing-swap.gguf";  // swap: a bad file
  ModelSpec retyped = ChatSpec("keep");  // a task change: removed and added
  next.models[0] = retyped;

  auto summary = runtime.ApplyConfig(next);
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

TEST(ConfigDiffTest, SortsAliasesByWhatChanged) {
  using internal::DiffCatalog;
  ModelSpec a = EmbedderSpec("a"), b = EmbedderSpec("b"), c = ChatSpec("c"), d = ChatSpec("d"),
            e = EmbedderSpec("e");
  std::vector<ModelSpec> now = {a, b, c, d, e};
  ModelSpec b2 = b, c2 = c, d2 = d, e2 = EmbedderSpec("e");
  b2.options = {{"normalize", false}};  // engine
  c2.retry.max_attempts = 3;            // settings
  d2.task = Task::kEmbed;               // task: remove + add
  e2.origin = "elsewhere.yaml";         // origin only: unchanged
  ModelSpec f = EmbedderSpec("f");
  auto diff = DiffCatalog(now, {b2, c2, d2, e2, f});
  EXPECT_THAT(diff.removed, ElementsAre("a", "d"));
  std::vector<std::string> added;
  for (const auto& s : diff.added) added.push_back(s.alias);
  EXPECT_THAT(added, ElementsAre("d", "f"));
  ASSERT_EQ(diff.engine_changed.size(), 1u);
  EXPECT_EQ(diff.engine_changed[0].alias, "b");
  ASSERT_EQ(diff.settings_changed.size(), 1u);
  EXPECT_EQ(diff.settings_changed[0].alias, "c");
  EXPECT_THAT(diff.unchanged, ElementsAre("e"));
}

}  // namespace
}  // namespace modelrt::reload_test
