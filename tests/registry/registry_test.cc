// Registry updates and removal policies: every path, with exact version accounting.
#include "modelrt/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "catalog/options_json.h"
#include "core/json.h"
#include "registry_fixtures.h"

namespace modelrt {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using namespace testing_registry;

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override { registry_ = MustCreate(BaseConfig()); }

  // Expects `result` to fail with `code` and the version to stay where it was.
  template <typename T>
  void ExpectFails(const Result<T>& result, StatusCode code, uint64_t version_before) {
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code(), code) << result.error().ToString();
    EXPECT_EQ(registry_->version(), version_before);
  }

  std::unique_ptr<Registry> registry_;
};

TEST_F(RegistryTest, BaseSnapshotIsVersionOneWithTheConfig) {
  auto snap = registry_->Current();
  EXPECT_EQ(snap->version, 1u);
  EXPECT_EQ(snap->providers.size(), 2u);
  EXPECT_EQ(snap->bindings.at("embed").task, Task::kEmbed);
  EXPECT_EQ(snap->bindings.at("gpt").provider, "remote");
  EXPECT_EQ(snap->profiles.at("storyteller").model, "chat");
}

TEST_F(RegistryTest, RegisterProviderBumpsVersionByOne) {
  auto version = registry_->RegisterProvider(Provider("cohere"));
  ASSERT_TRUE(version.ok()) << version.error().ToString();
  EXPECT_EQ(*version, 2u);
  auto snap = registry_->Current();
  EXPECT_EQ(snap->version, 2u);
  EXPECT_EQ(snap->providers.at("cohere").base_url, "https://cohere.example/v1");
}

TEST_F(RegistryTest, RegisterDuplicateProviderIsAlreadyExists) {
  ExpectFails(registry_->RegisterProvider(Provider("remote")), StatusCode::kAlreadyExists, 1);
}

TEST_F(RegistryTest, RegisterRejectsBadProviders) {
  ProviderConfig no_type = Provider("x");
  no_type.type.clear();
  ExpectFails(registry_->RegisterProvider(no_type), StatusCode::kInvalidArgument, 1);
  ExpectFails(registry_->RegisterProvider(Provider("bad id!")), StatusCode::kInvalidArgument, 1);
  ProviderConfig pasted_key = Provider("y");
  pasted_key.api_key_env = "sk-live-abc123 secret";
  auto result = registry_->RegisterProvider(pasted_key);
  ExpectFails(result, StatusCode::kInvalidArgument, 1);
  EXPECT_THAT(result.error().message(), ::testing::Not(HasSubstr("sk-live")));
  ProviderConfig inline_key = Provider("z");
  inline_key.options = WithOption(inline_key.options, "api_key", "sk-live");
  ExpectFails(registry_->RegisterProvider(inline_key), StatusCode::kInvalidArgument, 1);
}

TEST_F(RegistryTest, ReplaceProviderKeepsBindingsPointingAtIt) {
  ProviderConfig replacement = Provider("remote");
  replacement.base_url = "https://other.example/v2";
  auto version = registry_->ReplaceProvider(replacement);
  ASSERT_TRUE(version.ok()) << version.error().ToString();
  EXPECT_EQ(*version, 2u);
  auto snap = registry_->Current();
  EXPECT_EQ(snap->providers.at("remote").base_url, "https://other.example/v2");
  EXPECT_EQ(snap->bindings.at("gpt").provider, "remote");
}

TEST_F(RegistryTest, ReplaceMissingProviderIsNotFound) {
  ExpectFails(registry_->ReplaceProvider(Provider("nobody")), StatusCode::kNotFound, 1);
}

