#include "registry/pg_registry_journal.h"

namespace modelrt::registry {

namespace {

// The table's creation (replicas may start together) and every write: one writer at a time.
constexpr const char* kSchemaLock = "7316002";
constexpr const char* kAppendLock = "7316003";

}  // namespace

Result<std::unique_ptr<PgRegistryJournal>> PgRegistryJournal::Open(
    const std::string& url, std::vector<JournalEntry>* entries) {
  MODELRT_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> pg, PgConnection::Connect(url));
  MODELRT_RETURN_IF_ERROR(pg->Run(std::string("SELECT pg_advisory_lock(") + kSchemaLock + ")"));
  Status created = pg->Run(
      "CREATE TABLE IF NOT EXISTS modelrt_registry_journal (seq BIGSERIAL PRIMARY KEY,"
      " entry TEXT NOT NULL, at_ms BIGINT NOT NULL DEFAULT " + std::string(kPgNowMs) + ")");
  MODELRT_RETURN_IF_ERROR(pg->Run(std::string("SELECT pg_advisory_unlock(") + kSchemaLock + ")"));
  if (!created.ok()) return created.WithPrefix("registry journal");
  std::unique_ptr<PgRegistryJournal> journal(new PgRegistryJournal(std::move(pg)));
  MODELRT_ASSIGN_OR_RETURN(*entries, journal->Pull());
  return journal;
}

Result<std::vector<JournalEntry>> PgRegistryJournal::Pull() {
  MODELRT_ASSIGN_OR_RETURN(
      PgResult rows, pg_->Exec("SELECT seq, entry FROM modelrt_registry_journal"
                               " WHERE seq > $1::bigint ORDER BY seq",
                               {std::to_string(last_seq_)}));
  std::vector<JournalEntry> entries;
  for (int i = 0; i < rows.size(); ++i) {
    last_seq_ = rows.Int(i, 0);
    Json json = Json::parse(rows.Text(i, 1), nullptr, /*allow_exceptions=*/false);
    // Unreadable rows are kept as non-objects: the replay skips them with a warning.
    entries.push_back({static_cast<size_t>(last_seq_), json.is_discarded() ? Json() : json});
  }
  return entries;
}

Result<std::vector<JournalEntry>> PgRegistryJournal::BeginWrite() {
  EndWrite();
  MODELRT_RETURN_IF_ERROR(pg_->Run("BEGIN"));
  writing_ = true;
  // Held to the commit (or rollback): the next writer's BeginWrite sees this one's entry.
  Status locked = pg_->Run(std::string("SELECT pg_advisory_xact_lock(") + kAppendLock + ")");
  if (!locked.ok()) {
    EndWrite();
    return locked;
  }
  Result<std::vector<JournalEntry>> theirs = Pull();
  if (!theirs.ok()) EndWrite();
  return theirs;
}

void PgRegistryJournal::EndWrite() {
  if (!writing_) return;
  writing_ = false;
  (void)pg_->Run("ROLLBACK");
}

Status PgRegistryJournal::Append(const Json& entry) {
  if (!writing_) return FailedPreconditionError("registry journal: an append outside BeginWrite");
  Status status = InsertAndCommit(entry);
  EndWrite();  // after a failure: nothing of it stays
  return status;
}

Status PgRegistryJournal::InsertAndCommit(const Json& entry) {
  MODELRT_ASSIGN_OR_RETURN(
      PgResult inserted,
      pg_->Exec("INSERT INTO modelrt_registry_journal (entry) VALUES ($1) RETURNING seq",
                {entry.dump()}));
  // Delivered at commit, to every replica listening (this one too; its pull finds nothing).
  MODELRT_RETURN_IF_ERROR(pg_->Run(std::string("NOTIFY ") + kChannel));
  MODELRT_RETURN_IF_ERROR(pg_->Run("COMMIT"));
  writing_ = false;
  last_seq_ = inserted.Int(0, 0);
  return OkStatus();
}

Status PgRegistryJournal::Rewrite(const std::vector<Json>&) {
  return FailedPreconditionError("a shared registry journal is never rewritten (other replicas "
                                 "replay it)");
}

}  // namespace modelrt::registry
