// Run-time changes survive a restart: the journal, its torn last line, entries the config no
// longer admits, compaction, failed appends and the single-owner lock.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include "catalog/options_json.h"
#include "core/json.h"
#include "modelrt/registry.h"
#include "registry_fixtures.h"

namespace modelrt {
namespace {

using ::testing::HasSubstr;
using namespace testing_registry;

class RegistryPersistenceTest : public ::testing::Test {
 protected:
  std::unique_ptr<Registry> Open(const Config& config = BaseConfig()) {
    return MustCreate(config, {.state_path = path_});
  }
  // A mix of every kind of change, including removals of config entries.
  static void MakeChanges(Registry& registry) {
    ASSERT_TRUE(registry.RegisterProvider(Provider("cohere")).ok());
    ASSERT_TRUE(registry.UpsertBinding(Binding("rerank", "cohere", Task::kRerank)).ok());
    ASSERT_TRUE(registry.UpsertBinding(Binding("big-chat", "cohere")).ok());
    ASSERT_TRUE(registry.UpsertProfile(Profile("pirate", "big-chat")).ok());
    ProviderConfig replacement = Provider("remote");
    replacement.base_url = "https://replaced.example";
    ASSERT_TRUE(registry.ReplaceProvider(replacement).ok());
    ASSERT_TRUE(registry.RemoveProvider("remote", RemovalPolicy::kCascade).ok());  // takes gpt
    ASSERT_TRUE(registry.RemoveProfile("storyteller").ok());
    ASSERT_TRUE(registry.RemoveBinding("embed").ok());
  }