TEST_F(RegistryTest, PreviewListsBindingsProfilesAndAllowedPolicies) {
  auto local = registry_->PreviewProviderRemoval("local");
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->provider, "local");
  EXPECT_EQ(local->version, 1u);
  EXPECT_THAT(local->bindings, ElementsAre("chat", "embed"));
  EXPECT_THAT(local->profiles, ElementsAre("storyteller"));
  EXPECT_FALSE(local->allowed_block);
  EXPECT_FALSE(local->allowed_cascade);
  EXPECT_THAT(local->block_reason, HasSubstr("'chat', 'embed'"));
  EXPECT_THAT(local->cascade_reason, HasSubstr("'storyteller'"));

  auto remote = registry_->PreviewProviderRemoval("remote");
  ASSERT_TRUE(remote.ok());
  EXPECT_THAT(remote->bindings, ElementsAre("gpt"));
  EXPECT_THAT(remote->profiles, IsEmpty());
  EXPECT_FALSE(remote->allowed_block);
  EXPECT_TRUE(remote->allowed_cascade);
  EXPECT_TRUE(remote->cascade_reason.empty());

  ASSERT_TRUE(registry_->RegisterProvider(Provider("idle")).ok());
  auto idle = registry_->PreviewProviderRemoval("idle");
  ASSERT_TRUE(idle.ok());
  EXPECT_TRUE(idle->allowed_block);
  EXPECT_TRUE(idle->allowed_cascade);
  EXPECT_EQ(idle->version, 2u);

  EXPECT_EQ(registry_->PreviewProviderRemoval("nobody").error().code(), StatusCode::kNotFound);
  // A preview changes nothing.
  EXPECT_EQ(registry_->version(), 2u);
}

TEST_F(RegistryTest, PreviewJsonNamesPoliciesAndReasons) {
  Json json = RemovalPreviewToJson(*registry_->PreviewProviderRemoval("remote"));
  EXPECT_EQ(json["bindings"], Json::array({"gpt"}));
  EXPECT_EQ(json["policies"]["block"]["allowed"], false);
  EXPECT_THAT(json["policies"]["block"]["reason"].get<std::string>(), HasSubstr("'gpt'"));
  EXPECT_EQ(json["policies"]["cascade"]["allowed"], true);
  EXPECT_FALSE(json["policies"]["cascade"].contains("reason"));
}

TEST_F(RegistryTest, RemoveBlockedWhenReferencedListsReferrers) {
  auto result = registry_->RemoveProvider("local", RemovalPolicy::kBlock);
  ExpectFails(result, StatusCode::kFailedPrecondition, 1);
  EXPECT_THAT(result.error().message(), HasSubstr("'chat', 'embed'"));
  EXPECT_EQ(registry_->Current()->providers.count("local"), 1u);
}

TEST_F(RegistryTest, RemoveBlockSucceedsWhenUnreferenced) {
  ASSERT_TRUE(registry_->RegisterProvider(Provider("idle")).ok());
  auto version = registry_->RemoveProvider("idle", RemovalPolicy::kBlock);
  ASSERT_TRUE(version.ok()) << version.error().ToString();
  EXPECT_EQ(*version, 3u);
  EXPECT_EQ(registry_->Current()->providers.count("idle"), 0u);
}

TEST_F(RegistryTest, RemoveCascadeRemovesUnusedBindings) {
  ASSERT_TRUE(registry_->UpsertBinding(Binding("gpt-embed", "remote", Task::kEmbed)).ok());
  std::vector<std::string> removed;
  registry_->Subscribe([&](const RegistryChange& change, const RegistrySnapshot&,
                           const RegistrySnapshot&) { removed = change.removed_bindings; });
  auto version = registry_->RemoveProvider("remote", RemovalPolicy::kCascade);
  ASSERT_TRUE(version.ok()) << version.error().ToString();
  EXPECT_EQ(*version, 3u);
  auto snap = registry_->Current();
  EXPECT_EQ(snap->providers.count("remote"), 0u);
  EXPECT_EQ(snap->bindings.count("gpt"), 0u);
  EXPECT_EQ(snap->bindings.count("gpt-embed"), 0u);
  EXPECT_EQ(snap->bindings.count("chat"), 1u);
  EXPECT_THAT(removed, ElementsAre("gpt", "gpt-embed"));
}

TEST_F(RegistryTest, RemoveCascadeBlockedByProfile) {
  auto result = registry_->RemoveProvider("local", RemovalPolicy::kCascade);
  ExpectFails(result, StatusCode::kFailedPrecondition, 1);
  EXPECT_THAT(result.error().message(), HasSubstr("'storyteller'"));
  auto snap = registry_->Current();
  EXPECT_EQ(snap->bindings.count("chat"), 1u);
  EXPECT_EQ(snap->bindings.count("embed"), 1u);  // nothing removed halfway
}

