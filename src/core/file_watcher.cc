#include "core/file_watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/logging.h"

namespace modelrt::internal {
namespace {

constexpr uint32_t kMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE;

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

}  // namespace

std::string FileWatcher::Normalize(const std::string& path) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(path, ec);
  if (ec) p = path;
  return p.lexically_normal().string();
}

Result<std::unique_ptr<FileWatcher>> FileWatcher::Create(Options options) {
  if (!options.on_change) return InvalidArgumentError("FileWatcher: on_change is required");
  const int inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd < 0) return InternalError(Errno("inotify_init1"));
  const int wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd < 0) {
    Status s = InternalError(Errno("eventfd"));
    close(inotify_fd);
    return s;
  }
  return std::unique_ptr<FileWatcher>(new FileWatcher(std::move(options), inotify_fd, wake_fd));
}

FileWatcher::FileWatcher(Options options, int inotify_fd, int wake_fd)
    : options_(std::move(options)), inotify_fd_(inotify_fd), wake_fd_(wake_fd) {
  thread_ = std::thread([this] { Loop(); });
}

FileWatcher::~FileWatcher() {
  Stop();
  close(inotify_fd_);
  close(wake_fd_);
}

void FileWatcher::Stop() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

Status FileWatcher::SetFiles(const std::vector<std::string>& paths) {
  std::set<std::string> files;
  std::set<std::string> dirs;
  for (const std::string& path : paths) {
    std::string file = Normalize(path);
    dirs.insert(std::filesystem::path(file).parent_path().string());
    files.insert(std::move(file));
  }
  Status status;
  MutexLock lock(mu_);
  for (auto it = dir_watches_.begin(); it != dir_watches_.end();) {
    if (dirs.count(it->first) > 0) {
      ++it;
      continue;
    }
    inotify_rm_watch(inotify_fd_, it->second);
    watch_dirs_.erase(it->second);
    it = dir_watches_.erase(it);
  }
  for (const std::string& dir : dirs) {
    if (dir_watches_.count(dir) > 0) continue;
    const int wd = inotify_add_watch(inotify_fd_, dir.c_str(), kMask);
    if (wd < 0) {
      if (status.ok()) status = UnavailableError(Errno("cannot watch directory '" + dir + "'"));
      continue;
    }
    dir_watches_[dir] = wd;
    watch_dirs_[wd] = dir;
  }
  files_ = std::move(files);
  for (auto it = pending_.begin(); it != pending_.end();) {
    it = files_.count(it->first) > 0 ? std::next(it) : pending_.erase(it);
  }
  return status;
}

std::set<std::string> FileWatcher::files() const {
  MutexLock lock(mu_);
  return files_;
}

void FileWatcher::ReadEvents() {
  alignas(struct inotify_event) char buf[16 * 1024];
  while (true) {
    const ssize_t n = read(inotify_fd_, buf, sizeof buf);
    if (n <= 0) return;  // EAGAIN: drained
    const auto fire_at = Clock::now() + options_.debounce;
    MutexLock lock(mu_);
    for (ssize_t off = 0; off < n;) {
      const auto* event = reinterpret_cast<const struct inotify_event*>(buf + off);
      off += static_cast<ssize_t>(sizeof(struct inotify_event) + event->len);
      if (event->mask & IN_Q_OVERFLOW) {
        // Events were lost: treat every watched file as changed rather than miss one.
        for (const std::string& file : files_) pending_[file] = fire_at;
        continue;
      }
      auto dir = watch_dirs_.find(event->wd);
      if (dir == watch_dirs_.end() || event->len == 0) continue;
      const std::string file = (std::filesystem::path(dir->second) / event->name).string();
      if (files_.count(file) > 0) pending_[file] = fire_at;  // each event restarts the quiet time
    }
  }
}

void FileWatcher::Loop() {
  while (true) {
    int timeout_ms = -1;
    std::vector<std::string> due;
    {
      MutexLock lock(mu_);
      if (stopping_) return;
      const auto now = Clock::now();
      for (auto it = pending_.begin(); it != pending_.end();) {
        if (it->second <= now) {
          due.push_back(it->first);
          it = pending_.erase(it);
        } else {
          const auto wait = std::chrono::ceil<std::chrono::milliseconds>(it->second - now).count();
          timeout_ms = timeout_ms < 0 ? static_cast<int>(wait)
                                      : std::min(timeout_ms, static_cast<int>(wait));
          ++it;
        }
      }
    }
    for (const std::string& file : due) {
      Log("reload")->info("model file changed: {}", file);
      options_.on_change(file);  // no watcher lock held
    }
    if (!due.empty()) continue;  // a callback takes time: look at the clock again
    struct pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    const int ready = poll(fds, 2, timeout_ms);
    if (ready < 0 && errno != EINTR) {
      Log("reload")->error("file watcher stops: {}", Errno("poll"));
      return;
    }
    if (ready > 0 && (fds[0].revents & POLLIN)) ReadEvents();
  }
}

}  // namespace modelrt::internal