  TempDir dir_;
  std::string path_ = dir_.File("state/registry.jsonl");  // the folder does not exist yet
};

TEST_F(RegistryPersistenceTest, RestartRestoresTheSameSnapshot) {
  Json before;
  {
    auto registry = Open();
    MakeChanges(*registry);
    EXPECT_EQ(registry->version(), 9u);
    before = SnapshotToJson(*registry->Current());
  }
  auto restarted = Open();
  EXPECT_EQ(SnapshotToJson(*restarted->Current()), before);
  auto snap = restarted->Current();
  EXPECT_EQ(snap->providers.count("remote"), 0u);
  EXPECT_EQ(snap->bindings.count("gpt"), 0u);
  EXPECT_EQ(snap->profiles.at("pirate").model, "big-chat");
  // And it keeps going from there.
  EXPECT_EQ(*restarted->RemoveProfile("pirate"), 10u);
}

TEST_F(RegistryPersistenceTest, WithoutStatePathNothingIsKept) {
  {
    auto registry = MustCreate(BaseConfig());
    ASSERT_TRUE(registry->RegisterProvider(Provider("cohere")).ok());
  }
  auto again = MustCreate(BaseConfig());
  EXPECT_EQ(again->Current()->providers.count("cohere"), 0u);
  EXPECT_EQ(again->version(), 1u);
}

TEST_F(RegistryPersistenceTest, FailedChangesAreNotJournaled) {
  {
    auto registry = Open();
    ASSERT_TRUE(registry->RegisterProvider(Provider("cohere")).ok());
    ASSERT_FALSE(registry->RegisterProvider(Provider("cohere")).ok());
    ASSERT_FALSE(registry->RemoveProvider("local", RemovalPolicy::kBlock).ok());
  }
  std::string text = ReadFile(path_);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);
  EXPECT_EQ(Open()->version(), 2u);
}

TEST_F(RegistryPersistenceTest, JournalHoldsNoSecretValues) {
  {
    auto registry = Open();
    ProviderConfig provider = Provider("cohere");
    provider.api_key_env = "COHERE_API_KEY";
    ASSERT_TRUE(registry->RegisterProvider(provider).ok());
    provider.options = WithOption(provider.options, "api_key", "sk-should-never-be-written");
    ASSERT_FALSE(registry->ReplaceProvider(provider).ok());
  }
  std::string text = ReadFile(path_);
  EXPECT_THAT(text, HasSubstr("COHERE_API_KEY"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("sk-should-never")));
}

TEST_F(RegistryPersistenceTest, TornLastLineIsIgnoredAndCutOff) {
  Json before;
  {
    auto registry = Open();
    ASSERT_TRUE(registry->RegisterProvider(Provider("cohere")).ok());
    ASSERT_TRUE(registry->UpsertBinding(Binding("rerank", "cohere", Task::kRerank)).ok());
    before = SnapshotToJson(*registry->Current());
  }
  // A crash halfway through appending a third change.
  std::string complete = ReadFile(path_);
  WriteFile(path_, complete + R"({"op":"register_provider","provider":{"id":"half","ty)");
  {
    auto registry = Open();
    EXPECT_EQ(SnapshotToJson(*registry->Current()), before);
    EXPECT_EQ(ReadFile(path_), complete);  // the torn bytes are gone
    // The next append starts on a clean line, so it survives the next restart.
    ASSERT_EQ(*registry->RegisterProvider(Provider("after")), 4u);
  }
  auto registry = Open();
  EXPECT_EQ(registry->Current()->providers.count("after"), 1u);
  EXPECT_EQ(registry->Current()->providers.count("half"), 0u);
  EXPECT_EQ(registry->version(), 4u);
}

TEST_F(RegistryPersistenceTest, GarbageLinesAreSkipped) {
  {
    auto registry = Open();
    ASSERT_TRUE(registry->RegisterProvider(Provider("cohere")).ok());
  }
  WriteFile(path_, "not json\n[1,2]\n" + ReadFile(path_) +
                       R"({"op":"explode","key":"x"})" + "\n" +
                       R"({"op":"upsert_binding","binding":{"alias":"x"}})" + "\n");
  auto registry = Open();
  EXPECT_EQ(registry->Current()->providers.count("cohere"), 1u);
  EXPECT_EQ(registry->version(), 2u);
}

TEST_F(RegistryPersistenceTest, EntryConflictingWithChangedConfigIsSkipped) {
  {
    auto registry = Open();
    ASSERT_TRUE(registry->RegisterProvider(Provider("cohere")).ok());     // v2
    ASSERT_TRUE(registry->UpsertBinding(Binding("gpt-4", "remote")).ok());  // v3
    ASSERT_TRUE(registry->UpsertProfile(Profile("pirate", "gpt-4")).ok());  // v4
    ASSERT_TRUE(registry->UpsertBinding(Binding("rerank", "cohere", Task::kRerank)).ok());  // v5
  }
  // The config now declares `cohere` itself and no longer has `remote`.
  Config config = BaseConfig();
  config.providers = {Provider("local", "llama"), Provider("cohere", "cohere")};
  config.models = {Binding("chat", "local"), Binding("embed", "local", Task::kEmbed)};
  auto registry = Open(config);
  auto snap = registry->Current();
  // register cohere: AlreadyExists → skipped; the config's cohere wins.
  EXPECT_EQ(snap->providers.at("cohere").type, "cohere");
  // gpt-4 pointed at the vanished provider, and pirate at gpt-4: both skipped.
  EXPECT_EQ(snap->bindings.count("gpt-4"), 0u);
  EXPECT_EQ(snap->profiles.count("pirate"), 0u);
  // The entry that still applies is kept.
  EXPECT_EQ(snap->bindings.at("rerank").provider, "cohere");
  // Versions never go back across a restart.
  EXPECT_EQ(snap->version, 5u);
  EXPECT_EQ(*registry->RemoveBinding("rerank"), 6u);
}

TEST_F(RegistryPersistenceTest, CompactKeepsTheStateInFewerLines) {
  Json before;
  {
    auto registry = Open();
    MakeChanges(*registry);
    ASSERT_TRUE(registry->RegisterProvider(Provider("temp")).ok());
    ASSERT_TRUE(registry->RemoveProvider("temp", RemovalPolicy::kBlock).ok());
    std::string text = ReadFile(path_);
    auto lines_before = std::count(text.begin(), text.end(), '\n');
    EXPECT_EQ(lines_before, 10);
    ASSERT_TRUE(registry->Compact().ok());
    text = ReadFile(path_);
    EXPECT_LT(std::count(text.begin(), text.end(), '\n'), lines_before);
    EXPECT_THAT(text, ::testing::Not(HasSubstr("\"temp\"")));
    // Appends after a compaction go to the new file.
    ASSERT_TRUE(registry->UpsertProfile(Profile("pirate2", "chat")).ok());
    before = SnapshotToJson(*registry->Current());
  }
  auto restarted = Open();
  EXPECT_EQ(SnapshotToJson(*restarted->Current()), before);
}

TEST_F(RegistryPersistenceTest, CompactOfAnUnchangedStateKeepsTheVersion) {
  {
    auto registry = Open();
    ASSERT_TRUE(registry->RegisterProvider(Provider("temp")).ok());
    ASSERT_TRUE(registry->RemoveProvider("temp", RemovalPolicy::kBlock).ok());
    ASSERT_TRUE(registry->Compact().ok());
  }
  auto registry = Open();
  EXPECT_EQ(Content(*registry->Current()), Content(*MustCreate(BaseConfig())->Current()));
  EXPECT_EQ(registry->version(), 3u);
}

TEST_F(RegistryPersistenceTest, CompactHandlesProfilesThatMoveAndTasksThatChange) {
  Json before;
  {
    auto registry = Open();
    // storyteller moves off chat, then chat becomes an embed model and a profile takes the name
    // of the removed binding gpt.
    ASSERT_TRUE(registry->UpsertProfile(Profile("storyteller", "gpt")).ok());
    ASSERT_TRUE(registry->UpsertBinding(Binding("chat", "local", Task::kEmbed)).ok());
    ASSERT_TRUE(registry->UpsertBinding(Binding("gpt2", "remote")).ok());
    ASSERT_TRUE(registry->UpsertProfile(Profile("storyteller", "gpt2")).ok());
    ASSERT_TRUE(registry->RemoveBinding("gpt").ok());
    ASSERT_TRUE(registry->UpsertProfile(Profile("gpt", "gpt2")).ok());
    ASSERT_TRUE(registry->Compact().ok());
    before = SnapshotToJson(*registry->Current());
  }
  auto restarted = Open();
  EXPECT_EQ(SnapshotToJson(*restarted->Current()), before);
}

TEST_F(RegistryPersistenceTest, SecondRegistryOnTheSameJournalIsRefused) {
  auto first = Open();
  auto second = Registry::Create(BaseConfig(), {.state_path = path_});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code(), StatusCode::kUnavailable);
  first.reset();
  EXPECT_TRUE(Registry::Create(BaseConfig(), {.state_path = path_}).ok());
}

