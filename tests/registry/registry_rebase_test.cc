// Registry::Rebase: a re-read config under the run-time changes (the SIGHUP path).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "catalog/options_json.h"
#include "core/json.h"
#include "registry_fixtures.h"

namespace modelrt::testing_registry {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::vector<std::string> Keys(const auto& map) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : map) keys.push_back(key);
  return keys;
}

TEST(RegistryRebaseTest, NewFileUnderRunTimeChanges) {
  auto registry = MustCreate(BaseConfig());
  ASSERT_NE(registry, nullptr);
  // Run-time changes: a new provider and alias, a replaced binding and a removed one.
  ASSERT_TRUE(registry->RegisterProvider(Provider("extra")).ok());
  ASSERT_TRUE(registry->UpsertBinding(Binding("added", "extra")).ok());
  ModelSpec tuned = Binding("gpt", "remote");
  tuned.model = "gpt-tuned";
  ASSERT_TRUE(registry->UpsertBinding(tuned).ok());
  ASSERT_TRUE(registry->RemoveBinding("embed").ok());
  const uint64_t version = registry->version();

  // The file changes gpt's model (also changed at run time), adds "fresh", drops the profile and
  // changes embed's model (removed at run time: it stays removed).
  Config next = BaseConfig();
  next.source = "test.yaml (edited)";
  next.profiles.clear();
  next.models[1].model = "embed-v2";
  next.models[2].model = "gpt-from-file";
  next.models.push_back(Binding("fresh", "local"));

  std::vector<RegistryChange> seen;
  registry->Subscribe([&](const RegistryChange& change, const RegistrySnapshot& before,
                          const RegistrySnapshot& after) {
    seen.push_back(change);
    EXPECT_EQ(after.version, before.version + 1);
  });
  std::vector<std::string> skipped;
  Result<uint64_t> rebased = registry->Rebase(next, &skipped);
  ASSERT_TRUE(rebased.ok()) << rebased.error().ToString();
  EXPECT_EQ(*rebased, version + 1);
  EXPECT_THAT(skipped, IsEmpty());
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].kind, RegistryChange::Kind::kRebase);

  auto now = registry->Current();
  EXPECT_THAT(Keys(now->providers), ElementsAre("extra", "local", "remote"));
  EXPECT_THAT(Keys(now->bindings), ElementsAre("added", "chat", "fresh", "gpt"));
  EXPECT_EQ(now->bindings.at("gpt").model, "gpt-tuned") << "the run-time change wins";
  EXPECT_THAT(Keys(now->profiles), IsEmpty());
}

TEST(RegistryRebaseTest, ChangesThatNoLongerApplyAreSkipped) {
  auto registry = MustCreate(BaseConfig());
  ASSERT_TRUE(registry->UpsertBinding(Binding("on-remote", "remote")).ok());
  Config next = BaseConfig();
  next.providers.pop_back();   // remote is gone from the file...
  next.models.pop_back();      // ...with its binding gpt
  std::vector<std::string> skipped;
  Result<uint64_t> rebased = registry->Rebase(next, &skipped);
  ASSERT_TRUE(rebased.ok()) << rebased.error().ToString();
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_THAT(skipped[0], HasSubstr("on-remote"));
  EXPECT_EQ(registry->Current()->bindings.count("on-remote"), 0u);
  EXPECT_EQ(registry->Current()->providers.count("remote"), 0u);
}

TEST(RegistryRebaseTest, ProviderAddedByBothKeepsTheRunTimeVersion) {
  auto registry = MustCreate(BaseConfig());
  ProviderConfig mine = Provider("both");
  mine.options = MakeOptions({{"threads", 7}});
  ASSERT_TRUE(registry->RegisterProvider(mine).ok());
  Config next = BaseConfig();
  next.providers.push_back(Provider("both"));  // threads 2 in the file
  ASSERT_TRUE(registry->Rebase(next).ok());
  EXPECT_EQ(OptionsJson(registry->Current()->providers.at("both").options), Json({{"threads", 7}}));
}

TEST(RegistryRebaseTest, InvalidFileChangesNothing) {
  auto registry = MustCreate(BaseConfig());
  const uint64_t version = registry->version();
  Config bad = BaseConfig();
  bad.models.push_back(Binding("dangling", "nowhere"));
  Result<uint64_t> rebased = registry->Rebase(bad);
  ASSERT_FALSE(rebased.ok());
  EXPECT_EQ(rebased.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(registry->version(), version);
  EXPECT_EQ(registry->Current()->bindings.count("dangling"), 0u);
}

TEST(RegistryRebaseTest, RestartOnTheNewFileGivesTheSameState) {
  TempDir dir;
  const std::string journal = dir.File("registry.jsonl");
  Config next = BaseConfig();
  next.models.push_back(Binding("fresh", "local"));
  Json expected;
  uint64_t version = 0;
  {
    auto registry = MustCreate(BaseConfig(), {.state_path = journal});
    ASSERT_TRUE(registry->RegisterProvider(Provider("extra")).ok());
    ASSERT_TRUE(registry->UpsertBinding(Binding("added", "extra")).ok());
    ASSERT_TRUE(registry->RemoveBinding("gpt").ok());
    ASSERT_TRUE(registry->Rebase(next).ok());
    // Changes after the rebase are journaled against the new base too.
    ASSERT_TRUE(registry->RemoveBinding("fresh").ok());
    expected = Content(*registry->Current());
    version = registry->version();
  }
  auto again = MustCreate(next, {.state_path = journal});
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(Content(*again->Current()), expected);
  EXPECT_EQ(again->version(), version);
}

TEST(RegistryRebaseTest, RebaseIsNotAChangeToApply) {
  auto registry = MustCreate(BaseConfig());
  Result<uint64_t> applied = registry->Apply({.kind = RegistryChange::Kind::kRebase});
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ToString(RegistryChange::Kind::kRebase), "rebase");
}

}  // namespace
}  // namespace modelrt::testing_registry
