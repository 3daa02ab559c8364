// The registry's journal file; see registry_journal.h.
#include "registry/registry_journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/json.h"
#include "core/logging.h"

namespace modelrt::registry {
namespace {

Status ErrnoError(const std::string& what, const std::string& path) {
  return InternalError(what + " " + path + ": " + std::strerror(errno));
}

std::string ParentDir(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

// A new or renamed file is only durable once its directory entry is.
Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open directory", dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return ErrnoError("cannot sync directory", dir);
  return OkStatus();
}

Status WriteAll(int fd, const std::string& data, off_t offset, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done, offset + done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoError("cannot write", path);
    done += static_cast<size_t>(n);
  }
  return OkStatus();
}

Status ReadAll(int fd, const std::string& path, std::string* out) {
  char buffer[1 << 16];
  off_t offset = 0;
  while (true) {
    ssize_t n = ::pread(fd, buffer, sizeof(buffer), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("cannot read", path);
    if (n == 0) return OkStatus();
    out->append(buffer, static_cast<size_t>(n));
    offset += n;
  }
}

// Opens and locks `path`. Unavailable when another open file description holds the lock.
Result<int> OpenLocked(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("cannot open", path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int error = errno;
    ::close(fd);
    if (error == EWOULDBLOCK) {
      return UnavailableError("registry journal " + path + " is in use by another registry");
    }
    errno = error;
    return ErrnoError("cannot lock", path);
  }
  return fd;
}

// Splits `text` into complete lines and parses them; returns the length of the complete part.
size_t ParseLines(const std::string& text, const std::string& path,
                  std::vector<RegistryJournal::Entry>* entries) {
  size_t start = 0, line = 0;
  while (true) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) break;
    ++line;
    std::string_view content(text.data() + start, end - start);
    start = end + 1;
    if (content.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    Json json = Json::parse(content, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded() || !json.is_object()) {
      Log("registry")->warn("{}:{}: not a JSON object; line skipped", path, line);
      continue;
    }
    entries->push_back({line, std::move(json)});
  }
  return start;
}

}  // namespace

Result<std::unique_ptr<RegistryJournal>> RegistryJournal::Open(const std::string& path,
                                                               std::vector<Entry>* entries) {
  std::error_code error;
  std::filesystem::create_directories(ParentDir(path), error);
  if (error) {
    return InternalError("cannot create the folder of " + path + ": " + error.message());
  }
  bool existed = std::filesystem::exists(path, error);
  MODELRT_ASSIGN_OR_RETURN(int fd, OpenLocked(path, O_RDWR | O_CREAT));
  std::unique_ptr<RegistryJournal> journal(new RegistryJournal(path, fd, 0));
  if (!existed) MODELRT_RETURN_IF_ERROR(SyncDir(ParentDir(path)));

  std::string text;
  MODELRT_RETURN_IF_ERROR(ReadAll(fd, path, &text));
  entries->clear();
  size_t complete = ParseLines(text, path, entries);
  if (complete < text.size()) {
    // A crash mid-append: the change was never acknowledged, so dropping it is right, and
    // cutting it off keeps the next append from gluing itself onto the torn bytes.
    Log("registry")->warn("{}: ignoring a torn last line ({} bytes)", path, text.size() - complete);
    if (::ftruncate(fd, static_cast<off_t>(complete)) != 0 || ::fsync(fd) != 0) {
      return ErrnoError("cannot cut the torn last line of", path);
    }
  }
  journal->size_ = static_cast<off_t>(complete);
  return journal;
}

RegistryJournal::~RegistryJournal() {
  if (fd_ >= 0) ::close(fd_);  // also releases the lock
}

Status RegistryJournal::Append(const Json& entry) {
  std::string line = entry.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  Status status = WriteAll(fd_, line, size_, path_);
  if (status.ok() && ::fsync(fd_) != 0) status = ErrnoError("cannot sync", path_);
  if (!status.ok()) {
    // Cut back whatever part reached the file so it cannot be replayed or glued to.
    if (::ftruncate(fd_, size_) != 0) {
      Log("registry")->error("{}: cannot cut back a failed append: {}", path_,
                             std::strerror(errno));
    }
    return status;
  }
  size_ += static_cast<off_t>(line.size());
  return OkStatus();
}

Status RegistryJournal::Rewrite(const std::vector<Json>& entries) {
  std::string text;
  for (const Json& entry : entries) {
    text += entry.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  }
  const std::string temp = path_ + ".tmp";
  // Locked before it takes the journal's name, so no other registry can open it in between.
  MODELRT_ASSIGN_OR_RETURN(int fd, OpenLocked(temp, O_RDWR | O_CREAT | O_TRUNC));
  Status status = WriteAll(fd, text, 0, temp);
  if (status.ok() && ::fsync(fd) != 0) status = ErrnoError("cannot sync", temp);
  if (status.ok() && ::rename(temp.c_str(), path_.c_str()) != 0) {
    status = ErrnoError("cannot rename " + temp + " to", path_);
  }
  if (!status.ok()) {
    ::close(fd);
    ::unlink(temp.c_str());
    return status;
  }
  ::close(fd_);
  fd_ = fd;
  size_ = static_cast<off_t>(text.size());
  return SyncDir(ParentDir(path_));
}

}  // namespace modelrt::registry