// A real write failure: the file-size limit stops the append partway (EFBIG), which is the
// torn-line case the journal must clean up after itself while the process goes on.
TEST_F(RegistryPersistenceTest, FailedAppendPublishesNothingAndLeavesTheFileClean) {
  auto registry = Open();
  ASSERT_TRUE(registry->RegisterProvider(Provider("cohere")).ok());
  std::string good = ReadFile(path_);

  struct sigaction ignore = {}, old_action = {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGXFSZ, &ignore, &old_action), 0);
  struct rlimit old_limit = {};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  struct rlimit limit = old_limit;
  limit.rlim_cur = good.size() + 10;  // room for 10 bytes of the next line
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limit), 0);
  ProviderConfig big = Provider("big");
  big.options = WithOption(big.options, "padding", std::string(200, 'x'));
  auto result = registry->RegisterProvider(big);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  ASSERT_EQ(sigaction(SIGXFSZ, &old_action, nullptr), 0);

  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.error().message(), HasSubstr("not saved"));
  EXPECT_EQ(registry->version(), 2u);
  EXPECT_EQ(registry->Current()->providers.count("big"), 0u);
  EXPECT_EQ(ReadFile(path_), good);
  ASSERT_EQ(*registry->RegisterProvider(big), 3u);
  registry.reset();
  EXPECT_EQ(Open()->Current()->providers.count("big"), 1u);
}

}  // namespace
}  // namespace modelrt
