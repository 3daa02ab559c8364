// RuntimeLifecycle::Reload and Remove on real llama engines: the swap (in-flight calls finish
// on the old engine), new files and options, failures that leave the old engine serving (a junk
// file, a load timeout from the FaultInjectingProvider test double, no room), bounded history
// and log, generations.
#include <gtest/gtest.h>

#include "catalog/options_json.h"
#include "modelrt/lifecycle.h"
#include "reload_test_util.h"

namespace modelrt::reload_test {
namespace {

TEST(ReloadTest, InFlightCallsFinishOnTheOldEngineAndNewOnesGetTheNew) {
  auto provider = MakeFaultyLlama();
  auto runtime = BuildReloadRuntime(provider, {ChatSpec()});
  ASSERT_TRUE(runtime);
  ASSERT_TRUE(runtime->lifecycle().Load("chat").ok());
  HeldGeneration held(*runtime->Generator("chat"));
  ASSERT_TRUE(held.Started());

  auto record = runtime->lifecycle().Reload("chat");
  ASSERT_TRUE(record.ok()) << record.error().ToString();
  EXPECT_TRUE(record->ok);
  EXPECT_EQ(record->trigger, ReloadTrigger::kApi);
  EXPECT_EQ(record->old_generation, 1u);
  EXPECT_EQ(record->new_generation, 2u);
  EXPECT_EQ(record->new_source, ChatSpec().model);

  auto fresh = runtime->Generator("chat")->Generate(ShortRequest(4));
  ASSERT_TRUE(fresh.ok()) << fresh.error().ToString();
  EXPECT_EQ(fresh->generation, 2u);
  auto status = runtime->Describe("chat");
  EXPECT_EQ(status->state, ModelState::kLoaded);
  EXPECT_EQ(status->generation, 2u);
  EXPECT_EQ(status->in_flight, 1);  // the held call, on the old engine
  ASSERT_EQ(provider->loaded_models().size(), 2u);
  EXPECT_FALSE(provider->loaded_models()[0].expired()) << "the held call still uses it";
  EXPECT_EQ(runtime->PoolStatus().engines_draining, 1);

  Result<GenerateResult>& old = held.Finish();
  ASSERT_TRUE(old.ok()) << old.error().ToString();
  EXPECT_EQ(old->generation, 1u);
  EXPECT_TRUE(provider->loaded_models()[0].expired()) << "freed after its last call";
  EXPECT_EQ(runtime->PoolStatus().engines_draining, 0);

  auto history = runtime->lifecycle().VersionHistory("chat");
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].generation, 1u);
  EXPECT_EQ(history[1].generation, 2u);
  EXPECT_EQ(history[1].source, ChatSpec().model);
  EXPECT_FALSE(history[1].description.empty());
  EXPECT_GT(history[1].memory_bytes, 0);
  EXPECT_EQ(runtime->lifecycle().GlobalGeneration(), 2u);
  EXPECT_EQ(CounterValue(*runtime, "modelrt_reloads_total",
                         {{"alias", "chat"}, {"trigger", "api"}, {"outcome", "success"}}),
            1);
}

TEST(ReloadTest, ANewFileAndNewOptionsTakeOver) {
  auto runtime = BuildReloadRuntime(MakeLlama(), {EmbedderSpec("embed", 42)});
  ASSERT_TRUE(runtime);
  auto before = EmbedOne(*runtime, "embed");
  ASSERT_TRUE(before.ok()) << before.error().ToString();
  EXPECT_EQ(before->generation, 1u);

  ModelSpec next = EmbedderSpec("embed", 7);
  next.options = MakeOptions({{"normalize", false}});
  auto record = runtime->lifecycle().Reload("embed", next);
  ASSERT_TRUE(record.ok()) << record.error().ToString();
  EXPECT_EQ(record->old_source, EmbedderSpec("embed", 42).model);
  EXPECT_EQ(record->new_source, next.model);

  auto after = EmbedOne(*runtime, "embed");
  ASSERT_TRUE(after.ok()) << after.error().ToString();
  EXPECT_EQ(after->generation, 2u);
  EXPECT_NE(after->embeddings[0], before->embeddings[0]) << "other weights, other vectors";
  auto spec = runtime->Describe("embed")->spec;
  EXPECT_EQ(spec.model, next.model);
  EXPECT_EQ(spec.options, next.options);
  auto history = runtime->lifecycle().VersionHistory("embed");
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].source, EmbedderSpec("embed", 42).model);
  EXPECT_EQ(history[1].source, next.model);
}

