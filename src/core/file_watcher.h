// FileWatcher: tells when watched files are replaced, using inotify directly. Each file's directory
// is watched (a file renamed over the original is a new inode, which a watch on the file itself
// would miss); writes closed (IN_CLOSE_WRITE), renames into place (IN_MOVED_TO) and creations of a
// watched name count as a change. Changes are debounced per file: the callback runs once the file
// has been quiet for `debounce`.
//
//   MODELRT_ASSIGN_OR_RETURN(auto watcher, FileWatcher::Create({
//       .debounce = 500ms, .on_change = [](const std::string& path) { Reload(path); }}));
//   MODELRT_RETURN_IF_ERROR(watcher->SetFiles({"models/chat.gguf"}));
//
// Paths are made absolute and normalized (not resolved through symlinks); the callback gets the
// normalized path.
//
// Thread-safety: thread-safe. The callback runs on the watcher's own thread, one at a time, with no
// watcher lock held (it may call SetFiles). Stop (and the destructor) joins that thread: a callback
// must not wait for anything that waits for the watcher's destruction.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/thread_annotations.h"
#include "modelrt/model.h"
#include "modelrt/status.h"

namespace modelrt::internal {

class FileWatcher {
 public:
  struct Options {
    std::chrono::milliseconds debounce{500};            // quiet time before the callback
    std::function<void(const std::string&)> on_change;  // required
  };

  // Internal (with errno text) when inotify cannot be set up.
  static Result<std::unique_ptr<FileWatcher>> Create(Options options);
  ~FileWatcher();
  FileWatcher(const FileWatcher&) = delete;
  FileWatcher& operator=(const FileWatcher&) = delete;

  // Watches exactly these files from now on. A directory that cannot be watched (missing, no
  // permission) is an error naming it; the other files are still watched.
  Status SetFiles(const std::vector<std::string>& paths);
  std::set<std::string> files() const;
  // The normalized form SetFiles and the callback use.
  static std::string Normalize(const std::string& path);
  // Stops and joins the thread. Idempotent.
  void Stop();

 private:
  FileWatcher(Options options, int inotify_fd, int wake_fd);
  void Loop();
  // Reads the inotify events available now and marks changed watched files.
  void ReadEvents();

  const Options options_;
  const int inotify_fd_;
  const int wake_fd_;  // an eventfd: Stop writes it to end poll()

  mutable Mutex mu_;
  std::set<std::string> files_ GUARDED_BY(mu_);
  std::map<std::string, int> dir_watches_ GUARDED_BY(mu_);  // directory → watch descriptor
  std::map<int, std::string> watch_dirs_ GUARDED_BY(mu_);
  std::map<std::string, Clock::time_point> pending_ GUARDED_BY(mu_);  // file → fire time
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace modelrt::internal
