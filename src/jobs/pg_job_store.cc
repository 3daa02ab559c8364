#include "jobs/pg_job_store.h"

#include <algorithm>

namespace modelrt::jobs {

namespace {

// Taken while creating the tables: replicas starting together would otherwise race on
// CREATE TABLE IF NOT EXISTS (it is not atomic against itself).
constexpr const char* kSchemaLock = "7316001";

constexpr const char* kSchema[] = {
    R"sql(CREATE TABLE IF NOT EXISTS modelrt_jobs (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  state TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  finished_ms BIGINT NOT NULL,
  owner TEXT NOT NULL DEFAULT '',
  lease_until_ms BIGINT NOT NULL DEFAULT 0,
  cancel_requested BOOLEAN NOT NULL DEFAULT false,
  doc TEXT NOT NULL))sql",
    "CREATE INDEX IF NOT EXISTS modelrt_jobs_by_state ON modelrt_jobs (state, created_ms)",
    R"sql(CREATE TABLE IF NOT EXISTS modelrt_job_events (
  job_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  doc TEXT NOT NULL,
  PRIMARY KEY (job_id, seq)))sql",
};

const std::string kNow = kPgNowMs;
constexpr const char* kFinished = "('succeeded', 'failed', 'cancelled')";

// A job's row: the document, with the cancel flag another replica may have set beside it.
JobRecord RowRecord(const PgResult& rows, int row, int doc_col, int cancel_col) {
  JobRecord record = RecordFromJson(ParseStoredJson(rows.Text(row, doc_col)));
  record.cancel_requested = record.cancel_requested || rows.Bool(row, cancel_col);
  return record;
}

}  // namespace

Result<std::unique_ptr<PgJobStore>> PgJobStore::Open(const std::string& url, std::string owner,
                                                     int64_t lease_ms) {
  MODELRT_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> pg, PgConnection::Connect(url));
  MODELRT_RETURN_IF_ERROR(pg->Run(std::string("SELECT pg_advisory_lock(") + kSchemaLock + ")"));
  Status created = OkStatus();
  for (const char* sql : kSchema) {
    created = pg->Run(sql);
    if (!created.ok()) break;
  }
  MODELRT_RETURN_IF_ERROR(pg->Run(std::string("SELECT pg_advisory_unlock(") + kSchemaLock + ")"));
  if (!created.ok()) return created.WithPrefix("jobs store");
  return std::unique_ptr<PgJobStore>(new PgJobStore(std::move(pg), std::move(owner), lease_ms));
}

Status PgJobStore::Save(const JobRecord& job) {
  // A running job is ours (and its lease runs on); any other state holds no lease.
  const std::string owner = job.state == JobState::kRunning ? owner_ : "";
  MutexLock lock(mu_);
  return pg_->Run(
      "INSERT INTO modelrt_jobs (id, kind, state, created_ms, finished_ms, owner, lease_until_ms,"
      " cancel_requested, doc) VALUES ($1, $2, $3, $4::bigint, $5::bigint, $6::text,"
      " CASE WHEN $6::text = '' THEN 0 ELSE " + kNow + " + $7::bigint END, $8::boolean, $9)"
      " ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, finished_ms = EXCLUDED.finished_ms,"
      " owner = EXCLUDED.owner, lease_until_ms = EXCLUDED.lease_until_ms,"
      " cancel_requested = modelrt_jobs.cancel_requested OR EXCLUDED.cancel_requested,"
      " doc = EXCLUDED.doc"
      " WHERE modelrt_jobs.owner IN ('', $10) AND modelrt_jobs.state NOT IN " + kFinished,
      {job.id, job.kind, std::string(ToString(job.state)), std::to_string(job.created_ms),
       std::to_string(job.finished_ms), owner, std::to_string(lease_ms_),
       job.cancel_requested ? "true" : "false", ToJson(job).dump(), owner_});
}

Status PgJobStore::AppendEvent(const std::string& job_id, const JobEvent& event) {
  MutexLock lock(mu_);
  // A runner that lost the job may still send one it numbered before it knew: the holder's wins.
  return pg_->Run(
      "INSERT INTO modelrt_job_events (job_id, seq, doc) VALUES ($1, $2::bigint, $3)"
      " ON CONFLICT DO NOTHING",
      {job_id, std::to_string(event.seq), ToJson(event).dump()});
}

