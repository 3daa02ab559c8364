// The registry journal on a real PostgreSQL server (tests/support/postgres_server.sh), as
// replicas share it: a change made through one registry reaches another within about a second
// (LISTEN/NOTIFY) and is delivered to its listeners; writers on two registries at once keep one
// history, which a registry opened later replays to the same state; a change another replica
// made first is seen (pulled) before a write is checked, so the rules hold across replicas.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "registry/registry_fixtures.h"
#include "support/postgres_server.h"

namespace modelrt {
namespace {

using testing_registry::BaseConfig;
using testing_registry::Binding;
using testing_registry::MustCreate;
using testing_registry::Profile;
using testing_registry::Provider;

// Generous: the requirement is a second; a loaded 2-core CI machine gets slack, and the test
// prints what it measured.
constexpr auto kReachBound = std::chrono::seconds(10);

class SharedJournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<testing::PostgresServer>> pg = testing::PostgresServer::Start();
    if (!pg.ok() && pg.error().code() == StatusCode::kNotFound) GTEST_SKIP() << pg.error().message();
    ASSERT_TRUE(pg.ok()) << pg.error().ToString();
    pg_ = std::move(pg).value();
  }
  Config SharedConfig() const {
    Config config = BaseConfig();
    config.registry.store = pg_->url();
    return config;
  }
  // A registry on the shared journal, as one replica has it.
  std::unique_ptr<Registry> Replica() const { return MustCreate(SharedConfig()); }
  template <typename Pred>
  static std::chrono::milliseconds WaitUntil(Pred pred) {
    const auto start = std::chrono::steady_clock::now();
    while (!pred() && std::chrono::steady_clock::now() - start < kReachBound) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
  }
  std::unique_ptr<testing::PostgresServer> pg_;
};

TEST_F(SharedJournalTest, AChangeOnOneReplicaReachesTheOtherAndItsListeners) {
  auto a = Replica(), b = Replica();
  ASSERT_TRUE(a && b);
  std::atomic<int> delivered{0};
  b->Subscribe([&](const RegistryChange& change, const RegistrySnapshot& before,
                   const RegistrySnapshot& after) {
    if (change.kind == RegistryChange::Kind::kRegisterProvider && change.provider.id == "extra" &&
        after.version == before.version + 1) {
      ++delivered;
    }
  });
  ASSERT_TRUE(a->RegisterProvider(Provider("extra", "llama")).ok());
  ASSERT_TRUE(a->UpsertBinding(Binding("story", "extra")).ok());
  const auto took = WaitUntil([&] { return b->Current()->bindings.count("story") == 1; });
  std::printf("[ measured ] a change on A was current on B after %lld ms\n",
              static_cast<long long>(took.count()));
  ASSERT_EQ(b->Current()->bindings.count("story"), 1u);
  EXPECT_EQ(b->Current()->bindings.at("story").provider, "extra");
  EXPECT_EQ(b->Current()->providers.count("extra"), 1u);
  EXPECT_EQ(delivered.load(), 1);
  EXPECT_EQ(b->version(), a->version());
}

TEST_F(SharedJournalTest, WritersOnTwoReplicasKeepOneHistory) {
  auto a = Replica(), b = Replica();
  ASSERT_TRUE(a && b);
  constexpr int kEach = 20;
  std::atomic<int> failed{0};
  auto write = [&](Registry* registry, const std::string& prefix) {
    for (int i = 0; i < kEach; ++i) {
      if (!registry->UpsertBinding(Binding(prefix + std::to_string(i), "local")).ok()) ++failed;
    }
  };
  std::thread ta(write, a.get(), "a"), tb(write, b.get(), "b");
  ta.join();
  tb.join();
  EXPECT_EQ(failed.load(), 0);
  const size_t expected = BaseConfig().models.size() + 2 * kEach;
  WaitUntil([&] {
    return a->Current()->bindings.size() == expected && b->Current()->bindings.size() == expected;
  });
  EXPECT_EQ(a->Current()->bindings.size(), expected);
  EXPECT_EQ(b->Current()->bindings.size(), expected);
  EXPECT_EQ(a->version(), b->version());
  // A replica started now replays the same history to the same state.
  auto c = Replica();
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->Current()->bindings.size(), expected);
  EXPECT_EQ(c->version(), a->version());
}

TEST_F(SharedJournalTest, AWriteIsCheckedAgainstWhatAnotherReplicaChangedFirst) {
  auto a = Replica(), b = Replica();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->UpsertProfile(Profile("poet", "gpt")).ok());
  // Removing the binding a profile uses is refused: B pulls A's profile before checking.
  Result<uint64_t> removed = b->RemoveBinding("gpt");
  ASSERT_FALSE(removed.ok());
  EXPECT_EQ(removed.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(removed.error().message(), ::testing::HasSubstr("poet"));
}

TEST_F(SharedJournalTest, ReplicasFollowEachOtherAcrossADatabaseRestart) {
  auto a = Replica(), b = Replica();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(pg_->Restart().ok());
  // A's write reconnects; B's follower finds its LISTEN connection gone, reconnects, listens
  // again and pulls.
  Result<uint64_t> written = a->UpsertBinding(Binding("after-restart", "local"));
  ASSERT_TRUE(written.ok()) << written.error().ToString();
  WaitUntil([&] { return b->Current()->bindings.count("after-restart") == 1; });
  EXPECT_EQ(b->Current()->bindings.count("after-restart"), 1u);
}

TEST_F(SharedJournalTest, NoCompactionOfAJournalOthersReplay) {
  auto a = Replica();
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(a->UpsertBinding(Binding("x", "local")).ok());
  ASSERT_TRUE(a->RemoveBinding("x").ok());
  ASSERT_TRUE(a->Compact().ok());
  auto b = Replica();
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->version(), a->version());
  EXPECT_EQ(b->Current()->bindings.count("x"), 0u);
}

TEST_F(SharedJournalTest, AnUnreachableDatabaseIsAClearError) {
  Config config = BaseConfig();
  config.registry.store = "postgresql://postgres@127.0.0.1:1/postgres";
  Result<std::unique_ptr<Registry>> registry = Registry::Create(config, {});
  ASSERT_FALSE(registry.ok());
  EXPECT_EQ(registry.error().code(), StatusCode::kUnavailable);
  EXPECT_THAT(registry.error().message(), ::testing::HasSubstr("127.0.0.1:1"));
}

}  // namespace
}  // namespace modelrt
