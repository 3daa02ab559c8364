#include "jobs/sqlite_job_store.h"

#include <sqlite3.h>

#include <filesystem>

namespace modelrt::jobs {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  state TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  finished_ms INTEGER NOT NULL,
  doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS jobs_by_created ON jobs(created_ms);
CREATE TABLE IF NOT EXISTS job_events (
  job_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  doc TEXT NOT NULL,
  PRIMARY KEY (job_id, seq));
)sql";

// A prepared statement, finalized on scope exit.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK) stmt_ = nullptr;
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  bool ok() const { return stmt_ != nullptr; }
  void Bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void Bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  int Step() { return sqlite3_step(stmt_); }
  std::string Text(int col) const {
    const unsigned char* text = sqlite3_column_text(stmt_, col);
    return text == nullptr ? std::string()
                           : std::string(reinterpret_cast<const char*>(text),
                                         static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

Status DbError(sqlite3* db, const std::string& what) {
  return UnavailableError("jobs store: " + what + ": " + sqlite3_errmsg(db));
}

}  // namespace

Result<std::unique_ptr<SqliteJobStore>> SqliteJobStore::Open(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return UnavailableError("jobs store: cannot open " + path + ": " + message);
  }
  std::unique_ptr<SqliteJobStore> store(new SqliteJobStore(db));
  MutexLock lock(store->mu_);
  sqlite3_busy_timeout(db, 5000);
  // WAL: readers (the admin API) never wait for the runner's writes. NORMAL sync: a power cut
  // may lose the last commits, never corrupt the file; downloads and batches re-check what is
  // on disk when they resume.
  MODELRT_RETURN_IF_ERROR(store->Exec("PRAGMA journal_mode=WAL"));
  MODELRT_RETURN_IF_ERROR(store->Exec("PRAGMA synchronous=NORMAL"));
  MODELRT_RETURN_IF_ERROR(store->Exec(kSchema));
  return store;
}

SqliteJobStore::~SqliteJobStore() { sqlite3_close(db_); }

Status SqliteJobStore::Exec(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error != nullptr ? error : "unknown error";
    sqlite3_free(error);
    return UnavailableError(std::string("jobs store: ") + message);
  }
  return OkStatus();
}

Status SqliteJobStore::Save(const JobRecord& job) {
  MutexLock lock(mu_);
  Statement st(db_,
               "INSERT OR REPLACE INTO jobs (id, kind, state, created_ms, finished_ms, doc) "
               "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!st.ok()) return DbError(db_, "prepare");
  st.Bind(1, job.id);
  st.Bind(2, job.kind);
  st.Bind(3, std::string(ToString(job.state)));
  st.Bind(4, job.created_ms);
  st.Bind(5, job.finished_ms);
  st.Bind(6, ToJson(job).dump());
  if (st.Step() != SQLITE_DONE) return DbError(db_, "save job " + job.id);
  return OkStatus();
}

Status SqliteJobStore::AppendEvent(const std::string& job_id, const JobEvent& event) {
  MutexLock lock(mu_);
  Statement st(db_, "INSERT OR REPLACE INTO job_events (job_id, seq, doc) VALUES (?1, ?2, ?3)");
  if (!st.ok()) return DbError(db_, "prepare");
  st.Bind(1, job_id);
  st.Bind(2, event.seq);
  st.Bind(3, ToJson(event).dump());
  if (st.Step() != SQLITE_DONE) return DbError(db_, "append event");
  return OkStatus();
}

Result<std::vector<JobRecord>> SqliteJobStore::Query(const std::string& sql,
                                                     const std::vector<std::string>& binds) const {
  MutexLock lock(mu_);
  Statement st(db_, sql);
  if (!st.ok()) return DbError(db_, "prepare");
  for (size_t i = 0; i < binds.size(); ++i) st.Bind(static_cast<int>(i + 1), binds[i]);
  std::vector<JobRecord> jobs;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    jobs.push_back(RecordFromJson(ParseStoredJson(st.Text(0))));
  }
  if (rc != SQLITE_DONE) return DbError(db_, "query");
  return jobs;
}

Result<std::optional<JobRecord>> SqliteJobStore::Load(const std::string& id) const {
  MODELRT_ASSIGN_OR_RETURN(std::vector<JobRecord> jobs,
                           Query("SELECT doc FROM jobs WHERE id = ?1", {id}));
  if (jobs.empty()) return std::optional<JobRecord>();
  return std::optional<JobRecord>(std::move(jobs.front()));
}

Result<std::vector<JobRecord>> SqliteJobStore::List(const JobFilter& filter) const {
  std::string sql = "SELECT doc FROM jobs WHERE (?1 = '' OR kind = ?1) AND (?2 = '' OR state = ?2)"
                    " ORDER BY created_ms DESC, id DESC LIMIT " +
                    std::to_string(std::max(0, filter.limit));
  return Query(sql, {filter.kind, filter.state ? std::string(ToString(*filter.state)) : ""});
}

Result<std::vector<JobRecord>> SqliteJobStore::Unfinished() const {
  return Query(
      "SELECT doc FROM jobs WHERE state IN ('queued', 'running') ORDER BY created_ms, id", {});
}

Result<std::vector<JobEvent>> SqliteJobStore::Events(const std::string& job_id, int64_t after_seq,
                                                     int limit) const {
  MutexLock lock(mu_);
  Statement st(db_,
               "SELECT doc FROM job_events WHERE job_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3");
  if (!st.ok()) return DbError(db_, "prepare");
  st.Bind(1, job_id);
  st.Bind(2, after_seq);
  st.Bind(3, static_cast<int64_t>(limit));
  std::vector<JobEvent> events;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    events.push_back(EventFromJson(ParseStoredJson(st.Text(0))));
  }
  if (rc != SQLITE_DONE) return DbError(db_, "events");
  return events;
}

Result<int64_t> SqliteJobStore::LastEventSeq(const std::string& job_id) const {
  MutexLock lock(mu_);
  Statement st(db_, "SELECT COALESCE(MAX(seq), 0) FROM job_events WHERE job_id = ?1");
  if (!st.ok()) return DbError(db_, "prepare");
  st.Bind(1, job_id);
  if (st.Step() != SQLITE_ROW) return DbError(db_, "last event");
  return st.Int(0);
}

Result<std::vector<std::string>> SqliteJobStore::Prune(int64_t keep_count,
                                                       int64_t finished_before_ms) {
  MutexLock lock(mu_);
  // Finished, newest first: past keep_count, or ended before the cutoff.
  Statement st(db_,
               "SELECT id, finished_ms FROM jobs WHERE state IN ('succeeded', 'failed', "
               "'cancelled') ORDER BY finished_ms DESC, id DESC");
  if (!st.ok()) return DbError(db_, "prepare");
  std::vector<std::string> drop;
  int64_t seen = 0;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    ++seen;
    if (seen > keep_count || st.Int(1) < finished_before_ms) drop.push_back(st.Text(0));
  }
  if (rc != SQLITE_DONE) return DbError(db_, "prune");
  if (drop.empty()) return drop;
  MODELRT_RETURN_IF_ERROR(Exec("BEGIN"));
  for (const std::string& id : drop) {
    for (const char* sql :
         {"DELETE FROM job_events WHERE job_id = ?1", "DELETE FROM jobs WHERE id = ?1"}) {
      Statement del(db_, sql);
      if (!del.ok()) break;
      del.Bind(1, id);
      del.Step();
    }
  }
  MODELRT_RETURN_IF_ERROR(Exec("COMMIT"));
  return drop;
}

}  // namespace modelrt::jobs