Result<std::vector<JobRecord>> PgJobStore::Query(const std::string& sql,
                                                 const std::vector<std::string>& params) const {
  MutexLock lock(mu_);
  MODELRT_ASSIGN_OR_RETURN(PgResult rows, pg_->Exec(sql, params));
  std::vector<JobRecord> jobs;
  jobs.reserve(static_cast<size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) jobs.push_back(RowRecord(rows, i, 0, 1));
  return jobs;
}

Result<std::optional<JobRecord>> PgJobStore::Load(const std::string& id) const {
  MODELRT_ASSIGN_OR_RETURN(std::vector<JobRecord> jobs,
                           Query("SELECT doc, cancel_requested FROM modelrt_jobs WHERE id = $1",
                                 {id}));
  if (jobs.empty()) return std::optional<JobRecord>();
  return std::optional<JobRecord>(std::move(jobs.front()));
}

Result<std::vector<JobRecord>> PgJobStore::List(const JobFilter& filter) const {
  return Query(
      "SELECT doc, cancel_requested FROM modelrt_jobs WHERE ($1 = '' OR kind = $1)"
      " AND ($2 = '' OR state = $2) ORDER BY created_ms DESC, id DESC LIMIT " +
          std::to_string(std::max(0, filter.limit)),
      {filter.kind, filter.state ? std::string(ToString(*filter.state)) : ""});
}

Result<std::vector<JobRecord>> PgJobStore::Unfinished() const {
  return Query(
      "SELECT doc, cancel_requested FROM modelrt_jobs WHERE state IN ('queued', 'running')"
      " ORDER BY created_ms, id",
      {});
}

Result<std::vector<JobEvent>> PgJobStore::Events(const std::string& job_id, int64_t after_seq,
                                                 int limit) const {
  MutexLock lock(mu_);
  MODELRT_ASSIGN_OR_RETURN(
      PgResult rows,
      pg_->Exec("SELECT doc FROM modelrt_job_events WHERE job_id = $1 AND seq > $2::bigint"
                " ORDER BY seq LIMIT $3::bigint",
                {job_id, std::to_string(after_seq), std::to_string(limit)}));
  std::vector<JobEvent> events;
  for (int i = 0; i < rows.size(); ++i) {
    events.push_back(EventFromJson(ParseStoredJson(rows.Text(i, 0))));
  }
  return events;
}

Result<int64_t> PgJobStore::LastEventSeq(const std::string& job_id) const {
  MutexLock lock(mu_);
  return LastEventSeqLocked(job_id);
}

Result<int64_t> PgJobStore::LastEventSeqLocked(const std::string& job_id) const {
  MODELRT_ASSIGN_OR_RETURN(
      PgResult rows,
      pg_->Exec("SELECT COALESCE(MAX(seq), 0) FROM modelrt_job_events WHERE job_id = $1",
                {job_id}));
  return rows.size() == 0 ? int64_t{0} : rows.Int(0, 0);
}

Result<std::vector<std::string>> PgJobStore::Prune(int64_t keep_count,
                                                   int64_t finished_before_ms) {
  MutexLock lock(mu_);
  MODELRT_ASSIGN_OR_RETURN(
      PgResult rows,
      pg_->Exec(std::string("WITH finished AS (SELECT id, finished_ms, row_number() OVER"
                            " (ORDER BY finished_ms DESC, id DESC) AS n FROM modelrt_jobs"
                            " WHERE state IN ") + kFinished + "),"
                " dropped AS (DELETE FROM modelrt_jobs WHERE id IN (SELECT id FROM finished"
                " WHERE n > $1::bigint OR finished_ms < $2::bigint) RETURNING id),"
                " events AS (DELETE FROM modelrt_job_events WHERE job_id IN"
                " (SELECT id FROM dropped))"
                " SELECT id FROM dropped",
                {std::to_string(keep_count), std::to_string(finished_before_ms)}));
  std::vector<std::string> dropped;
  for (int i = 0; i < rows.size(); ++i) dropped.push_back(rows.Text(i, 0));
  return dropped;
}

