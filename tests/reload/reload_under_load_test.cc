// Hot reload under load on real llama engines: 8 client threads send embeddings and generations
// without pause while "chat" is reloaded 20 times and "embed" is evicted again and again (and
// reloaded by the next call). No request may fail, and every client must see each alias's
// generations in non-decreasing order. Prints request latency (p50/p99) in steady state and
// during the reloads, and reload times, for the closing note (no timing is asserted).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <mutex>

#include "catalog/options_json.h"
#include "modelrt/lifecycle.h"
#include "reload_test_util.h"

namespace modelrt::reload_test {
namespace {

struct Latencies {
  std::vector<double> steady, reloading;
};

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)] * 1000;
}

void Print(const char* what, const Latencies& l) {
  std::printf(
      "[reload-numbers] %s: steady p50 %.2f ms p99 %.2f ms (n=%zu); during reloads p50 %.2f ms "
      "p99 %.2f ms (n=%zu)\n",
      what, Percentile(l.steady, 0.5), Percentile(l.steady, 0.99), l.steady.size(),
      Percentile(l.reloading, 0.5), Percentile(l.reloading, 0.99), l.reloading.size());
}

TEST(ReloadUnderLoadTest, EightClientsTwentyReloadsNoFailedRequest) {
  ModelSpec chat = ChatSpec();
  chat.options = MakeOptions({{"parallel", 8}});
  auto runtime = BuildReloadRuntime(MakeLlama(), {chat, EmbedderSpec()});
  ASSERT_TRUE(runtime);
  ASSERT_TRUE(runtime->lifecycle().PrefetchAll().ok());
  auto generator = *runtime->Generator("chat");
  auto embedder = *runtime->Embedding("embed");

  constexpr int kClients = 8;
  constexpr int kReloads = 20;
  std::atomic<bool> stop{false};
  std::atomic<bool> reloading{false};
  std::atomic<int> requests{0};
  std::mutex mu;
  std::vector<std::string> failures;          // guarded by mu
  std::vector<std::string> order_violations;  // guarded by mu
  Latencies embed_latency, generate_latency;  // guarded by mu
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      uint64_t last_chat = 0, last_embed = 0;
      EmbedRequest embed_request;
      embed_request.inputs = {{.text = "client " + std::to_string(c)}};
      while (!stop.load()) {
        const bool during = reloading.load();
        auto start = Clock::now();
        auto e = embedder.Embed(embed_request);
        const double embed_s = std::chrono::duration<double>(Clock::now() - start).count();
        start = Clock::now();
        auto g = generator.Generate(ShortRequest(4));
        const double gen_s = std::chrono::duration<double>(Clock::now() - start).count();
        requests.fetch_add(2);
        std::lock_guard<std::mutex> lock(mu);
        if (!e.ok()) failures.push_back("embed: " + e.error().ToString());
        if (!g.ok()) failures.push_back("generate: " + g.error().ToString());
        if (e.ok()) {
          if (e->generation < last_embed) {
            order_violations.push_back("embed " + std::to_string(e->generation) + " after " +
                                       std::to_string(last_embed));
          }
          last_embed = e->generation;
          (during ? embed_latency.reloading : embed_latency.steady).push_back(embed_s);
        }
        if (g.ok()) {
          if (g->generation < last_chat) {
            order_violations.push_back("chat " + std::to_string(g->generation) + " after " +
                                       std::to_string(last_chat));
          }
          last_chat = g->generation;
          (during ? generate_latency.reloading : generate_latency.steady).push_back(gen_s);
        }
      }
    });
  }

  // Steady state first, then the reloads and evictions while the clients keep going.
  EXPECT_TRUE(WaitFor([&] { return requests.load() >= 160; }, 120s));
  reloading.store(true);
  std::atomic<int> reload_failures{0};
  std::thread reloader([&] {
    for (int i = 0; i < kReloads; ++i) {
      if (!runtime->lifecycle().Reload("chat").ok()) reload_failures.fetch_add(1);
      std::this_thread::sleep_for(20ms);  // spreads the reloads over more client requests
    }
  });
  std::atomic<bool> reloads_done{false};
  int evictions = 0;
  std::thread evicter([&] {  // evicts embed each time the clients have loaded it again
    while (!reloads_done.load() && evictions < 200) {
      if (StateOf(*runtime, "embed") == ModelState::kLoaded &&
          runtime->lifecycle().Unload("embed").ok()) {
        ++evictions;
      }
      std::this_thread::sleep_for(20ms);
    }
  });
  reloader.join();
  reloads_done.store(true);
  evicter.join();
  reloading.store(false);
  const int at_end = requests.load();
  EXPECT_TRUE(WaitFor([&] { return requests.load() >= at_end + 32; }, 120s));
  stop.store(true);
  for (auto& t : clients) t.join();

  EXPECT_EQ(reload_failures.load(), 0);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();
  EXPECT_TRUE(order_violations.empty()) << order_violations.front();
  EXPECT_EQ(runtime->Describe("chat")->generation, 1u + kReloads);
  EXPECT_GT(runtime->Describe("embed")->generation, 1u) << "evicted and loaded again";
  EXPECT_GT(generate_latency.reloading.size(), 0u);
  EXPECT_EQ(runtime->PoolStatus().engines_draining, 0);

  std::vector<double> reload_ms;
  for (const ReloadRecord& r : runtime->lifecycle().ReloadLog()) {
    EXPECT_TRUE(r.ok) << r.error;
    reload_ms.push_back(static_cast<double>(r.duration.count()) / 1000.0);
  }
  Print("embed", embed_latency);
  Print("generate (4 tokens)", generate_latency);
  std::printf(
      "[reload-numbers] %d reloads of chat: p50 %.1f ms, max %.1f ms; %d evictions of embed; "
      "%d requests, 0 failed\n",
      kReloads, Percentile(reload_ms, 0.5), Percentile(reload_ms, 1.0), evictions, requests.load());
}

}  // namespace
}  // namespace modelrt::reload_test