TEST(ReloadTest, AJunkFileLeavesTheOldEngineServingAndIsLogged) {
  auto runtime = BuildReloadRuntime(MakeLlama(), {ChatSpec()});
  ASSERT_TRUE(runtime);
  ASSERT_TRUE(runtime->lifecycle().Load("chat").ok());
  const std::string junk = testing::TestTempDir() + "/junk.gguf";
  WriteFile(junk, "this is not a GGUF file at all");
  ModelSpec bad = ChatSpec();
  bad.model = junk;

  auto record = runtime->lifecycle().Reload("chat", bad);
  ASSERT_FALSE(record.ok());
  auto log = runtime->lifecycle().ReloadLog();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_FALSE(log[0].ok);
  EXPECT_FALSE(log[0].error.empty());
  EXPECT_EQ(log[0].old_generation, 1u);
  EXPECT_EQ(log[0].new_generation, 0u);
  EXPECT_EQ(log[0].new_source, junk);

  auto r = runtime->Generator("chat")->Generate(ShortRequest(4));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->generation, 1u);
  auto status = runtime->Describe("chat");
  EXPECT_EQ(status->state, ModelState::kLoaded);
  EXPECT_EQ(status->spec.model, ChatSpec().model) << "the spec stays the old one";
  EXPECT_EQ(runtime->PoolStatus().bytes_reserved, 0);

  bad.model = testing::TestTempDir() + "/missing.gguf";
  EXPECT_FALSE(runtime->lifecycle().Reload("chat", bad).ok());
  EXPECT_EQ(runtime->lifecycle().ReloadLog().size(), 2u);
  EXPECT_EQ(CounterValue(*runtime, "modelrt_reloads_total",
                         {{"alias", "chat"}, {"trigger", "api"}, {"outcome", "failure"}}),
            2);
  EXPECT_EQ(runtime->lifecycle().VersionHistory("chat").size(), 1u);
}

TEST(ReloadTest, ATimedOutLoadLeavesTheOldEngineServing) {
  auto provider = MakeFaultyLlama();
  auto runtime = BuildReloadRuntime(provider, {ChatSpec()});
  ASSERT_TRUE(runtime);
  ASSERT_TRUE(runtime->lifecycle().Load("chat").ok());
  provider->SetHangUntilDeadline(true);
  ModelSpec spec = ChatSpec();
  spec.load_timeout = 200ms;
  auto record = runtime->lifecycle().Reload("chat", spec);
  EXPECT_EQ(record.error().code(), StatusCode::kDeadlineExceeded) << record.error().ToString();
  provider->SetHangUntilDeadline(false);
  auto r = runtime->Generator("chat")->Generate(ShortRequest(4));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->generation, 1u);
  EXPECT_EQ(runtime->Describe("chat")->spec.load_timeout, ChatSpec().load_timeout);
  ASSERT_EQ(runtime->lifecycle().ReloadLog().size(), 1u);
  EXPECT_NE(runtime->lifecycle().ReloadLog()[0].error.find("DeadlineExceeded"), std::string::npos);
}