Result<std::optional<JobStore::Claimed>> PgJobStore::Claim(int64_t lease_ms) {
  MutexLock lock(mu_);
  MODELRT_ASSIGN_OR_RETURN(
      PgResult rows,
      pg_->Exec("UPDATE modelrt_jobs j SET owner = $1, lease_until_ms = " + kNow +
                    " + $2::bigint FROM (SELECT id FROM modelrt_jobs"
                    " WHERE state IN ('queued', 'running') AND (owner = '' OR lease_until_ms < " +
                    kNow +
                    ") ORDER BY created_ms, id LIMIT 1 FOR UPDATE SKIP LOCKED) next"
                    " WHERE j.id = next.id RETURNING j.state, j.cancel_requested, j.doc",
                {owner_, std::to_string(lease_ms)}));
  if (rows.size() == 0) return std::optional<Claimed>();
  Claimed claimed{.record = RowRecord(rows, 0, 2, 1),
                  .taken_over = rows.Text(0, 0) == "running",
                  .cancel_requested = rows.Bool(0, 1)};
  return std::optional<Claimed>(std::move(claimed));
}

Result<JobStore::Lease> PgJobStore::Renew(const std::string& id, int64_t lease_ms) {
  MutexLock lock(mu_);
  MODELRT_ASSIGN_OR_RETURN(
      PgResult rows,
      pg_->Exec("UPDATE modelrt_jobs SET lease_until_ms = " + kNow +
                    " + $2::bigint WHERE id = $1 AND owner = $3 RETURNING cancel_requested",
                {id, std::to_string(lease_ms), owner_}));
  if (rows.size() == 0) return Lease{};
  return Lease{.held = true, .cancel_requested = rows.Bool(0, 0)};
}

Result<std::optional<JobRecord>> PgJobStore::RequestCancel(const std::string& id, int64_t now_ms) {
  MutexLock lock(mu_);
  MODELRT_RETURN_IF_ERROR(pg_->Run("BEGIN"));
  Result<std::optional<JobRecord>> result = CancelLocked(id, now_ms);
  Status ended = pg_->Run(result.ok() ? "COMMIT" : "ROLLBACK");
  if (result.ok() && !ended.ok()) return ended;
  return result;
}

Result<std::optional<JobRecord>> PgJobStore::CancelLocked(const std::string& id, int64_t now_ms) {
  MODELRT_ASSIGN_OR_RETURN(
      PgResult rows,
      pg_->Exec("SELECT state, owner = '' OR lease_until_ms < " + kNow +
                    ", doc, cancel_requested FROM modelrt_jobs WHERE id = $1 FOR UPDATE",
                {id}));
  if (rows.size() == 0) return std::optional<JobRecord>();
  JobRecord record = RowRecord(rows, 0, 2, 3);
  const std::string state = rows.Text(0, 0);
  if (IsFinished(record.state)) return std::optional<JobRecord>(std::move(record));
  record.cancel_requested = true;
  if (state != "queued" || !rows.Bool(0, 1)) {
    // Held by a runner: it sees the flag when it next renews the lease, and stops the job.
    MODELRT_RETURN_IF_ERROR(
        pg_->Run("UPDATE modelrt_jobs SET cancel_requested = true WHERE id = $1", {id}));
    return std::optional<JobRecord>(std::move(record));
  }
  record.state = JobState::kCancelled;
  record.error = "cancelled before it started";
  record.finished_ms = now_ms;
  MODELRT_RETURN_IF_ERROR(
      pg_->Run("UPDATE modelrt_jobs SET state = 'cancelled', finished_ms = $2::bigint,"
               " owner = '', cancel_requested = true, doc = $3 WHERE id = $1",
               {id, std::to_string(now_ms), ToJson(record).dump()}));
  MODELRT_ASSIGN_OR_RETURN(int64_t last, LastEventSeqLocked(id));
  JobEvent event{last + 1, now_ms, "state", {{"state", "cancelled"}}};
  MODELRT_RETURN_IF_ERROR(
      pg_->Run("INSERT INTO modelrt_job_events (job_id, seq, doc) VALUES ($1, $2::bigint, $3)",
               {id, std::to_string(event.seq), ToJson(event).dump()}));
  return std::optional<JobRecord>(std::move(record));
}

}  // namespace modelrt::jobs
