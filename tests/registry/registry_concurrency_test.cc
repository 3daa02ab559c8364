// Concurrent writers and readers: no lost update, monotonic versions, ordered notifications.
// These run under ThreadSanitizer too (scripts/test --tsan -R registry).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "core/json.h"
#include "modelrt/registry.h"
#include "registry_fixtures.h"

namespace modelrt {
namespace {

using namespace testing_registry;

constexpr int kThreads = 16;
constexpr int kPerThread = 50;

TEST(RegistryConcurrencyTest, SixteenThreadsTimesFiftyRegistrationsAreAllKept) {
  auto registry = MustCreate(BaseConfig());
  const uint64_t start = registry->version();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string id = "p" + std::to_string(t) + "-" + std::to_string(i);
        if (!registry->RegisterProvider(Provider(id)).ok()) failures.fetch_add(1);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  auto snap = registry->Current();
  EXPECT_EQ(snap->version, start + kThreads * kPerThread);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      std::string id = "p" + std::to_string(t) + "-" + std::to_string(i);
      EXPECT_EQ(snap->providers.count(id), 1u) << id;
    }
  }
  EXPECT_EQ(snap->providers.size(), 2u + kThreads * kPerThread);
}

TEST(RegistryConcurrencyTest, ReadersSeeMonotonicVersionsAndConsistentSnapshots) {
  auto registry = MustCreate(BaseConfig());
  std::atomic<bool> done{false};
  std::atomic<int> violations{0};
  std::atomic<int64_t> reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&] {
      uint64_t last = 0;
      while (!done.load()) {
        auto snap = registry->Current();
        if (snap->version < last) violations.fetch_add(1);
        last = snap->version;
        // Every published snapshot resolves its references.
        for (const auto& [alias, binding] : snap->bindings) {
          if (snap->providers.count(binding.provider) == 0) violations.fetch_add(1);
        }
        for (const auto& [name, profile] : snap->profiles) {
          if (snap->bindings.count(profile.model) == 0) violations.fetch_add(1);
        }
        reads.fetch_add(1);
      }
    });
  }
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 24; ++i) {
        std::string id = "w" + std::to_string(w) + "-" + std::to_string(i);
        EXPECT_TRUE(registry->RegisterProvider(Provider(id)).ok());
        EXPECT_TRUE(registry->UpsertBinding(Binding(id + "-chat", id)).ok());
        EXPECT_TRUE(registry->UpsertProfile(Profile(id + "-bot", id + "-chat")).ok());
        if (i % 2 == 0) {
          EXPECT_TRUE(registry->RemoveProfile(id + "-bot").ok());
          EXPECT_TRUE(registry->RemoveProvider(id, RemovalPolicy::kCascade).ok());
        }
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  done.store(true);
  for (std::thread& reader : readers) reader.join();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_GT(reads.load(), 0);
  // 4 writers × (24 × 3 + 12 × 2) changes.
  EXPECT_EQ(registry->version(), 1u + 4 * (24 * 3 + 12 * 2));
  EXPECT_EQ(registry->Current()->providers.size(), 2u + 4 * 12);
}

TEST(RegistryConcurrencyTest, ListenersGetEveryChangeOnceInVersionOrder) {
  auto registry = MustCreate(BaseConfig());
  std::atomic<int> in_listener{0};
  std::atomic<int> overlaps{0};
  std::vector<uint64_t> versions;  // only touched by listeners, which never overlap
  registry->Subscribe([&](const RegistryChange&, const RegistrySnapshot& before,
                          const RegistrySnapshot& after) {
    if (in_listener.fetch_add(1) != 0) overlaps.fetch_add(1);
    EXPECT_EQ(after.version, before.version + 1);
    versions.push_back(after.version);
    in_listener.fetch_sub(1);
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        uint64_t version = *registry->RegisterProvider(Provider("q" + std::to_string(t * 100 + i)));
        EXPECT_GE(version, 2u);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(overlaps.load(), 0);
  ASSERT_EQ(versions.size(), 200u);
  for (size_t i = 0; i < versions.size(); ++i) EXPECT_EQ(versions[i], i + 2);
}

TEST(RegistryConcurrencyTest, ConcurrentWritersWithAJournalKeepEveryChange) {
  TempDir dir;
  const std::string path = dir.File("registry.jsonl");
  Json expected;
  {
    auto registry = MustCreate(BaseConfig(), {.state_path = path});
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 10; ++i) {
          EXPECT_TRUE(registry->RegisterProvider(Provider("j" + std::to_string(t * 10 + i))).ok());
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(registry->version(), 41u);
    expected = SnapshotToJson(*registry->Current());
  }
  auto restarted = MustCreate(BaseConfig(), {.state_path = path});
  EXPECT_EQ(SnapshotToJson(*restarted->Current()), expected);
}

}  // namespace
}  // namespace modelrt
