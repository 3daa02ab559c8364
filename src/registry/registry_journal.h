// The registry's journal: an append-only file of JSON lines, one per run-time change, each
// fsync'd before the change is published. A line counts once its newline is on disk, so a crash
// mid-append leaves at most a torn last line; Open drops it (and cuts it off, so the next append
// starts on a clean line). A failed append is cut back the same way. The file is locked
// (flock) while open: two processes sharing one data directory would interleave their changes.
//
//   std::vector<RegistryJournal::Entry> entries;
//   MODELRT_ASSIGN_OR_RETURN(auto journal, RegistryJournal::Open(path, &entries));
//   MODELRT_RETURN_IF_ERROR(journal->Append({{"op", "remove_binding"}, {"key", "chat"}}));
//
// Thread-safety: not thread-safe; the Registry calls it under its writers' lock.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "core/json.h"
#include "registry/journal.h"
#include "modelrt/catalog.h"
#include "modelrt/status.h"

namespace modelrt::registry {

class RegistryJournal : public Journal {
 public:
  using Entry = JournalEntry;

  // Opens `path`, creating it (and its parent folders) when missing, and returns its complete
  // lines in `entries`. Lines that are not JSON objects are skipped with a warning.
  // Unavailable: another process holds the journal.
  static Result<std::unique_ptr<RegistryJournal>> Open(const std::string& path,
                                                        std::vector<Entry>* entries);
  ~RegistryJournal() override;
  RegistryJournal(const RegistryJournal&) = delete;
  RegistryJournal& operator=(const RegistryJournal&) = delete;

  // Appends `entry` as one line and fsyncs. On error the file is as it was.
  Status Append(const Json& entry) override;

  // Replaces the whole journal with `entries`, atomically (temp file, fsync, rename).
  Status Rewrite(const std::vector<Json>& entries) override;

  const std::string& name() const override { return path_; }
  const std::string& path() const { return path_; }
  // Bytes of complete lines in the file.
  off_t size() const { return size_; }

 private:
  RegistryJournal(std::string path, int fd, off_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}

  std::string path_;
  int fd_ = -1;
  off_t size_ = 0;
};

}  // namespace modelrt::registry