TEST_F(RegistryTest, RemoveMissingProviderIsNotFound) {
  ExpectFails(registry_->RemoveProvider("nobody", RemovalPolicy::kCascade), StatusCode::kNotFound,
              1);
}

TEST_F(RegistryTest, DanglingBindingRejected) {
  auto result = registry_->UpsertBinding(Binding("ghost", "nobody"));
  ExpectFails(result, StatusCode::kInvalidArgument, 1);
  EXPECT_THAT(result.error().message(), HasSubstr("unknown provider 'nobody'"));
  EXPECT_EQ(registry_->Current()->bindings.count("ghost"), 0u);
}

TEST_F(RegistryTest, UpsertBindingAddsAndReplaces) {
  ASSERT_EQ(*registry_->UpsertBinding(Binding("new", "remote", Task::kRerank)), 2u);
  ModelSpec moved = Binding("gpt", "local");
  moved.model = "models/other.gguf";
  ASSERT_EQ(*registry_->UpsertBinding(moved), 3u);
  auto snap = registry_->Current();
  EXPECT_EQ(snap->bindings.at("new").task, Task::kRerank);
  EXPECT_EQ(snap->bindings.at("gpt").provider, "local");
  EXPECT_EQ(snap->bindings.at("gpt").model, "models/other.gguf");
}

TEST_F(RegistryTest, UpsertBindingRejectsBadValues) {
  ModelSpec no_model = Binding("m", "local");
  no_model.model.clear();
  ExpectFails(registry_->UpsertBinding(no_model), StatusCode::kInvalidArgument, 1);
  ExpectFails(registry_->UpsertBinding(Binding("bad alias", "local")),
              StatusCode::kInvalidArgument, 1);
  ModelSpec secret = Binding("s", "local");
  secret.options = WithOption(secret.options, "token", "abc");
  ExpectFails(registry_->UpsertBinding(secret), StatusCode::kInvalidArgument, 1);
  // Aliases and profile names share one namespace.
  ExpectFails(registry_->UpsertBinding(Binding("storyteller", "local")),
              StatusCode::kAlreadyExists, 1);
}

TEST_F(RegistryTest, BindingUsedByProfileMustStayGenerate) {
  auto result = registry_->UpsertBinding(Binding("chat", "local", Task::kEmbed));
  ExpectFails(result, StatusCode::kFailedPrecondition, 1);
  EXPECT_THAT(result.error().message(), HasSubstr("'storyteller'"));
}

TEST_F(RegistryTest, RemoveBindingUsedByProfileBlocked) {
  auto result = registry_->RemoveBinding("chat");
  ExpectFails(result, StatusCode::kFailedPrecondition, 1);
  EXPECT_THAT(result.error().message(), HasSubstr("'storyteller'"));
  ASSERT_EQ(*registry_->RemoveProfile("storyteller"), 2u);
  ASSERT_EQ(*registry_->RemoveBinding("chat"), 3u);
  EXPECT_EQ(registry_->Current()->bindings.count("chat"), 0u);
  ExpectFails(registry_->RemoveBinding("chat"), StatusCode::kNotFound, 3);
}

TEST_F(RegistryTest, DanglingProfileRejected) {
  auto result = registry_->UpsertProfile(Profile("pirate", "nothing"));
  ExpectFails(result, StatusCode::kInvalidArgument, 1);
  EXPECT_THAT(result.error().message(), HasSubstr("unknown model alias 'nothing'"));
  ExpectFails(registry_->UpsertProfile(Profile("pirate", "embed")), StatusCode::kInvalidArgument,
              1);
  ExpectFails(registry_->UpsertProfile(Profile("gpt", "chat")), StatusCode::kAlreadyExists, 1);
}

TEST_F(RegistryTest, UpsertAndRemoveProfile) {
  ASSERT_EQ(*registry_->UpsertProfile(Profile("pirate", "gpt")), 2u);
  ProfileSpec changed = Profile("pirate", "chat");
  changed.system = "Arr.";
  ASSERT_EQ(*registry_->UpsertProfile(changed), 3u);
  EXPECT_EQ(registry_->Current()->profiles.at("pirate").system, "Arr.");
  ASSERT_EQ(*registry_->RemoveProfile("pirate"), 4u);
  ExpectFails(registry_->RemoveProfile("pirate"), StatusCode::kNotFound, 4);
}

