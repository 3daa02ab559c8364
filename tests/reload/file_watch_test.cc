// FileWatcher on real files (inotify), and a runtime that reloads an alias when its model file is
// replaced by a rename (real llama engines).
#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>

#include "core/file_watcher.h"
#include "modelrt/lifecycle.h"
#include "reload_test_util.h"

namespace modelrt::reload_test {
namespace {

namespace fs = std::filesystem;
using internal::FileWatcher;

// A fresh directory per test under the process's temporary directory.
std::string FreshDir(const std::string& name) {
  const std::string dir = testing::TestTempDir() + "/" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

class Changes {
 public:
  std::function<void(const std::string&)> Callback() {
    return [this](const std::string& path) {
      std::lock_guard<std::mutex> lock(mu_);
      paths_.push_back(path);
    };
  }
  std::vector<std::string> paths() {
    std::lock_guard<std::mutex> lock(mu_);
    return paths_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> paths_;
};

TEST(FileWatcherTest, ARenameOverAWatchedFileIsAChange) {
  const std::string dir = FreshDir("watch-rename");
  const std::string file = dir + "/model.gguf";
  WriteFile(file, "v1");
  Changes changes;
  auto watcher = FileWatcher::Create({.debounce = 50ms, .on_change = changes.Callback()});
  ASSERT_TRUE(watcher.ok()) << watcher.error().ToString();
  ASSERT_TRUE((*watcher)->SetFiles({file}).ok());

  WriteFile(dir + "/other.gguf", "not watched");
  WriteFile(dir + "/model.gguf.tmp", "v2");
  fs::rename(dir + "/model.gguf.tmp", file);
  ASSERT_TRUE(WaitFor([&] { return !changes.paths().empty(); }));
  // Give a stray event for other.gguf time to show up (it must not).
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(changes.paths(), std::vector<std::string>{FileWatcher::Normalize(file)});
}

TEST(FileWatcherTest, BurstsOfWritesAreDebounced) {
  const std::string dir = FreshDir("watch-burst");
  const std::string file = dir + "/model.gguf";
  WriteFile(file, "v1");
  Changes changes;
  auto watcher = FileWatcher::Create({.debounce = 300ms, .on_change = changes.Callback()});
  ASSERT_TRUE(watcher.ok());
  ASSERT_TRUE((*watcher)->SetFiles({file}).ok());
  constexpr int kWrites = 10;
  for (int i = 0; i < kWrites; ++i) WriteFile(file, "v" + std::to_string(i));
  ASSERT_TRUE(WaitFor([&] { return !changes.paths().empty(); }));
  std::this_thread::sleep_for(500ms);
  EXPECT_LT(changes.paths().size(), static_cast<size_t>(kWrites)) << "one quiet period, one call";
}

TEST(FileWatcherTest, UnwatchedFilesStopCounting) {
  const std::string dir = FreshDir("watch-unwatch");
  const std::string a = dir + "/a.gguf", b = dir + "/b.gguf";
  WriteFile(a, "a");
  WriteFile(b, "b");
  Changes changes;
  auto watcher = FileWatcher::Create({.debounce = 20ms, .on_change = changes.Callback()});
  ASSERT_TRUE(watcher.ok());
  ASSERT_TRUE((*watcher)->SetFiles({a, b}).ok());
  ASSERT_TRUE((*watcher)->SetFiles({b}).ok());
  EXPECT_EQ((*watcher)->files(), std::set<std::string>{FileWatcher::Normalize(b)});
  WriteFile(a, "a2");
  WriteFile(b, "b2");
  ASSERT_TRUE(WaitFor([&] { return !changes.paths().empty(); }));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(changes.paths(), std::vector<std::string>{FileWatcher::Normalize(b)});
  EXPECT_FALSE((*watcher)->SetFiles({dir + "/no-such-dir/x.gguf"}).ok());
}

TEST(FileWatchReloadTest, ReplacingTheModelFileReloadsTheAlias) {
  const std::string dir = FreshDir("watch-runtime");
  const std::string file = dir + "/chat.gguf";
  fs::copy_file(ChatSpec().model, file);
  ModelSpec spec = ChatSpec();
  spec.model = file;
  ReloadOptions options;
  options.watch_model_files = true;
  options.watch_debounce = 100ms;
  auto runtime = BuildReloadRuntime(MakeLlama(), {spec}, options);
  ASSERT_TRUE(runtime);
  ASSERT_TRUE(runtime->lifecycle().WatchingModelFiles());
  ASSERT_TRUE(runtime->lifecycle().Load("chat").ok());
  const std::string old_description = runtime->Describe("chat")->info.description;

  // A new version, written beside it and renamed over it (as a deploy would).
  ASSERT_TRUE(llama::WriteTestModel({.kind = llama::TestModelKind::kLlama,
                                     .path = dir + "/chat.gguf.new",
                                     .embd = 32,
                                     .layers = 1,
                                     .heads = 2,
                                     .ff = 64})
                  .ok());
  fs::rename(dir + "/chat.gguf.new", file);

  ASSERT_TRUE(WaitFor([&] { return runtime->lifecycle().ReloadLog().size() == 1; }, 30s));
  ReloadRecord record = runtime->lifecycle().ReloadLog()[0];
  EXPECT_TRUE(record.ok) << record.error;
  EXPECT_EQ(record.trigger, ReloadTrigger::kFileChange);
  EXPECT_EQ(record.new_generation, 2u);
  auto status = runtime->Describe("chat");
  EXPECT_EQ(status->generation, 2u);
  EXPECT_NE(status->info.description, old_description) << "the new file's engine";
  auto r = runtime->Generator("chat")->Generate(ShortRequest(4));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->generation, 2u);
  EXPECT_EQ(CounterValue(*runtime, "modelrt_reloads_total",
                         {{"alias", "chat"}, {"trigger", "file_change"}, {"outcome", "success"}}),
            1);
}

TEST(FileWatchReloadTest, OffByDefault) {
  auto runtime = BuildReloadRuntime(MakeLlama(), {ChatSpec()});
  ASSERT_TRUE(runtime);
  EXPECT_FALSE(runtime->lifecycle().WatchingModelFiles());
}

}  // namespace
}  // namespace modelrt::reload_test
