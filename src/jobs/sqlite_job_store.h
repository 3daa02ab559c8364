// SqliteJobStore: jobs, their artifacts and their events in one SQLite file (WAL), so they survive
// a restart. A job is kept as one JSON document beside the columns the queries need; events are
// rows of their own, appended.
//
//   MODELRT_ASSIGN_OR_RETURN(auto store, SqliteJobStore::Open(data_dir + "/jobs.db"));
//   MODELRT_RETURN_IF_ERROR(store->Save(job));
//   MODELRT_ASSIGN_OR_RETURN(std::vector<JobRecord> left, store->Unfinished());
//
// Thread-safety: thread-safe (one connection behind a mutex). One process per file: the server's
// data directory lock sees to that.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/thread_annotations.h"
#include "jobs/job_types.h"
#include "modelrt/status.h"

struct sqlite3;

namespace modelrt::jobs {

struct JobFilter {
  std::string kind;                // "" = any
  std::optional<JobState> state;   // none = any
  int limit = 100;                 // newest first
};

class SqliteJobStore {
 public:
  // Creates the file and its tables when absent. Errors: Unavailable when it cannot be opened.
  static Result<std::unique_ptr<SqliteJobStore>> Open(const std::string& path);
  ~SqliteJobStore();
  SqliteJobStore(const SqliteJobStore&) = delete;
  SqliteJobStore& operator=(const SqliteJobStore&) = delete;

  // Inserts or replaces the job (artifacts included).
  Status Save(const JobRecord& job);
  Status AppendEvent(const std::string& job_id, const JobEvent& event);

  Result<std::optional<JobRecord>> Load(const std::string& id) const;
  Result<std::vector<JobRecord>> List(const JobFilter& filter) const;
  // Queued and running jobs, oldest first: what a restart must resume or fail.
  Result<std::vector<JobRecord>> Unfinished() const;
  // Events with seq > after_seq, in order, at most `limit`.
  Result<std::vector<JobEvent>> Events(const std::string& job_id, int64_t after_seq,
                                       int limit = 1000) const;
  // The highest event seq of the job (0 = none).
  Result<int64_t> LastEventSeq(const std::string& job_id) const;

  // Drops finished jobs past the newest `keep_count`, and finished jobs that ended before
  // `finished_before_ms`, with their events. Returns the ids dropped.
  Result<std::vector<std::string>> Prune(int64_t keep_count, int64_t finished_before_ms);

 private:
  explicit SqliteJobStore(sqlite3* db) : db_(db) {}
  Status Exec(const char* sql) REQUIRES(mu_);
  Result<std::vector<JobRecord>> Query(const std::string& sql,
                                       const std::vector<std::string>& binds) const;

  mutable Mutex mu_;
  sqlite3* db_;  // guarded by mu_ (the pointer itself never changes)
};

}  // namespace modelrt::jobs