TEST_F(RegistryTest, OldSnapshotsStayUnchanged) {
  std::shared_ptr<const RegistrySnapshot> v1 = registry_->Current();
  Json v1_json = SnapshotToJson(*v1);
  ASSERT_TRUE(registry_->RemoveProvider("remote", RemovalPolicy::kCascade).ok());
  ASSERT_TRUE(registry_->UpsertBinding(Binding("chat", "local", Task::kGenerate)).ok());
  ASSERT_TRUE(registry_->RemoveProfile("storyteller").ok());
  EXPECT_EQ(SnapshotToJson(*v1), v1_json);
  EXPECT_EQ(v1->version, 1u);
  EXPECT_EQ(v1->bindings.count("gpt"), 1u);
  EXPECT_EQ(registry_->version(), 4u);
  EXPECT_NE(registry_->Current().get(), v1.get());
}

TEST_F(RegistryTest, ListenersSeeEachChangeWithBeforeAndAfter) {
  std::vector<std::string> seen;
  uint64_t id = registry_->Subscribe(
      [&](const RegistryChange& change, const RegistrySnapshot& before,
          const RegistrySnapshot& after) {
        EXPECT_EQ(after.version, before.version + 1);
        seen.push_back(std::string(ToString(change.kind)) + ":" + change.key + "@" +
                       std::to_string(after.version));
        RegistryDiff diff = DiffSnapshots(before, after);
        if (change.kind == RegistryChange::Kind::kReplaceProvider) {
          EXPECT_THAT(diff.providers_changed, ElementsAre("remote"));
          EXPECT_THAT(diff.bindings_changed, ElementsAre("gpt"));  // its engines are stale
        }
      });
  ASSERT_TRUE(registry_->RegisterProvider(Provider("p")).ok());
  ProviderConfig replacement = Provider("remote");
  replacement.base_url = "https://elsewhere.example";
  ASSERT_TRUE(registry_->ReplaceProvider(replacement).ok());
  ASSERT_FALSE(registry_->RemoveBinding("chat").ok());  // failed changes notify nobody
  registry_->Unsubscribe(id);
  ASSERT_TRUE(registry_->RemoveProvider("p", RemovalPolicy::kBlock).ok());
  EXPECT_THAT(seen, ElementsAre("register_provider:p@2", "replace_provider:remote@3"));
}

TEST_F(RegistryTest, ListenerMayWriteToTheRegistry) {
  std::vector<uint64_t> versions;
  registry_->Subscribe([&](const RegistryChange& change, const RegistrySnapshot&,
                           const RegistrySnapshot& after) {
    versions.push_back(after.version);
    if (change.kind == RegistryChange::Kind::kRegisterProvider) {
      // Delivered after this listener returns, still in order.
      EXPECT_TRUE(registry_->UpsertBinding(Binding("on-" + change.key, change.key)).ok());
    }
  });
  ASSERT_EQ(*registry_->RegisterProvider(Provider("p")), 2u);
  EXPECT_THAT(versions, ElementsAre(2u, 3u));
  EXPECT_EQ(registry_->Current()->bindings.count("on-p"), 1u);
}

TEST(RegistryCreateTest, RejectsConfigsWithDanglingReferences) {
  Config config = BaseConfig();
  config.models.push_back(Binding("lost", "nobody"));
  auto result = Registry::Create(config, {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(result.error().message(), HasSubstr("test.yaml"));

  config = BaseConfig();
  config.models.push_back(Binding("chat", "remote"));
  result = Registry::Create(config, {});
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.error().message(), HasSubstr("duplicate model alias 'chat'"));

  config = BaseConfig();
  config.profiles.push_back(Profile("lost", "nothing"));
  EXPECT_FALSE(Registry::Create(config, {}).ok());
}

TEST(RegistryPolicyTest, ParsesPolicyNames) {
  EXPECT_EQ(*ParseRemovalPolicy("block"), RemovalPolicy::kBlock);
  EXPECT_EQ(*ParseRemovalPolicy("cascade"), RemovalPolicy::kCascade);
  EXPECT_EQ(ParseRemovalPolicy("force").error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ToString(RemovalPolicy::kCascade), "cascade");
}

}  // namespace
}  // namespace modelrt