TEST(ReloadTest, NoRoomForBothEnginesFailsUnavailableAndKeepsTheOld) {
  auto probe = BuildReloadRuntime(MakeLlama(), {ChatSpec()});
  ASSERT_TRUE(probe && probe->lifecycle().Load("chat").ok());
  const int64_t size = probe->Describe("chat")->info.memory_bytes;
  probe.reset();

  PoolOptions pool;
  pool.memory_budget_bytes = size + size / 2;  // one engine: never both
  auto runtime = BuildReloadRuntime(MakeLlama(), {ChatSpec()}, {}, pool);
  ASSERT_TRUE(runtime);
  ASSERT_TRUE(runtime->lifecycle().Load("chat").ok());
  ModelSpec spec = ChatSpec();
  spec.load_timeout = 300ms;  // how long the reload may wait for room
  auto record = runtime->lifecycle().Reload("chat", spec);
  EXPECT_EQ(record.error().code(), StatusCode::kUnavailable) << record.error().ToString();
  auto r = runtime->Generator("chat")->Generate(ShortRequest(4));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->generation, 1u);
  EXPECT_EQ(StateOf(*runtime, "chat"), ModelState::kLoaded);
}

TEST(ReloadTest, BadRequestsAreRefused) {
  auto runtime = BuildReloadRuntime(MakeLlama(), {ChatSpec()});
  ASSERT_TRUE(runtime);
  EXPECT_EQ(runtime->lifecycle().Reload("nope").error().code(), StatusCode::kNotFound);
  EXPECT_TRUE(runtime->lifecycle().ReloadLog().empty()) << "nothing was attempted";
  ModelSpec embed = EmbedderSpec("chat");
  EXPECT_EQ(runtime->lifecycle().Reload("chat", embed).error().code(),
            StatusCode::kInvalidArgument);
  ModelSpec renamed = ChatSpec("other");
  EXPECT_EQ(runtime->lifecycle().Reload("chat", renamed).error().code(),
            StatusCode::kInvalidArgument);
  ModelSpec bad_option = ChatSpec();
  bad_option.options = MakeOptions({{"no_such_option", 1}});
  EXPECT_EQ(runtime->lifecycle().Reload("chat", bad_option).error().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(runtime->lifecycle().ReloadLog().size(), 3u);
  EXPECT_EQ(StateOf(*runtime, "chat"), ModelState::kUnloaded);
}

TEST(ReloadTest, ReloadingAnUnloadedAliasLoadsIt) {
  auto runtime = BuildReloadRuntime(MakeLlama(), {EmbedderSpec()});
  ASSERT_TRUE(runtime);
  auto record = runtime->lifecycle().Reload("embed");
  ASSERT_TRUE(record.ok()) << record.error().ToString();
  EXPECT_EQ(record->old_generation, 0u);
  EXPECT_EQ(record->new_generation, 1u);
  EXPECT_EQ(StateOf(*runtime, "embed"), ModelState::kLoaded);
  EXPECT_EQ(EmbedOne(*runtime, "embed")->generation, 1u);
}

TEST(ReloadTest, HistoryKeepsTheNewestN) {
  EXPECT_EQ(ReloadOptions{}.history_size, 32u);  // the default; a small bound keeps this quick
  ReloadOptions options;
  options.history_size = 4;
  auto runtime = BuildReloadRuntime(MakeLlama(), {EmbedderSpec()}, options);
  ASSERT_TRUE(runtime);
  ASSERT_TRUE(runtime->lifecycle().Load("embed").ok());
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(runtime->lifecycle().Reload("embed").ok()) << i;
  auto history = runtime->lifecycle().VersionHistory("embed");
  ASSERT_EQ(history.size(), 4u);
  for (size_t i = 0; i < history.size(); ++i) EXPECT_EQ(history[i].generation, 4 + i);
  EXPECT_EQ(runtime->Describe("embed")->generation, 7u);
  EXPECT_EQ(runtime->lifecycle().ReloadLog().size(), 6u);
  EXPECT_EQ(runtime->lifecycle().VersionHistory().size(), 4u);
  EXPECT_EQ(runtime->PoolStatus().engines_live, 1);
  EXPECT_EQ(runtime->PoolStatus().engines_draining, 0);
}

TEST(ReloadTest, ReloadLogIsBounded) {
  ReloadOptions options;
  options.log_size = 4;
  options.history_size = 3;
  auto runtime = BuildReloadRuntime(MakeLlama(), {EmbedderSpec()}, options);
  ASSERT_TRUE(runtime);
  ModelSpec bad = EmbedderSpec();
  bad.model = testing::TestTempDir() + "/missing.gguf";
  for (int i = 0; i < 8; ++i) {
    (void)runtime->lifecycle().Reload("embed",
                                      i % 2 == 0 ? std::nullopt : std::optional<ModelSpec>(bad));
  }
  auto log = runtime->lifecycle().ReloadLog();
  ASSERT_EQ(log.size(), 4u);
  for (size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i].id, 5 + i);
    EXPECT_EQ(log[i].ok, i % 2 == 0);
    EXPECT_GE(log[i].duration.count(), 0);
  }
  EXPECT_EQ(runtime->lifecycle().VersionHistory("embed").size(), 3u);
}

