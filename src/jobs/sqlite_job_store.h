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
#include "jobs/job_store.h"
#include "modelrt/status.h"

struct sqlite3;

namespace modelrt::jobs {

class SqliteJobStore : public JobStore {
 public:
  // Creates the file and its tables when absent. Errors: Unavailable when it cannot be opened.
  static Result<std::unique_ptr<SqliteJobStore>> Open(const std::string& path);
  ~SqliteJobStore();
  SqliteJobStore(const SqliteJobStore&) = delete;
  SqliteJobStore& operator=(const SqliteJobStore&) = delete;

  // The JobStore calls (see job_store.h); not shared, so no claims.
  Status Save(const JobRecord& job) override;
  Status AppendEvent(const std::string& job_id, const JobEvent& event) override;
  Result<std::optional<JobRecord>> Load(const std::string& id) const override;
  Result<std::vector<JobRecord>> List(const JobFilter& filter) const override;
  Result<std::vector<JobRecord>> Unfinished() const override;
  Result<std::vector<JobEvent>> Events(const std::string& job_id, int64_t after_seq,
                                       int limit = 1000) const override;
  Result<int64_t> LastEventSeq(const std::string& job_id) const override;
  Result<std::vector<std::string>> Prune(int64_t keep_count, int64_t finished_before_ms) override;

 private:
  explicit SqliteJobStore(sqlite3* db) : db_(db) {}
  Status Exec(const char* sql) REQUIRES(mu_);
  Result<std::vector<JobRecord>> Query(const std::string& sql,
                                       const std::vector<std::string>& binds) const;

  mutable Mutex mu_;
  sqlite3* db_;  // guarded by mu_ (the pointer itself never changes)
};

}  // namespace modelrt::jobs
