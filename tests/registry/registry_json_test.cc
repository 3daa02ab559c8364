// Registry values ⇄ JSON, snapshot diffs and the change lists a compacted journal holds.
#include "registry/registry_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "catalog/options_json.h"
#include "core/json.h"
#include "registry/registry_diff.h"
#include "registry/snapshot_editor.h"
#include "registry_fixtures.h"

namespace modelrt::registry {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using namespace testing_registry;

TEST(RegistryJsonTest, BindingRoundTripsEveryField) {
  ModelSpec spec = Binding("chat", "local", Task::kRerank);
  spec.warmup = WarmupPolicy::kBackground;
  spec.required = true;
  spec.timeout = std::chrono::milliseconds(2500);
  spec.load_timeout = std::chrono::seconds(30);
  spec.retry = {.max_attempts = 3,
                .initial_backoff = std::chrono::milliseconds(50),
                .max_backoff = std::chrono::milliseconds(800)};
  spec.pinned = true;
  spec.keep_alive_s = -1;
  spec.origin = "admin API";
  Json json = BindingToJson(spec);
  EXPECT_EQ(json["task"], "rerank");
  EXPECT_EQ(json["timeout_s"], 2.5);
  EXPECT_EQ(json["load_timeout_s"], 30);
  auto back = BindingFromJson(json);
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_TRUE(SameBinding(*back, spec));
  EXPECT_EQ(back->origin, "admin API");
  EXPECT_EQ(back->timeout, spec.timeout);
  EXPECT_EQ(back->retry.max_backoff, spec.retry.max_backoff);
  EXPECT_EQ(back->keep_alive_s, -1);
  EXPECT_EQ(back->warmup, WarmupPolicy::kBackground);

  ModelSpec other = spec;
  other.retry.max_attempts = 4;
  EXPECT_FALSE(SameBinding(other, spec));
  other = spec;
  other.origin = "elsewhere";
  EXPECT_TRUE(SameBinding(other, spec));  // origin is not content
}

TEST(RegistryJsonTest, DeploymentsRoundTripAndTieTheBindingToEveryProviderTheyName) {
  ModelSpec spec = Binding("gpt", "remote");
  spec.deployments = {{.provider = "remote", .model = "upstream-gpt", .weight = 3},
                      {.provider = "west", .model = "gpt-west"}};
  auto back = BindingFromJson(BindingToJson(spec));
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_TRUE(SameBinding(*back, spec));
  ASSERT_EQ(back->deployments.size(), 2u);
  EXPECT_EQ(back->deployments[0].weight, 3);
  EXPECT_EQ(back->deployments[1], spec.deployments[1]);
  // Provider and model may be left out: they are the first deployment's.
  Json bare = BindingToJson(spec);
  bare.erase("provider");
  bare.erase("model");
  auto filled = BindingFromJson(bare);
  ASSERT_TRUE(filled.ok()) << filled.error().ToString();
  EXPECT_EQ(filled->provider, "remote");
  EXPECT_EQ(filled->model, "upstream-gpt");
  EXPECT_TRUE(spec.UsesProvider("west"));
  EXPECT_FALSE(spec.UsesProvider("local"));

  auto registry = MustCreate(BaseConfig());
  EXPECT_FALSE(registry->UpsertBinding(spec).ok());  // "west" is not registered yet
  ASSERT_TRUE(registry->RegisterProvider(Provider("west")).ok());
  ASSERT_TRUE(registry->UpsertBinding(spec).ok());
  // Removing a provider that only a deployment names is refused (block) like any other use.
  auto preview = registry->PreviewProviderRemoval("west");
  ASSERT_TRUE(preview.ok());
  EXPECT_THAT(preview->bindings, ElementsAre("gpt"));
  EXPECT_FALSE(registry->RemoveProvider("west", RemovalPolicy::kBlock).ok());
  // Replacing it makes the binding's engine stale.
  auto before = registry->Current();
  ProviderConfig west = Provider("west");
  west.base_url = "https://west2.example/v1";
  ASSERT_TRUE(registry->ReplaceProvider(west).ok());
  EXPECT_THAT(DiffSnapshots(*before, *registry->Current()).bindings_changed, ElementsAre("gpt"));
}

TEST(RegistryJsonTest, ProviderAndProfileRoundTrip) {
  ProviderConfig provider = Provider("remote");
  auto provider_back = ProviderFromJson(ProviderToJson(provider));
  ASSERT_TRUE(provider_back.ok());
  EXPECT_TRUE(SameProvider(*provider_back, provider));
  EXPECT_EQ(provider_back->api_key_env, provider.api_key_env);

  ProfileSpec profile = Profile("pirate", "chat");
  auto profile_back = ProfileFromJson(ProfileToJson(profile));
  ASSERT_TRUE(profile_back.ok());
  EXPECT_TRUE(SameProfile(*profile_back, profile));
  EXPECT_EQ(OptionsJson(profile_back->params).at("temperature"), 0.5);
}

TEST(RegistryJsonTest, ParsingReportsTheBadField) {
  auto missing = BindingFromJson({{"alias", "a"}, {"task", "embed"}, {"provider", "p"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message(), HasSubstr("binding.model"));
  auto wrong_task = BindingFromJson(
      {{"alias", "a"}, {"task", "dance"}, {"provider", "p"}, {"model", "m"}});
  EXPECT_THAT(wrong_task.error().message(), HasSubstr("dance"));
  auto wrong_type = ProviderFromJson({{"id", 3}, {"type", "x"}});
  EXPECT_THAT(wrong_type.error().message(), HasSubstr("provider.id"));
  EXPECT_FALSE(ProfileFromJson(Json::array()).ok());
  EXPECT_FALSE(ChangeFromJson({{"op", "remove_provider"}, {"key", "x"}, {"policy", "nuke"}}).ok());
  EXPECT_FALSE(ChangeFromJson({{"op", "upsert_profile"}}).ok());
}

TEST(RegistryJsonTest, ChangesRoundTrip) {
  using Kind = RegistryChange::Kind;
  std::vector<RegistryChange> changes = {
      {.kind = Kind::kRegisterProvider, .provider = Provider("a")},
      {.kind = Kind::kReplaceProvider, .provider = Provider("a")},
      {.kind = Kind::kRemoveProvider, .key = "a", .policy = RemovalPolicy::kCascade},
      {.kind = Kind::kUpsertBinding, .binding = Binding("b", "a")},
      {.kind = Kind::kRemoveBinding, .key = "b"},
      {.kind = Kind::kUpsertProfile, .profile = Profile("c", "b")},
      {.kind = Kind::kRemoveProfile, .key = "c"}};
  for (const RegistryChange& change : changes) {
    Json json = ChangeToJson(change);
    auto back = ChangeFromJson(json);
    ASSERT_TRUE(back.ok()) << json.dump() << ": " << back.error().ToString();
    EXPECT_EQ(back->kind, change.kind);
    EXPECT_EQ(ChangeToJson(*back), json);
  }
  EXPECT_EQ(ChangeFromJson(ChangeToJson(changes[2]))->policy, RemovalPolicy::kCascade);
  EXPECT_EQ(ChangeFromJson(ChangeToJson(changes[3]))->key, "b");
}

TEST(RegistryJsonTest, SnapshotJsonListsEverything) {
  auto registry = MustCreate(BaseConfig());
  Json json = SnapshotToJson(*registry->Current());
  EXPECT_EQ(json["version"], 1);
  ASSERT_EQ(json["providers"].size(), 2u);
  EXPECT_EQ(json["providers"][0]["id"], "local");
  ASSERT_EQ(json["bindings"].size(), 3u);
  EXPECT_EQ(json["bindings"][1]["alias"], "embed");
  EXPECT_EQ(json["profiles"][0]["name"], "storyteller");
}

TEST(RegistryDiffTest, ReportsAddedChangedAndRemovedKeys) {
  auto registry = MustCreate(BaseConfig());
  auto v1 = registry->Current();
  ASSERT_TRUE(registry->RegisterProvider(Provider("new")).ok());
  ASSERT_TRUE(registry->UpsertBinding(Binding("gpt", "new")).ok());
  ASSERT_TRUE(registry->RemoveProvider("remote", RemovalPolicy::kBlock).ok());
  ASSERT_TRUE(registry->RemoveBinding("embed").ok());
  ASSERT_TRUE(registry->UpsertProfile(Profile("pirate", "gpt")).ok());
  ProviderConfig local = Provider("local", "llama");
  local.options = WithOption(local.options, "threads", 8);
  ASSERT_TRUE(registry->ReplaceProvider(local).ok());
  RegistryDiff diff = DiffSnapshots(*v1, *registry->Current());
  EXPECT_THAT(diff.providers_added, ElementsAre("new"));
  EXPECT_THAT(diff.providers_changed, ElementsAre("local"));
  EXPECT_THAT(diff.providers_removed, ElementsAre("remote"));
  EXPECT_THAT(diff.bindings_added, IsEmpty());
  EXPECT_THAT(diff.bindings_changed, ElementsAre("chat", "gpt"));  // chat: its provider changed
  EXPECT_THAT(diff.bindings_removed, ElementsAre("embed"));
  EXPECT_THAT(diff.profiles_added, ElementsAre("pirate"));
  EXPECT_THAT(diff.profiles_changed, IsEmpty());
  EXPECT_FALSE(diff.empty());
  EXPECT_TRUE(DiffSnapshots(*v1, *v1).empty());
}

TEST(RegistryDiffTest, ChangesBetweenRebuildsTheTarget) {
  auto registry = MustCreate(BaseConfig());
  auto base = registry->Current();
  ASSERT_TRUE(registry->RegisterProvider(Provider("cohere")).ok());
  ASSERT_TRUE(registry->UpsertProfile(Profile("storyteller", "gpt")).ok());
  ASSERT_TRUE(registry->UpsertBinding(Binding("chat", "cohere", Task::kEmbed)).ok());
  ASSERT_TRUE(registry->RemoveProvider("local", RemovalPolicy::kCascade).ok());
  auto target = registry->Current();

  SnapshotEditor editor(*base);
  for (RegistryChange change : ChangesBetween(*base, *target)) {
    Status status = editor.Apply(&change);
    ASSERT_TRUE(status.ok()) << ToString(change.kind) << " " << change.key << ": "
                             << status.ToString();
  }
  EXPECT_EQ(Content(editor.state()), Content(*target));
  EXPECT_THAT(ChangesBetween(*target, *target), IsEmpty());
}

}  // namespace
}  // namespace modelrt::registry