TEST(ReloadTest, ConcurrentReloadsOfOneAliasRunOneAtATime) {
  auto runtime = BuildReloadRuntime(MakeLlama(), {EmbedderSpec()});
  ASSERT_TRUE(runtime);
  ASSERT_TRUE(runtime->lifecycle().Load("embed").ok());
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 3; ++i) {
        if (!runtime->lifecycle().Reload("embed").ok()) failed.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(runtime->Describe("embed")->generation, 13u);
  uint64_t last = 0;
  for (const ReloadRecord& r : runtime->lifecycle().ReloadLog()) {
    EXPECT_EQ(r.old_generation, last == 0 ? 1 : last) << "serialized: each starts from the last";
    last = r.new_generation;
  }
}

TEST(RemoveTest, UnregistersAtOnceAndFreesTheEngineAfterItsLastCall) {
  auto provider = MakeFaultyLlama();
  auto runtime = BuildReloadRuntime(provider, {ChatSpec(), EmbedderSpec()});
  ASSERT_TRUE(runtime);
  HeldGeneration held(*runtime->Generator("chat"));
  ASSERT_TRUE(held.Started());

  ASSERT_TRUE(runtime->lifecycle().Remove("chat").ok());
  EXPECT_FALSE(runtime->Contains("chat"));
  EXPECT_EQ(runtime->Generator("chat").error().code(), StatusCode::kNotFound);
  EXPECT_EQ(runtime->lifecycle().Remove("chat").code(), StatusCode::kNotFound);
  EXPECT_FALSE(provider->loaded_models()[0].expired());
  ASSERT_TRUE(held.Finish().ok()) << "the call in flight finished normally";
  EXPECT_TRUE(provider->loaded_models()[0].expired());
  EXPECT_EQ(runtime->PoolStatus().bytes_in_use, 0);
  EXPECT_TRUE(runtime->Contains("embed"));

  // Registered again: generations continue, so clients never see them go back.
  ASSERT_TRUE(runtime->lifecycle().Register(ChatSpec()).ok());
  auto r = runtime->Generator("chat")->Generate(ShortRequest(4));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->generation, 2u);
}

TEST(RemoveTest, ALoadInFlightForARemovedAliasDoesNotInstall) {
  auto provider = MakeFaultyLlama();
  provider->SetLoadDelay(300ms);
  auto runtime = BuildReloadRuntime(provider, {ChatSpec()});
  ASSERT_TRUE(runtime);
  Status loaded;
  std::thread loader([&] { loaded = runtime->lifecycle().Load("chat"); });
  ASSERT_TRUE(WaitFor([&] { return provider->load_calls() == 1; }));
  ASSERT_TRUE(runtime->lifecycle().Remove("chat").ok());
  loader.join();
  EXPECT_FALSE(loaded.ok());
  EXPECT_EQ(runtime->PoolStatus().engines_live, 0);
  EXPECT_EQ(runtime->LoadsInFlight(), 0u);
  ASSERT_EQ(provider->loaded_models().size(), 1u);
  EXPECT_TRUE(provider->loaded_models()[0].expired());
}

}  // namespace
}  // namespace modelrt::reload_test
